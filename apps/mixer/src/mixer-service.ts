import type { NatsConnection, Subscription } from '@nats-io/transport-node';
import {
  decodeEnvelope,
  decodePresence,
  mixAudioSubject,
  mixLevelsSubject,
  ProtocolError,
  tryParseSubject,
  wildcards,
  type PresenceMessage,
} from '@vidchat/protocol';
import { createLogger, type Logger } from '@vidchat/service-kit';
import { MixClock } from './clock/mix-clock.js';
import { FRAME_MS, FRAME_US, SAMPLE_RATE } from './dsp/audio-format.js';
import type { JitterBufferOptions } from './dsp/jitter-buffer.js';
import { AudioPresence, type PresenceChange } from './presence/audio-presence.js';
import { createStats, type MixerStats } from './room/mixer-stats.js';
import { RoomMix } from './room/room-mix.js';

/*
 * The mixer process: presence in, one RoomMix per room with a microphone,
 * one clock for all rooms, mixed audio and levels out.
 *
 * Rooms and sources follow presence through one reconciliation path: a
 * presence change reconciles its room at once, and a sweep every
 * SWEEP_INTERVAL_MS expires silent sources and retries rooms or sources that
 * were refused for capacity. A room's work (subscription, decoders, encoder)
 * stops on the tick after its last source left, so that the tick can still
 * ramp the leaving source out.
 */
export const SWEEP_INTERVAL_MS = 500;
/** Ticks run at once after a stall before the clock skips ahead. */
export const MAX_CATCH_UP_TICKS = 5;

export interface MixerServiceOptions {
  jitter: JitterBufferOptions;
  levelsHz: number;
  maxRooms: number;
  maxSourcesPerRoom: number;
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
  private readonly rooms = new Map<string, RoomWork>();
  private readonly refusedRooms = new Set<string>();
  readonly stats: MixerStats = createStats();
  private readonly clock: MixClock;
  private presenceSub: Subscription | null = null;
  private sweepTimer: ReturnType<typeof setInterval> | null = null;
  private statusTimer: ReturnType<typeof setInterval> | null = null;
  private lastStatus: MixerStats = createStats();
  private closed = false;

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
    const change: PresenceChange | null = this.presence.apply(presence, Date.now());
    if (change) this.onChange(change);
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
      if (work) work.stopping = true;
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
    }
    work.stopping = false;
    for (const source of wanted) {
      if (!work.mix.has(source)) work.mix.addSource(source);
    }
  }

  private startRoom(room: string): RoomWork {
    const mix = new RoomMix(
      room,
      {
        jitter: this.opts.jitter,
        levelsEveryTicks: Math.max(1, Math.round(1_000 / this.opts.levelsHz / FRAME_MS)),
        maxSources: this.opts.maxSourcesPerRoom,
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
      const out = work.mix.tick(nowMs);
      this.nc.publish(mixAudioSubject(room), out.audio);
      if (out.levels) this.nc.publish(mixLevelsSubject(room), out.levels);
      if (work.stopping) this.stopRoom(room, work);
    }
    this.stats.ticks++;
    this.stats.tickTimeUsTotal += (performance.now() - t0) * 1_000;
    this.stats.clockSkips = this.clock.skipped;
  }

  private sweep(): void {
    for (const change of this.presence.expire(Date.now())) this.onChange(change);
    for (const room of this.presence.roomIds()) {
      const work = this.rooms.get(room);
      if (work === undefined || work.mix.sourceCount < this.presence.sourcesOf(room).length) this.reconcile(room);
    }
  }

  private status(): void {
    const s = this.stats;
    const p = this.lastStatus;
    const ticks = s.ticks - p.ticks;
    const encodes = s.packetsOut - p.packetsOut;
    let sources = 0;
    for (const w of this.rooms.values()) sources += w.mix.sourceCount;
    this.log.info('status', {
      rooms: this.rooms.size,
      sources,
      packetsIn: s.packetsIn - p.packetsIn,
      packetsOut: encodes,
      rejected: s.rejected - p.rejected,
      late: s.late - p.late,
      lost: s.lost - p.lost,
      underruns: s.underruns - p.underruns,
      badPresence: s.badPresence - p.badPresence,
      clockSkips: s.clockSkips - p.clockSkips,
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
    for (const [room, work] of this.rooms) this.stopRoom(room, work);
    this.log.info('mixer stopped');
  }
}
