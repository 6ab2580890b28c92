import { Inject, Injectable, type BeforeApplicationShutdown } from '@nestjs/common';
import type { Msg } from '@nats-io/transport-node';
import {
  decodeEnvelope,
  decodeLevelsPayload,
  decodePresence,
  mixMinusSubject,
  PRESENCE_TIMEOUT_MS,
  presenceKind,
  ProtocolError,
  tryParseSubject,
  wildcards,
  type Envelope,
  type EnvelopeKindName,
  type PresenceMessage,
  type SourceInfo,
} from '@vidchat/protocol';
import { createLogger } from '@vidchat/service-kit';
import { GATEWAY_CONFIG, type GatewayConfig } from '../config.js';
import { GatewayMetrics } from '../metrics/gateway-metrics.js';
import { NatsBus, type BusSubscription } from '../nats/nats-bus.js';
import { LayerSubscriptions } from './layer-subscriptions.js';
import { latestFrame, Room, type SourceEntry } from './room.js';
import type { MediaFrame, RoomWatcher } from './room-watcher.js';

/*
 * Rooms, their rosters and interest-based subscriptions. One global presence
 * subscription (1 Hz per source, cheap) feeds every roster, so /api/rooms
 * knows all rooms; a room's media subjects are subscribed only while at least
 * one watcher (viewer, MJPEG client, snapshot request) holds interest in it,
 * and for at most `--max-rooms` rooms at once.
 *
 * Of a source's tracks only video is subscribed (layer 0 always, a smaller
 * layer while a watcher wants it), and of the mixer's output
 * only the room's mix and levels: viewers hear the mix, so per-source audio
 * and every listener's mix-minus (50 packets/s each) would be received and
 * decoded only to be dropped. The exceptions follow interest: a listener's
 * mix-minus while someone hears it (`listen`), and the room's per-source
 * audio while some viewer plays each tile at its own volume (`hearSources`).
 * Sources stay alive through their presence heartbeats (or, without
 * presence, through their video frames).
 */

/** A watch that would subscribe one room more than `--max-rooms`. */
export class RoomCapError extends Error {
  readonly code = 'ERR_TOO_MANY_ROOMS';
  constructor(readonly maxRooms: number) {
    super(`the gateway watches ${maxRooms} rooms already (--max-rooms)`);
    this.name = 'RoomCapError';
  }
}

export interface WatchOptions {
  /**
   * A short-lived watch (one snapshot): its subscribe and unsubscribe are
   * debug lines, so that polling snapshots does not fill the info log.
   */
  transient?: boolean;
}

/** How often sources are checked for a missed heartbeat. */
export const SWEEP_MS = 250;

const log = createLogger('gateway.rooms');

/** `{layers}` of a presence message, when it lists them. */
function layersOf(p: PresenceMessage): Pick<SourceInfo, 'layers'> {
  return p.layers ? { layers: p.layers } : {};
}

/** Which envelope kind each subscribed subject track must carry. */
function expectedKind(scope: 'src' | 'mix', track: string): EnvelopeKindName | null {
  if (scope === 'src') return track === 'video' ? 'video' : track === 'audio' ? 'audio' : null;
  return track === 'audio' || track === 'minus' ? 'mixedAudio' : track === 'levels' ? 'levels' : null;
}

/**
 * Lifecycle: `createGateway` starts it with the NATS bus once the HTTP port
 * is bound; Nest stops it in `beforeApplicationShutdown`, after viewers and
 * MJPEG clients were closed and before NATS is drained.
 */
@Injectable()
export class RoomRegistry implements BeforeApplicationShutdown {
  private readonly rooms = new Map<string, Room>();
  private presenceSub: BusSubscription | null = null;
  private sweepTimer: NodeJS.Timeout | null = null;
  private readonly now: () => number = Date.now;
  /** While NATS is down nobody can be heard, so nobody is expired. */
  private natsDown = false;
  private readonly layers: LayerSubscriptions;
  /** Rooms with subscriptions, counted rather than scanned: every watch checks the cap. */
  private watchedRooms = 0;

  constructor(
    @Inject(NatsBus) private readonly bus: NatsBus,
    @Inject(GatewayMetrics) private readonly metrics: GatewayMetrics,
    @Inject(GATEWAY_CONFIG) private readonly config: GatewayConfig,
  ) {
    // The rooms must know when NATS is down: they stop expiring sources they cannot hear.
    bus.onStateChange((s) => this.setNatsConnected(s.state === 'connected'));
    this.layers = new LayerSubscriptions(
      bus,
      (roomId, msg) => {
        const room = this.rooms.get(roomId);
        if (room) this.onMedia(room, msg);
      },
      (roomId, source, layer) => this.rooms.get(roomId)?.sources.get(source)?.latestLayers.delete(layer),
    );
  }

  start(): void {
    this.presenceSub = this.bus.subscribe(wildcards.allPresence(), (msg) => this.onPresence(msg));
    this.sweepTimer = setInterval(() => this.sweep(), SWEEP_MS);
    this.sweepTimer.unref();
    this.updateGauges();
  }

  beforeApplicationShutdown(): void {
    this.stop();
  }

  stop(): void {
    if (this.sweepTimer) clearInterval(this.sweepTimer);
    this.sweepTimer = null;
    this.presenceSub?.unsubscribe();
    this.presenceSub = null;
    this.layers.clear();
    for (const room of this.rooms.values()) {
      this.unsubscribeRoom(room);
      for (const m of room.minus.values()) m.subscription.unsubscribe();
      room.minus.clear();
      room.sourceAudio?.subscription.unsubscribe();
      room.sourceAudio = null;
    }
    this.rooms.clear();
  }

  /** Rooms that have live sources or watchers, sorted by id. */
  list(): Room[] {
    return [...this.rooms.values()].filter((r) => !r.idle).sort((a, b) => a.id.localeCompare(b.id));
  }

  get(room: string): Room | undefined {
    return this.rooms.get(room);
  }

  /** Rooms whose media are subscribed (someone watches them). */
  get watchedRoomCount(): number {
    return this.watchedRooms;
  }

  /**
   * Registers interest in `room` (`room` must be a valid id). The first
   * watcher subscribes the room's media; the returned function releases the
   * interest, and the last release unsubscribes. Throws `RoomCapError` when
   * the room is not subscribed yet and `--max-rooms` rooms already are.
   */
  watch(roomId: string, watcher: RoomWatcher, opts: WatchOptions = {}): { room: Room; release: () => void } {
    const existing = this.rooms.get(roomId);
    if (!existing?.subscriptions && this.watchedRoomCount >= this.config.maxRooms) {
      this.metrics.refuse('too-many-rooms');
      log.debug('room not watched: too many rooms', { room: roomId, maxRooms: this.config.maxRooms });
      throw new RoomCapError(this.config.maxRooms);
    }
    const logLifecycle = opts.transient ? log.debug.bind(log) : log.info.bind(log);
    const room = existing ?? this.room(roomId);
    room.watchers.add(watcher);
    if (!room.subscriptions) {
      const onMedia = (msg: Msg): void => this.onMedia(room, msg);
      // Layer 0 video of every source and the room's shared mix; the other
      // video layers follow interest (wantLayer), each listener's mix-minus
      // follows `listen`, and presence has its own global subscription.
      room.subscriptions = [
        this.bus.subscribe(wildcards.roomTrack(roomId, 'video'), onMedia),
        // Not `roomMix`: every listener's mix-minus would reach every gateway
        // that has a viewer in the room. Each is subscribed by `listen`.
        this.bus.subscribe(wildcards.roomSharedMix(roomId), onMedia),
      ];
      this.watchedRooms++;
      logLifecycle('room watched: subscribed', { room: roomId });
      this.updateGauges();
    }
    let released = false;
    return {
      room,
      release: () => {
        if (released) return;
        released = true;
        room.watchers.delete(watcher);
        if (room.watchers.size === 0) {
          this.unsubscribeRoom(room);
          logLifecycle('room unwatched: unsubscribed', { room: roomId });
          if (room.idle) this.rooms.delete(roomId);
          this.updateGauges();
        }
      },
    };
  }

  /**
   * Registers interest in one video layer of a source of a watched room (the
   * caller also holds a `watch`). A layer above 0 is subscribed while
   * someone wants it. Returns the release, idempotent.
   */
  wantLayer(roomId: string, source: string, layer: number): () => void {
    const release = this.layers.want(roomId, source, layer);
    this.updateGauges();
    return () => {
      release();
      this.updateGauges();
    };
  }

  /** Whether a layer above 0 of a source is subscribed now. */
  layerSubscribed(roomId: string, source: string, layer: number): boolean {
    return this.layers.wanted(roomId, source, layer);
  }

  /** The latest frame of one layer of a source, while its room is watched and the layer wanted. */
  latestVideo(roomId: string, source: string, layer: number): MediaFrame | null {
    return latestFrame(this.rooms.get(roomId)?.sources.get(source), layer);
  }

  /**
   * Makes `watcher` hear `source`'s mix-minus (the watcher must be watching
   * the room). The first listener of a source subscribes to its mix-minus,
   * the last release unsubscribes.
   */
  listen(room: Room, source: string, watcher: RoomWatcher): () => void {
    let entry = room.minus.get(source);
    if (!entry) {
      const subscription = this.bus.subscribe(mixMinusSubject(room.id, source), (msg) => this.onMedia(room, msg));
      entry = { watchers: new Set(), subscription };
      room.minus.set(source, entry);
      this.updateGauges();
    }
    const listeners = entry;
    listeners.watchers.add(watcher);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      listeners.watchers.delete(watcher);
      if (listeners.watchers.size === 0 && room.minus.get(source) === listeners) {
        listeners.subscription.unsubscribe();
        room.minus.delete(source);
        this.updateGauges();
      }
    };
  }
  /**
   * Makes `watcher` get the room's per-source audio (the watcher must be
   * watching the room; it decides itself which sources to pass on). The
   * first such watcher of a room subscribes to `src.<room>.*.audio`, the last
   * release unsubscribes. Returns the release, idempotent.
   */
  hearSources(room: Room, watcher: RoomWatcher): () => void {
    let entry = room.sourceAudio;
    if (!entry) {
      const subscription = this.bus.subscribe(wildcards.roomTrack(room.id, 'audio'), (msg) => this.onMedia(room, msg));
      entry = { watchers: new Set(), subscription };
      room.sourceAudio = entry;
      log.debug('per-source audio wanted: subscribed', { room: room.id });
      this.updateGauges();
    }
    const listeners = entry;
    listeners.watchers.add(watcher);
    this.metrics.sourceAudioViewers.inc();
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.metrics.sourceAudioViewers.dec();
      listeners.watchers.delete(watcher);
      if (listeners.watchers.size === 0 && room.sourceAudio === listeners) {
        listeners.subscription.unsubscribe();
        room.sourceAudio = null;
        log.debug('per-source audio unwanted: unsubscribed', { room: room.id });
        this.updateGauges();
      }
    };
  }

  private room(id: string): Room {
    let room = this.rooms.get(id);
    if (!room) {
      room = new Room(id);
      this.rooms.set(id, room);
      this.updateGauges();
    }
    return room;
  }

  private unsubscribeRoom(room: Room): void {
    if (!room.subscriptions) return;
    for (const s of room.subscriptions) s.unsubscribe();
    room.subscriptions = null;
    this.watchedRooms--;
    // Frames are kept only while someone watches: memory follows interest.
    for (const s of room.sources.values()) {
      s.latestVideo = null;
      s.latestLayers.clear();
    }
  }

  private updateGauges(): void {
    this.metrics.rooms.set(this.list().length);
    this.metrics.roomSubscriptions.set(this.watchedRoomCount);
    this.metrics.layerSubscriptions.set(this.layers.size);
    let sourceAudio = 0;
    for (const r of this.rooms.values()) if (r.sourceAudio) sourceAudio++;
    this.metrics.sourceAudioSubscriptions.set(sourceAudio);
    this.metrics.natsSubscriptions.set(this.bus.subscriptionCount);
  }

  private onPresence(msg: Msg): void {
    const subject = tryParseSubject(msg.subject);
    let p: PresenceMessage;
    try {
      p = decodePresence(msg.data);
    } catch (err) {
      if (!(err instanceof ProtocolError)) throw err;
      this.metrics.reject('presence-garbage');
      log.debug('dropped bad presence', { subject: msg.subject, code: err.code, error: err.message });
      return;
    }
    if (!subject || subject.scope !== 'src' || subject.room !== p.room || subject.source !== p.source) {
      this.metrics.reject('presence-mismatch');
      log.debug('dropped presence whose ids differ from its subject', { subject: msg.subject });
      return;
    }
    const room = this.room(p.room);
    if (p.type === 'leave') {
      this.removeSource(room, p.source, 'leave');
      if (room.idle) this.rooms.delete(room.id);
      this.updateGauges();
      return;
    }
    const existing = room.sources.get(p.source);
    if (existing) {
      existing.lastSeen = this.now();
      existing.viaPresence = true;
      existing.info = {
        ...existing.info,
        name: p.name,
        video: p.video,
        audio: p.audio,
        ...layersOf(p),
        kind: presenceKind(p),
      };
      return;
    }
    const info: SourceInfo = {
      id: p.source,
      name: p.name,
      video: p.video,
      audio: p.audio,
      ...layersOf(p),
      since: this.now(),
      kind: presenceKind(p),
    };
    this.addSource(room, info, true);
    if (room.idle) this.rooms.delete(room.id);
  }

  /** Returns the entry, or null when the room is full (counted). */
  private addSource(room: Room, info: SourceInfo, viaPresence: boolean): SourceEntry | null {
    if (room.sources.size >= this.config.maxSourcesPerRoom) {
      this.metrics.drop('source-cap');
      log.debug('room full: source ignored', { room: room.id, source: info.id });
      return null;
    }
    const entry: SourceEntry = { info, lastSeen: this.now(), viaPresence, latestVideo: null, latestLayers: new Map() };
    room.sources.set(info.id, entry);
    log.info('source joined', { room: room.id, source: info.id, via: viaPresence ? 'presence' : 'frame' });
    for (const w of [...room.watchers]) w.onSourceJoined(room.id, info);
    this.updateGauges();
    return entry;
  }

  private removeSource(room: Room, source: string, why: 'leave' | 'timeout'): void {
    if (!room.sources.delete(source)) return;
    log.info('source left', { room: room.id, source, why });
    for (const w of [...room.watchers]) w.onSourceLeft(room.id, source);
  }

  /**
   * A broker outage silences every source at once; expiring them would empty
   * every room and make each tile vanish and come back. Expiry pauses while
   * NATS is down, and on reconnect every source gets a fresh presence timeout
   * to be heard again: one that died meanwhile leaves then.
   */
  setNatsConnected(connected: boolean): void {
    if (connected && this.natsDown) {
      const t = this.now();
      for (const room of this.rooms.values()) for (const s of room.sources.values()) s.lastSeen = t;
    }
    this.natsDown = !connected;
  }

  private sweep(): void {
    if (this.natsDown) return;
    const t = this.now();
    let changed = false;
    for (const room of [...this.rooms.values()]) {
      for (const [id, s] of room.sources) {
        if (t - s.lastSeen > PRESENCE_TIMEOUT_MS) {
          this.removeSource(room, id, 'timeout');
          changed = true;
        }
      }
      if (room.idle) {
        this.rooms.delete(room.id);
        changed = true;
      }
    }
    if (changed) this.updateGauges();
  }

  private onMedia(room: Room, msg: Msg): void {
    const subject = tryParseSubject(msg.subject);
    if (!subject || subject.room !== room.id) {
      this.metrics.reject('bad-subject');
      return;
    }
    const kind = expectedKind(subject.scope, subject.track);
    const data = msg.data;
    let env: Envelope;
    try {
      env = decodeEnvelope(data);
      // Levels are tiny and 10 Hz per room: checking their JSON here keeps
      // viewers from ever receiving a levels message they cannot read.
      if (env.kind === 'levels') decodeLevelsPayload(env.payload);
    } catch (err) {
      if (!(err instanceof ProtocolError)) throw err;
      this.metrics.reject('envelope-garbage');
      log.debug('dropped bad envelope', { subject: msg.subject, code: err.code });
      return;
    }
    const subjectSource = subject.scope === 'src' ? subject.source : '';
    // The subject says the layer (`.video` 0, `.video1` 1); the envelope's layer byte must agree.
    const layer = subject.scope === 'src' ? (subject.layer ?? 0) : 0;
    const minusOf = subject.scope === 'mix' && subject.track === 'minus' ? subject.source : undefined;
    if (env.kind !== kind || env.source !== subjectSource || (env.kind === 'video' && env.layer !== layer)) {
      this.metrics.reject('envelope-mismatch');
      log.debug('dropped envelope that does not match its subject', { subject: msg.subject, kind: env.kind });
      return;
    }
    const payloadOffset = env.payload.byteOffset - data.byteOffset;
    const payloadLength = env.payload.length;
    if (subjectSource !== '') {
      let entry = room.sources.get(subjectSource);
      // Only layer 0 may make a source known: a small layer is subscribed for
      // a source already known, and audio is for the tiles already shown.
      if (!entry && (layer !== 0 || env.kind === 'audio')) return;
      if (!entry) {
        // Only a capture agent can publish without presence: the gateway announces every participant.
        const info: SourceInfo = {
          id: subjectSource,
          name: subjectSource,
          video: null,
          audio: null,
          since: this.now(),
          kind: 'agent',
        };
        entry = this.addSource(room, info, false) ?? undefined;
        if (!entry) return;
      }
      if (!entry.viaPresence) entry.lastSeen = this.now();
    }
    // The one copy: msg.data is a view into nats.js's read buffer, and a
    // socket may hold what it is given past this callback.
    const bytes = Buffer.from(data);
    const frame: MediaFrame = {
      kind: env.kind,
      source: subjectSource,
      layer,
      bytes,
      payload: bytes.subarray(payloadOffset, payloadOffset + payloadLength),
    };
    this.metrics.framesIn.inc({ kind: env.kind });
    if (minusOf !== undefined) {
      frame.minusOf = minusOf;
      // A mix-minus is for its listeners only, never for the room's other watchers.
      for (const w of room.minus.get(minusOf)?.watchers ?? []) w.onMedia(frame);
      return;
    }
    if (frame.kind === 'audio') {
      // A source's own audio is for the viewers that asked for it, never for the room's other watchers.
      for (const w of room.sourceAudio?.watchers ?? []) w.onMedia(frame);
      return;
    }
    if (frame.kind === 'video') {
      const entry = room.sources.get(subjectSource);
      if (entry && layer === 0) entry.latestVideo = frame;
      else if (entry) entry.latestLayers.set(layer, frame);
    }
    for (const w of room.watchers) w.onMedia(frame);
  }
}
