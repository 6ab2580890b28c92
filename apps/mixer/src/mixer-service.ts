import type { NatsConnection, Subscription } from '@nats-io/transport-node';
import {
  continuedSeq,
  decodeEnvelope,
  decodePresence,
  mixAudioSubject,
  mixLevelsSubject,
  mixMinusSubject,
  ProtocolError,
  tryParseSubject,
  wildcards,
  type LeaseValue,
  type PresenceMessage,
} from '@vidchat/protocol';
import { createLogger, type Logger } from '@vidchat/service-kit';
import { MixClock } from './clock/mix-clock.js';
import { FRAME_MS, FRAME_US, SAMPLE_RATE } from './dsp/audio-format.js';
import type { JitterBufferOptions } from './dsp/jitter-buffer.js';
import { AudioPresence, ListenerPresence, type PresenceChange } from './presence/audio-presence.js';
import { createStats, type MixerStats } from './room/mixer-stats.js';
import { RoomMix } from './room/room-mix.js';
import type { LeaseHooks, RoomLeases } from './lease/room-leases.js';

/*
 * The mixer process: presence in, one RoomMix per room with a microphone,
 * one clock for all rooms, mixed audio, levels and one mix-minus per
 * listener out.
 *
 * Rooms and sources follow presence through one reconciliation path: a
 * presence change reconciles its room at once, and a sweep every
 * SWEEP_INTERVAL_MS expires silent sources and retries rooms or sources that
 * were refused for capacity. A room's work (subscription, decoders, encoder)
 * stops on the tick after its last source left, so that the tick can still
 * ramp the leaving source out.
 *
 * Listeners (presence says `listens`) are tracked apart from microphones:
 * a listener gets `vidchat.mix.<room>.minus.<source>` on every tick its
 * room is mixed, that is while the room has at least one microphone; a room
 * of listeners only has nothing to hear and publishes nothing, like its room
 * mix.
 *
 * With leases (JetStream on the broker), a room is mixed only while this
 * mixer holds its lease: a room with microphones is first wanted, its work
 * starts when the lease is won (continuing the last owner's sequence
 * numbers), stops on the tick the lease is lost, and nothing is published
 * for a room whose lease was not renewed in time. Without leases every room
 * is mixed here, as by a single mixer.
 */
export const SWEEP_INTERVAL_MS = 500;
/** Ticks run at once after a stall before the clock skips ahead. */
export const MAX_CATCH_UP_TICKS = 5;

export interface MixerServiceOptions {
  jitter: JitterBufferOptions;
  levelsHz: number;
  maxRooms: number;
  maxSourcesPerRoom: number;
  maxListenersPerRoom: number;
  bitrate: number;
  statusIntervalMs: number;
}

interface RoomWork {
  mix: RoomMix;
  sub: Subscription;
  stopping: boolean;
}

export class MixerService {
  private readonly log: Logger = createLogger('mixer');
  private readonly presence = new AudioPresence();
  private readonly listeners = new ListenerPresence();
  private readonly rooms = new Map<string, RoomWork>();
  private readonly refusedRooms = new Set<string>();
  readonly stats: MixerStats = createStats();
  private readonly clock: MixClock;
  private presenceSub: Subscription | null = null;
  private sweepTimer: ReturnType<typeof setInterval> | null = null;
  private statusTimer: ReturnType<typeof setInterval> | null = null;
  private lastStatus: MixerStats = createStats();
  private closed = false;
  private leases: RoomLeases | null = null;
  /** Sequence numbers to continue from, for rooms whose lease was just won. */
  private readonly continueAt = new Map<string, number>();

  constructor(
    private readonly nc: NatsConnection,
    private readonly opts: MixerServiceOptions,
  ) {
    this.clock = new MixClock({ periodMs: FRAME_MS, maxCatchUpTicks: MAX_CATCH_UP_TICKS }, () => this.tick());
  }

  /** Subscribes to presence and starts the clock; resolves once the server has the subscription. */
  async start(): Promise<void> {
    this.presenceSub = this.nc.subscribe(wildcards.allPresence(), {
      callback: (err, msg) => {
        if (err) return;
        this.onPresence(msg.subject, msg.data);
      },
    });
    this.sweepTimer = setInterval(() => this.sweep(), SWEEP_INTERVAL_MS);
    if (this.opts.statusIntervalMs > 0) {
      this.statusTimer = setInterval(() => this.status(), this.opts.statusIntervalMs);
    }
    this.clock.start();
    await this.nc.flush();
    this.log.info('mixer started', {
      maxRooms: this.opts.maxRooms,
      levelsHz: this.opts.levelsHz,
      jitterMs: `${this.opts.jitter.minMs}-${this.opts.jitter.maxMs}`,
    });
  }

  /** What the room leases call back; pass to `RoomLeases.open` and then to `useLeases`. */
  readonly leaseHooks: LeaseHooks = {
    acquired: (room: string, prev: LeaseValue | null) => {
      if (prev) this.continueAt.set(room, continuedSeq(prev, Date.now()));
      this.reconcile(room);
    },
    lost: (room: string) => {
      const work = this.rooms.get(room);
      if (work) this.stopRoom(room, work);
    },
    nextSeq: (room: string) => this.rooms.get(room)?.mix.nextSeq ?? this.continueAt.get(room) ?? 0,
  };

  /** Mixes only rooms whose lease this mixer holds (call before `start`). */
  useLeases(leases: RoomLeases): void {
    this.leases = leases;
  }

  /** Rooms being mixed now. */
  roomIds(): string[] {
    return [...this.rooms.keys()];
  }

  private onPresence(subject: string, data: Uint8Array): void {
    let presence: PresenceMessage;
    try {
      presence = decodePresence(data);
    } catch (err) {
      if (!(err instanceof ProtocolError)) throw err;
      this.stats.badPresence++;
      this.log.debug('bad presence dropped', { code: err.code, error: err.message });
      return;
    }
    // A presence message speaks only for the source of its own subject: one
    // whose ids differ would let any publisher announce sources (and start
    // mixes) in other rooms. The gateway drops these too.
    const parsed = tryParseSubject(subject);
    if (!parsed || parsed.scope !== 'src' || parsed.room !== presence.room || parsed.source !== presence.source) {
      this.stats.badPresence++;
      this.log.debug('presence whose ids differ from its subject dropped', { subject });
      return;
    }
    const now = Date.now();
    const change: PresenceChange | null = this.presence.apply(presence, now);
    if (change) this.onChange(change);
    const listenerChange: PresenceChange | null = this.listeners.apply(presence, now);
    if (listenerChange) this.onListenerChange(listenerChange);
  }

  private onListenerChange(change: PresenceChange): void {
    if (change.type === 'joined') {
      this.log.info('listener joined', { room: change.room, source: change.source });
      const work = this.rooms.get(change.room);
      if (work) this.addListener(work, change.source);
    } else {
      this.log.info('listener left', { room: change.room, source: change.source, reason: change.reason });
      this.rooms.get(change.room)?.mix.removeListener(change.source);
    }
  }

  private addListener(work: RoomWork, source: string): void {
    if (!work.mix.addListener(source)) {
      this.log.debug('listener refused: --max-listeners-per-room reached', { room: work.mix.room, source });
    }
  }

  private onChange(change: PresenceChange): void {
    if (change.type === 'joined') {
      this.log.info('source joined', { room: change.room, source: change.source });
    } else {
      this.log.info('source left', { room: change.room, source: change.source, reason: change.reason });
      this.rooms.get(change.room)?.mix.removeSource(change.source);
    }
    this.reconcile(change.room);
  }

  /** Brings one room's work in line with presence. */
  private reconcile(room: string): void {
    const wanted = this.presence.sourcesOf(room);
    let work = this.rooms.get(room);
    if (wanted.length === 0) {
      this.refusedRooms.delete(room);
      this.leases?.unwant(room);
      this.continueAt.delete(room);
      if (work) work.stopping = true;
      return;
    }
    if (work === undefined && this.leases && !this.leases.mayPublish(room)) {
      // The leases enforce --max-rooms: a full mixer does not try.
      this.leases.want(room);
      return;
    }
    if (work === undefined) {
      if (this.rooms.size >= this.opts.maxRooms) {
        if (!this.refusedRooms.has(room)) {
          this.refusedRooms.add(room);
          this.stats.overLimit++;
          this.log.warn('room not mixed: --max-rooms reached', { room, maxRooms: this.opts.maxRooms });
        }
        return;
      }
      this.refusedRooms.delete(room);
      work = this.startRoom(room);
      const seq = this.continueAt.get(room);
      if (seq !== undefined) work.mix.continueFrom(seq);
      this.continueAt.delete(room);
    }
    work.stopping = false;
    for (const source of wanted) {
      if (!work.mix.has(source)) work.mix.addSource(source);
    }
    for (const source of this.listeners.sourcesOf(room)) {
      if (!work.mix.hasListener(source)) this.addListener(work, source);
    }
  }

  private startRoom(room: string): RoomWork {
    const mix = new RoomMix(
      room,
      {
        jitter: this.opts.jitter,
        levelsEveryTicks: Math.max(1, Math.round(1_000 / this.opts.levelsHz / FRAME_MS)),
        maxSources: this.opts.maxSourcesPerRoom,
        maxListeners: this.opts.maxListenersPerRoom,
        bitrate: this.opts.bitrate,
      },
      this.stats,
    );
    const sub = this.nc.subscribe(wildcards.roomTrack(room, 'audio'), {
      callback: (err, msg) => {
        if (err) return;
        this.onAudio(mix, msg.subject, msg.data);
      },
    });
    const work: RoomWork = { mix, sub, stopping: false };
    this.rooms.set(room, work);
    this.log.info('room started', { room, rooms: this.rooms.size });
    return work;
  }

  private stopRoom(room: string, work: RoomWork): void {
    work.sub.unsubscribe();
    work.mix.close();
    this.rooms.delete(room);
    this.log.info('room stopped', { room, rooms: this.rooms.size });
  }

  private onAudio(mix: RoomMix, subject: string, data: Uint8Array): void {
    this.stats.packetsIn++;
    const parsed = tryParseSubject(subject);
    let ok = false;
    try {
      const env = decodeEnvelope(data);
      ok =
        env.kind === 'audio' &&
        parsed !== null &&
        parsed.scope === 'src' &&
        parsed.source === env.source &&
        env.sampleRate === SAMPLE_RATE &&
        env.durationUs === FRAME_US &&
        // The payload is a view into the client's read buffer: copy it to keep it.
        mix.push(env.source, env.seq, env.payload.slice(), env.captureTimeUs, Date.now());
      if (this.log.isDebug()) {
        this.log.debug('audio packet', { room: mix.room, source: env.source, seq: env.seq, accepted: ok });
      }
    } catch (err) {
      if (!(err instanceof ProtocolError)) throw err;
      this.log.debug('bad audio envelope dropped', { room: mix.room, code: err.code });
    }
    if (!ok) this.stats.rejected++;
  }

  private tick(): void {
    const t0 = performance.now();
    const nowMs = Date.now();
    for (const [room, work] of this.rooms) {
      // Publishing ends on the tick the lease stops being valid, before any
      // other mixer may take the room over.
      if (this.leases && !this.leases.mayPublish(room)) {
        if (this.leases.holds(room) && !work.stopping) {
          // Still held, renewals unanswered (a stream leader being elected):
          // the mix runs on unpublished, so that its sequence numbers and
          // timing go on where they would be when a renewal succeeds.
          work.mix.tick(nowMs);
          this.stats.unpublishedTicks++;
        } else {
          this.stopRoom(room, work);
        }
        continue;
      }
      const out = work.mix.tick(nowMs);
      this.nc.publish(mixAudioSubject(room), out.audio);
      for (const m of out.minus) this.nc.publish(mixMinusSubject(room, m.source), m.audio);
      if (out.levels) this.nc.publish(mixLevelsSubject(room), out.levels);
      if (work.stopping) this.stopRoom(room, work);
    }
    this.stats.ticks++;
    this.stats.tickTimeUsTotal += (performance.now() - t0) * 1_000;
    this.stats.clockSkips = this.clock.skipped;
  }

  private sweep(): void {
    const now = Date.now();
    for (const change of this.presence.expire(now)) this.onChange(change);
    for (const change of this.listeners.expire(now)) this.onListenerChange(change);
    for (const room of this.presence.roomIds()) {
      const work = this.rooms.get(room);
      if (
        work === undefined ||
        work.mix.sourceCount < this.presence.sourcesOf(room).length ||
        work.mix.listenerCount < this.listeners.sourcesOf(room).length
      ) {
        this.reconcile(room);
      }
    }
  }

  private status(): void {
    const s = this.stats;
    const p = this.lastStatus;
    const ticks = s.ticks - p.ticks;
    const encodes = s.encodes - p.encodes;
    let sources = 0;
    let minusStreams = 0;
    for (const w of this.rooms.values()) {
      sources += w.mix.sourceCount;
      minusStreams += w.mix.listenerCount;
    }
    this.log.info('status', {
      nats: this.nc.info?.server_name ?? this.nc.getServer(),
      leases: this.leases ? this.leases.heldRooms().length : 'off',
      rooms: this.rooms.size,
      sources,
      minusStreams,
      packetsIn: s.packetsIn - p.packetsIn,
      packetsOut: s.packetsOut - p.packetsOut,
      minusOut: s.minusOut - p.minusOut,
      rejected: s.rejected - p.rejected,
      late: s.late - p.late,
      lost: s.lost - p.lost,
      fecRecovered: s.fecRecovered - p.fecRecovered,
      concealed: s.concealed - p.concealed,
      underruns: s.underruns - p.underruns,
      badPresence: s.badPresence - p.badPresence,
      clockSkips: s.clockSkips - p.clockSkips,
      unpublished: s.unpublishedTicks - p.unpublishedTicks,
      encodeUsAvg: encodes > 0 ? Math.round((s.encodeTimeUsTotal - p.encodeTimeUsTotal) / encodes) : 0,
      encodeUsMax: Math.round(s.encodeTimeUsMax),
      tickUsAvg: ticks > 0 ? Math.round((s.tickTimeUsTotal - p.tickTimeUsTotal) / ticks) : 0,
    });
    this.lastStatus = { ...s };
    s.encodeTimeUsMax = 0;
  }

  /** Stops everything; idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.clock.stop();
    if (this.sweepTimer) clearInterval(this.sweepTimer);
    if (this.statusTimer) clearInterval(this.statusTimer);
    this.presenceSub?.unsubscribe();
    // Released leases carry each room's next sequence number: release before the rooms go.
    await this.leases?.close();
    for (const [room, work] of this.rooms) this.stopRoom(room, work);
    this.log.info('mixer stopped');
  }
}
