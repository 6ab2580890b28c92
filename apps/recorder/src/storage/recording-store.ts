import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { Readable } from 'node:stream';
import type { NatsConnection } from '@nats-io/transport-node';
import { jetstream } from '@nats-io/jetstream';
import { Objm, StorageType, type ObjectInfo, type ObjectStore } from '@nats-io/obj';
import {
  parseRecordingObjectName,
  recordingObjectName,
  RECORDING_STATES,
  type RecordingInfo,
  type RecordingState,
} from '@vidchat/protocol';
import type { Logger } from '@vidchat/service-kit';

/*
 * Finished recordings live in one JetStream object store bucket, so that any
 * gateway can list and serve them. Each object is `<room>/<id>.mp4`; its
 * metadata carries what the list shows (state, start, duration). The bucket
 * is created with the configured limits (max_bytes, ttl); when a new file
 * does not fit, the oldest recordings go first.
 */
/**
 * Time a JetStream API call (bucket status, list, one chunk's ack) may take.
 * The client's default of 5 s is short for a broker on a busy machine, and a
 * list that times out is an error for the person asking.
 */
export const JETSTREAM_TIMEOUT_MS = 20_000;

export interface RecordingStoreOptions {
  bucket: string;
  maxTotalBytes: number;
  /** Copies of the bucket's stream when this recorder creates it (3 on a 3-node cluster). */
  replicas: number;
  /** Time to live of a recording, ms; 0 keeps them until the size limit deletes the oldest. */
  retentionMs: number;
  log: Logger;
}

export class StoreError extends Error {
  constructor(
    readonly code: 'ERR_STORE_UNAVAILABLE' | 'ERR_STORE_TOO_LARGE' | 'ERR_STORE_WRITE',
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'StoreError';
  }
}

function infoOf(o: ObjectInfo): RecordingInfo | null {
  const ids = parseRecordingObjectName(o.name);
  if (!ids || o.deleted) return null;
  const m = o.metadata ?? {};
  const state = (RECORDING_STATES as readonly string[]).includes(m['state'] ?? '')
    ? (m['state'] as RecordingState)
    : 'done';
  const num = (k: string): number => {
    const n = Number(m[k]);
    return Number.isSafeInteger(n) && n >= 0 ? n : 0;
  };
  return {
    id: ids.id,
    room: ids.room,
    state,
    startedAt: num('startedAt'),
    durationMs: num('durationMs'),
    bytes: o.size,
    object: o.name,
  };
}

export class RecordingStore {
  private store: ObjectStore | null = null;

  constructor(
    private readonly nc: NatsConnection,
    private readonly o: RecordingStoreOptions,
  ) {}

  get bucket(): string {
    return this.o.bucket;
  }

  /** Opens the bucket, creating it with the configured limits when it does not exist yet. */
  async open(): Promise<void> {
    const objm = new Objm(jetstream(this.nc, { timeout: JETSTREAM_TIMEOUT_MS }));
    const limits = {
      storage: StorageType.File,
      max_bytes: this.o.maxTotalBytes,
      replicas: this.o.replicas,
      ...(this.o.retentionMs > 0 ? { ttl: this.o.retentionMs * 1_000_000 } : {}),
      description: 'vidchat recordings (one MP4 per recording)',
    };
    try {
      this.store = await objm.create(this.o.bucket, limits);
    } catch (err) {
      // An existing bucket made with other limits: use it as it is, and say so.
      this.o.log.warn('recordings bucket exists with other limits: using it unchanged', {
        bucket: this.o.bucket,
        error: (err as Error).message,
      });
      try {
        this.store = await objm.open(this.o.bucket);
      } catch (cause) {
        throw new StoreError(
          'ERR_STORE_UNAVAILABLE',
          `cannot open object store bucket ${this.o.bucket}: is JetStream enabled?`,
          { cause },
        );
      }
    }
    const replicas = await this.replicas();
    if (replicas !== null && replicas < this.o.replicas) {
      // Not changed here (the recorder's NATS user may not update streams): say how.
      this.o.log.warn('recordings bucket has fewer replicas than asked for: change it with `nats stream edit`', {
        bucket: this.o.bucket,
        replicas,
        wanted: this.o.replicas,
      });
    }
    this.o.log.info('recordings bucket open', {
      bucket: this.o.bucket,
      replicas,
      maxBytes: this.o.maxTotalBytes,
      retentionMs: this.o.retentionMs,
    });
  }

  /** Replicas of the bucket's stream, null when the server does not say. */
  async replicas(): Promise<number | null> {
    try {
      const status = await this.s.status();
      return status.replicas;
    } catch {
      return null;
    }
  }

  private get s(): ObjectStore {
    if (!this.store) throw new StoreError('ERR_STORE_UNAVAILABLE', 'recordings bucket not open');
    return this.store;
  }

  /** Every stored recording of `room` (all rooms when null), newest first. */
  async list(room: string | null): Promise<RecordingInfo[]> {
    const all = await this.s.list();
    return all
      .map(infoOf)
      .filter((r): r is RecordingInfo => r !== null && (room === null || r.room === room))
      .sort((a, b) => b.startedAt - a.startedAt);
  }

  /** Uploads a finished MP4 (streamed from disk), making room by deleting the oldest recordings first. */
  async put(info: RecordingInfo, file: string): Promise<RecordingInfo> {
    const { size } = await stat(file);
    if (size > this.o.maxTotalBytes) {
      throw new StoreError(
        'ERR_STORE_TOO_LARGE',
        `recording of ${size} bytes exceeds --max-total-bytes ${this.o.maxTotalBytes}`,
      );
    }
    await this.makeRoom(size);
    const name = recordingObjectName(info.room, info.id);
    try {
      const stored = await this.s.put(
        {
          name,
          description: `recording of room ${info.room}`,
          metadata: {
            room: info.room,
            state: info.state,
            startedAt: String(info.startedAt),
            durationMs: String(info.durationMs),
          },
        },
        Readable.toWeb(createReadStream(file)) as ReadableStream<Uint8Array>,
      );
      this.o.log.info('recording stored', { bucket: this.o.bucket, object: name, bytes: stored.size });
      return { ...info, bytes: stored.size, object: name };
    } catch (cause) {
      throw new StoreError('ERR_STORE_WRITE', `could not store ${name}: ${(cause as Error).message}`, { cause });
    }
  }

  /** Deletes the oldest recordings until `bytes` more fit under max_bytes (with room for chunk headers). */
  private async makeRoom(bytes: number): Promise<void> {
    const status = await this.s.status();
    let used = status.size;
    const headroom = Math.ceil(bytes * 1.02) + 64 * 1024;
    if (used + headroom <= this.o.maxTotalBytes) return;
    const oldestFirst = (await this.list(null)).reverse();
    for (const r of oldestFirst) {
      if (used + headroom <= this.o.maxTotalBytes || !r.object) break;
      await this.s.delete(r.object);
      used -= r.bytes;
      this.o.log.info('oldest recording deleted to make room', { object: r.object, bytes: r.bytes });
    }
  }
}
