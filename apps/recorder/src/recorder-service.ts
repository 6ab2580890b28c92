import { randomBytes } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import { errors, type Msg, type NatsConnection, type Subscription } from '@nats-io/transport-node';
import {
  decodeRecordingReply,
  decodeRecordingRequest,
  encodeRecordingEvent,
  encodeRecordingReply,
  MAX_LISTED_RECORDINGS,
  ProtocolError,
  RECORDER_QUEUE,
  RecordingRequestError,
  recPeerStartWildcard,
  recPeerSubject,
  recSubject,
  recWildcards,
  tryParseRecPeerSubject,
  tryParseRecSubject,
  type RecPeerAction,
  type RecordingInfo,
  type RecordingReply,
  type RecordingRequest,
} from '@vidchat/protocol';
import { createLogger } from '@vidchat/service-kit';
import type { EncoderSettings } from './ffmpeg/encoder-args.js';
import { finalizeRecording } from './session/finalize.js';
import { recoverOrphans } from './session/orphans.js';
import { RoomLocks } from './lock/room-locks.js';
import { RoomRecording } from './session/room-recording.js';
import type { RecordingStore } from './storage/recording-store.js';

/*
 * The recorder's NATS API: `vidchat.rec.<room>.start|stop|list` requests,
 * answered by one recorder of the queue group, and `…events` published at
 * every state change. It owns the recordings of this instance and their
 * limits (`--max-recordings`, `--max-duration`); finished files go to the
 * bucket through `finalizeRecording`.
 *
 * Several recorders on one NATS: a request lands on any of them, and the
 * one it lands on hands it on when it cannot answer alone (`peer.*`
 * subjects, see subjects.ts): a stop or a list of a room recorded by
 * another instance goes to that instance (`peer.stop`/`peer.list`, which
 * only the recorder of the room subscribes to), and a start on a full
 * recorder goes to one with room (`peer.start`, subscribed in the queue
 * group only while below `--max-recordings`). A handed-on request is never
 * handed on again. Which recorder records a room is settled by the room's
 * lock in the key-value bucket (lock/room-locks.ts): a start takes it
 * before anything else, so of simultaneous starts on any recorders exactly
 * one records and the others answer `already-recording`.
 */
export interface RecorderServiceOptions {
  settings: EncoderSettings;
  latencyMs: number;
  maxTiles: number;
  maxRecordings: number;
  maxDurationMs: number;
  workDir: string;
  ffmpegPath: string;
  ffprobePath: string;
  statusIntervalMs: number;
  /** A room's lock lapses when unrenewed this long (its recorder died). */
  lockTtlMs: number;
  /** Copies of the lock bucket when this recorder creates it (the recordings bucket's `--replicas`). */
  replicas: number;
  /** Instance id in the room locks (random when not given). */
  instanceId?: string;
}

/** Time a handed-on start or list may take (a start waits for ffmpeg to spawn). */
const PEER_REQUEST_TIMEOUT_MS = 30_000;
/** Time a handed-on stop may take: the owner answers once the file is stored. */
const PEER_STOP_TIMEOUT_MS = 90_000;

/** Finished recordings remembered in memory (for those the bucket does not hold, e.g. failed ones). */
const MAX_REMEMBERED_FINISHED = 200;

/** A recording id: start time (sortable, readable) plus randomness, a valid id token. */
export function newRecordingId(now = new Date()): string {
  const t = now
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, '')
    .replace('T', '-');
  return `${t}-${randomBytes(4).toString('hex')}`;
}

export class RecorderService {
  private readonly log = createLogger('recorder');
  private readonly active = new Map<string, RoomRecording>();
  /** Rooms whose start is taking their lock (counted against `--max-recordings`). */
  private readonly starting = new Set<string>();
  private locksOrNull: RoomLocks | null = null;
  /** Recordings that ended in this process, newest last, with their final info. */
  private readonly finished = new Map<string, RecordingInfo>();
  private readonly stopping = new Map<string, Promise<RecordingInfo>>();
  private readonly subs: Subscription[] = [];
  /** `peer.start` in the queue group, held while this recorder is below its limit. */
  private peerStartSub: Subscription | null = null;
  /** `peer.stop` and `peer.list` of each room this recorder records. */
  private readonly peerRoomSubs = new Map<string, Subscription[]>();
  private closed = false;
  private statusTimer: NodeJS.Timeout | null = null;
  badRequests = 0;

  constructor(
    private readonly nc: NatsConnection,
    private readonly store: RecordingStore,
    private readonly o: RecorderServiceOptions,
  ) {}

  async start(): Promise<void> {
    await mkdir(this.o.workDir, { recursive: true });
    await this.store.open();
    this.locksOrNull = await RoomLocks.open(this.nc, {
      ttlMs: this.o.lockTtlMs,
      replicas: this.o.replicas,
      ...(this.o.instanceId ? { instanceId: this.o.instanceId } : {}),
      onLost: (room) => {
        for (const r of this.active.values()) if (r.room === room) void this.finish(r, 'done');
      },
    });
    for (const action of ['start', 'stop', 'list'] as const) {
      this.subs.push(
        this.nc.subscribe(recWildcards.allRooms(action), {
          queue: RECORDER_QUEUE,
          callback: (err, msg) => {
            if (!err) void this.onRequest(msg);
          },
        }),
      );
    }
    this.updatePeerStart();
    // "ready" means requests reach us: the subscriptions are on the server, not only queued to it.
    await this.nc.flush();
    if (this.o.statusIntervalMs > 0) {
      this.statusTimer = setInterval(() => {
        // The node too, so that an operator sees a recorder move after a failover.
        const nats = this.nc.info?.server_name ?? this.nc.getServer();
        for (const r of this.active.values()) this.log.info('status', { ...r.status(), nats });
      }, this.o.statusIntervalMs);
    }
    // Files a killed predecessor left behind are stored in the background; requests are served meanwhile.
    void recoverOrphans({
      workDir: this.o.workDir,
      ffmpegPath: this.o.ffmpegPath,
      ffprobePath: this.o.ffprobePath,
      store: this.store,
      log: this.log,
      active: new Set(this.active.keys()),
    }).then(
      (infos) => infos.forEach((i) => this.remember(i)),
      (err: unknown) => this.log.error('recovering orphaned recordings failed', { error: (err as Error).message }),
    );
  }

  private get locks(): RoomLocks {
    if (!this.locksOrNull) throw new RecordingRequestError('internal', 'the recorder is not started');
    return this.locksOrNull;
  }

  private async onRequest(msg: Msg, peer = false): Promise<void> {
    const reply = await this.handle(msg.subject, msg.data, peer).catch((err: unknown): RecordingReply => {
      if (err instanceof RecordingRequestError) return { ok: false, error: { code: err.code, message: err.message } };
      if (err instanceof ProtocolError) {
        this.badRequests++;
        this.log.debug('bad recorder request', { subject: msg.subject, error: err.message });
        return { ok: false, error: { code: 'bad-request', message: err.message } };
      }
      this.log.error('recorder request failed', { subject: msg.subject, error: (err as Error).message });
      return { ok: false, error: { code: 'internal', message: (err as Error).message } };
    });
    if (msg.reply) msg.respond(encodeRecordingReply(reply));
  }

  private subscribePeer(subject: string, queue: boolean): Subscription {
    return this.nc.subscribe(subject, {
      ...(queue ? { queue: RECORDER_QUEUE } : {}),
      callback: (err, msg) => {
        if (!err) void this.onRequest(msg, true);
      },
    });
  }

  /** Holds `peer.start` while below the limit, so that full recorders hand starts to one with room. */
  private updatePeerStart(): void {
    const hasRoom = !this.closed && this.active.size < this.o.maxRecordings;
    if (hasRoom && !this.peerStartSub) this.peerStartSub = this.subscribePeer(recPeerStartWildcard, true);
    else if (!hasRoom && this.peerStartSub) {
      this.peerStartSub.unsubscribe();
      this.peerStartSub = null;
    }
  }

  /**
   * Hands a request on to the recorder that can answer it. Null when no
   * recorder subscribes to that peer subject (nobody records the room, or
   * every recorder is full).
   */
  private async askPeer(room: string, action: RecPeerAction, body: Uint8Array): Promise<RecordingReply | null> {
    try {
      const msg = await this.nc.request(recPeerSubject(room, action), body, {
        timeout: action === 'stop' ? PEER_STOP_TIMEOUT_MS : PEER_REQUEST_TIMEOUT_MS,
      });
      return decodeRecordingReply(msg.data);
    } catch (err) {
      if (err instanceof errors.RequestError && err.isNoResponders()) return null;
      throw new RecordingRequestError(
        'internal',
        `the recorder of room ${room} did not answer: ${(err as Error).message}`,
        {
          cause: err,
        },
      );
    }
  }

  /** One request: subject says room and action, the body the details; `peer` when another recorder handed it on. */
  async handle(subject: string, body: Uint8Array, peer = false): Promise<RecordingReply> {
    const parsed = peer ? tryParseRecPeerSubject(subject) : tryParseRecSubject(subject);
    if (!parsed || parsed.action === 'events') {
      this.badRequests++;
      throw new RecordingRequestError(
        'bad-room',
        `not a recorder request subject: ${JSON.stringify(subject.slice(0, 200))}`,
      );
    }
    const req: RecordingRequest = decodeRecordingRequest(parsed.action, body);
    switch (req.action) {
      case 'start':
        if (!peer && this.active.size + this.starting.size >= this.o.maxRecordings && !this.roomActive(parsed.room)) {
          // Full here: a room recorded anywhere is `already-recording` (its
          // lock says so), any other goes to a recorder with room.
          const holder = await this.locks.holder(parsed.room);
          if (holder) {
            throw new RecordingRequestError(
              'already-recording',
              `room ${parsed.room} is already being recorded (${holder.recording}, recorder ${holder.owner})`,
            );
          }
          const handed = await this.askPeer(parsed.room, 'start', body);
          if (handed) return handed;
        }
        return { ok: true, recording: await this.startRecording(parsed.room) };
      case 'stop': {
        if (!peer && !this.owns(req.id)) {
          const handed = await this.askPeer(parsed.room, 'stop', body);
          if (handed) return handed;
        }
        return { ok: true, recording: await this.stopRecording(parsed.room, req.id) };
      }
      case 'list': {
        const own = await this.list(parsed.room);
        if (peer || this.roomActive(parsed.room)) return { ok: true, bucket: this.store.bucket, recordings: own };
        const handed = await this.askPeer(parsed.room, 'list', body);
        if (!handed || !handed.ok || !('recordings' in handed))
          return { ok: true, bucket: this.store.bucket, recordings: own };
        // The recording instance knows its recording in progress; the bucket's are the same for both.
        const byId = new Map(own.map((r) => [r.id, r]));
        for (const r of handed.recordings) byId.set(r.id, r);
        const recordings = [...byId.values()].sort((a, b) => b.startedAt - a.startedAt).slice(0, MAX_LISTED_RECORDINGS);
        return { ok: true, bucket: this.store.bucket, recordings };
      }
    }
  }

  private roomActive(room: string): boolean {
    if (this.starting.has(room)) return true;
    for (const r of this.active.values()) if (r.room === room) return true;
    return false;
  }

  /** This instance records or is finishing recording `id`. */
  private owns(id: string): boolean {
    return this.active.has(id) || this.stopping.has(id);
  }

  async startRecording(room: string): Promise<RecordingInfo> {
    for (const r of this.active.values()) {
      if (r.room === room)
        throw new RecordingRequestError('already-recording', `room ${room} is already being recorded (${r.id})`);
    }
    if (this.starting.has(room))
      throw new RecordingRequestError('already-recording', `room ${room} is already being started`);
    if (this.active.size + this.starting.size >= this.o.maxRecordings) {
      throw new RecordingRequestError(
        'too-many-recordings',
        `this recorder runs ${this.active.size} recordings, its limit (--max-recordings)`,
      );
    }
    const id = newRecordingId();
    // The room's lock first: one start of a room wins across every recorder.
    this.starting.add(room);
    try {
      await this.locks.acquire(room, id);
    } finally {
      this.starting.delete(room);
    }
    const rec = new RoomRecording(this.nc, {
      id,
      room,
      settings: this.o.settings,
      latencyMs: this.o.latencyMs,
      maxTiles: this.o.maxTiles,
      maxDurationMs: this.o.maxDurationMs,
      workDir: this.o.workDir,
      ffmpegPath: this.o.ffmpegPath,
      log: this.log.child(room),
      onEnded: (r, reason) => {
        this.log.info('recording ends by itself', { room: r.room, id: r.id, reason });
        void this.finish(r, reason === 'encoder-failed' ? 'failed' : 'done');
      },
    });
    this.active.set(id, rec);
    this.updatePeerStart();
    this.followRoomPeers(room);
    try {
      await rec.start();
    } catch (err) {
      this.active.delete(id);
      this.updatePeerStart();
      this.unfollowRoomPeers(room);
      await rec.finishEncoding().catch(() => undefined);
      await this.locks.release(room);
      throw new RecordingRequestError('internal', `could not start recording: ${(err as Error).message}`, {
        cause: err,
      });
    }
    const info = rec.info();
    this.publishEvent(info);
    this.log.info('recording started', { room, id });
    return info;
  }

  async stopRecording(room: string, id: string): Promise<RecordingInfo> {
    const rec = this.active.get(id);
    if (rec && rec.room === room) return this.finish(rec, 'done');
    const pending = this.stopping.get(id);
    if (pending) return pending;
    const known = this.finished.get(id) ?? (await this.store.list(room)).find((r) => r.id === id);
    if (known && known.room === room)
      throw new RecordingRequestError('not-recording', `recording ${id} has already ended (${known.state})`);
    throw new RecordingRequestError('not-found', `no recording ${id} in room ${room}`);
  }

  /** Ends a recording once, however it ended; later calls get the same result. */
  private finish(rec: RoomRecording, state: 'done' | 'failed'): Promise<RecordingInfo> {
    const existing = this.stopping.get(rec.id);
    if (existing) return existing;
    const p = (async () => {
      await rec.finishEncoding();
      const outcome = rec.error ? 'failed' : state;
      const { info } = await finalizeRecording({
        id: rec.id,
        room: rec.room,
        startedAt: rec.startedAt,
        state: outcome,
        workDir: this.o.workDir,
        ffmpegPath: this.o.ffmpegPath,
        ffprobePath: this.o.ffprobePath,
        store: this.store,
        log: this.log,
      });
      this.active.delete(rec.id);
      this.updatePeerStart();
      if (!this.roomActive(rec.room)) this.unfollowRoomPeers(rec.room);
      await this.releaseLock(rec);
      this.remember(info);
      this.publishEvent(info);
      this.log.info('recording finished', {
        room: rec.room,
        id: rec.id,
        state: info.state,
        durationMs: info.durationMs,
        bytes: info.bytes,
        object: info.object,
      });
      return info;
    })();
    this.stopping.set(rec.id, p);
    void p
      .finally(() => {
        this.stopping.delete(rec.id);
        return this.releaseLock(rec);
      })
      .catch(() => undefined);
    return p;
  }

  /** Gives the room's lock up once nothing records the room here (idempotent). */
  private async releaseLock(rec: RoomRecording): Promise<void> {
    if (!this.roomActive(rec.room)) await this.locksOrNull?.release(rec.room);
  }

  /** Stops and lists of `room` that land on other recorders reach this one. */
  private followRoomPeers(room: string): void {
    if (this.peerRoomSubs.has(room)) return;
    this.peerRoomSubs.set(room, [
      this.subscribePeer(recPeerSubject(room, 'stop'), false),
      this.subscribePeer(recPeerSubject(room, 'list'), false),
    ]);
  }

  private unfollowRoomPeers(room: string): void {
    for (const sub of this.peerRoomSubs.get(room) ?? []) sub.unsubscribe();
    this.peerRoomSubs.delete(room);
  }

  private remember(info: RecordingInfo): void {
    this.finished.set(info.id, info);
    while (this.finished.size > MAX_REMEMBERED_FINISHED) {
      const oldest = this.finished.keys().next().value;
      if (oldest === undefined) break;
      this.finished.delete(oldest);
    }
  }

  /** The room's recordings: in progress here, then stored or remembered, newest first. */
  async list(room: string): Promise<RecordingInfo[]> {
    const byId = new Map<string, RecordingInfo>();
    for (const r of await this.store.list(room)) byId.set(r.id, r);
    for (const r of this.finished.values()) if (r.room === room && !byId.has(r.id)) byId.set(r.id, r);
    for (const r of this.active.values()) if (r.room === room) byId.set(r.id, r.info());
    return [...byId.values()].sort((a, b) => b.startedAt - a.startedAt).slice(0, MAX_LISTED_RECORDINGS);
  }

  private publishEvent(info: RecordingInfo): void {
    this.nc.publish(recSubject(info.room, 'events'), encodeRecordingEvent({ type: 'recording', recording: info }));
  }

  /** Stops every recording (files are finalized and stored). Idempotent. */
  async close(): Promise<void> {
    if (this.statusTimer) clearInterval(this.statusTimer);
    this.closed = true;
    for (const s of this.subs.splice(0)) s.unsubscribe();
    this.updatePeerStart();
    await Promise.allSettled([...this.active.values()].map((r) => this.finish(r, 'done')));
    await this.locksOrNull?.close();
  }
}
