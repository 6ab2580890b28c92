import { randomBytes } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import type { Msg, NatsConnection, Subscription } from '@nats-io/transport-node';
import {
  decodeRecordingRequest,
  encodeRecordingEvent,
  encodeRecordingReply,
  MAX_LISTED_RECORDINGS,
  ProtocolError,
  RECORDER_QUEUE,
  RecordingRequestError,
  recSubject,
  recWildcards,
  tryParseRecSubject,
  type RecordingInfo,
  type RecordingReply,
  type RecordingRequest,
} from '@vidchat/protocol';
import { createLogger } from '@vidchat/service-kit';
import type { EncoderSettings } from './ffmpeg/encoder-args.js';
import { finalizeRecording } from './session/finalize.js';
import { recoverOrphans } from './session/orphans.js';
import { RoomRecording } from './session/room-recording.js';
import type { RecordingStore } from './storage/recording-store.js';

/*
 * The recorder's NATS API: `vidchat.rec.<room>.start|stop|list` requests,
 * answered by one recorder of the queue group, and `…events` published at
 * every state change. It owns the recordings of this instance and their
 * limits (`--max-recordings`, `--max-duration`); finished files go to the
 * bucket through `finalizeRecording`.
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
}

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
  /** Recordings that ended in this process, newest last, with their final info. */
  private readonly finished = new Map<string, RecordingInfo>();
  private readonly stopping = new Map<string, Promise<RecordingInfo>>();
  private readonly subs: Subscription[] = [];
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

  private async onRequest(msg: Msg): Promise<void> {
    const reply = await this.handle(msg.subject, msg.data).catch((err: unknown): RecordingReply => {
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

  /** One request: subject says room and action, the body the details. */
  async handle(subject: string, body: Uint8Array): Promise<RecordingReply> {
    const parsed = tryParseRecSubject(subject);
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
        return { ok: true, recording: await this.startRecording(parsed.room) };
      case 'stop':
        return { ok: true, recording: await this.stopRecording(parsed.room, req.id) };
      case 'list':
        return { ok: true, bucket: this.store.bucket, recordings: await this.list(parsed.room) };
    }
  }

  async startRecording(room: string): Promise<RecordingInfo> {
    for (const r of this.active.values()) {
      if (r.room === room)
        throw new RecordingRequestError('already-recording', `room ${room} is already being recorded (${r.id})`);
    }
    if (this.active.size >= this.o.maxRecordings) {
      throw new RecordingRequestError(
        'too-many-recordings',
        `this recorder runs ${this.active.size} recordings, its limit (--max-recordings)`,
      );
    }
    const id = newRecordingId();
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
    try {
      await rec.start();
    } catch (err) {
      this.active.delete(id);
      await rec.finishEncoding().catch(() => undefined);
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
    void p.finally(() => this.stopping.delete(rec.id)).catch(() => undefined);
    return p;
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
    for (const s of this.subs.splice(0)) s.unsubscribe();
    await Promise.allSettled([...this.active.values()].map((r) => this.finish(r, 'done')));
  }
}
