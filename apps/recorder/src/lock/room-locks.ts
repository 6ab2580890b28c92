import { randomBytes } from 'node:crypto';
import type { NatsConnection } from '@nats-io/transport-node';
import type { KV, KvEntry } from '@nats-io/kv';
import { openLeaseBucket, refusedOnRevision } from '@vidchat/mixer';
import {
  decodeRecorderLock,
  encodeRecorderLock,
  RECORDER_LOCK_BUCKET,
  recorderLockKey,
  RecordingRequestError,
  type RecorderLock,
} from '@vidchat/protocol';
import { createLogger } from '@vidchat/service-kit';

/*
 * One recorder per room across every recorder on the NATS: a lock per room
 * in the key-value bucket `vidchat-recorder-locks` (keys and values in
 * libs/protocol, recorder-lock.ts), the way the mixers share rooms
 * (apps/mixer/src/lease, whose bucket opening and revision check this
 * reuses).
 *
 *  - A start wins the room with `create(key)`: the bucket refuses a second
 *    create of a key that exists, so of any number of simultaneous starts on
 *    any number of recorders exactly one wins; the others answer
 *    `already-recording`.
 *  - The holder renews the lock every ttl/4 with `update(key, value,
 *    revision)` while it records, and deletes it (checked against its
 *    revision) when the recording ends, however it ends.
 *  - A recorder that dies stops renewing. nats-server 2.9 has no per-key
 *    TTL, so the lapse is judged by each reader on its own monotonic clock:
 *    every recorder watches the bucket and notes when it first saw each
 *    revision; a lock whose revision has not changed for a whole TTL has
 *    lapsed, and a start may then take it with `update(key, value, revision
 *    seen)`: the revision check lets one contender win, and makes a late
 *    renewal of the old holder fail.
 *  - A holder whose renewal is refused (another recorder took the room after
 *    its renewals had gone unanswered for a whole TTL) has lost the room:
 *    `onLost` ends its recording. Renewals that get no answer are retried;
 *    the recording goes on meanwhile.
 * A recorder that just started has seen every existing lock "now", so it
 * waits a whole TTL before taking a lapsed one over: safe, at worst late.
 */

/** Renewals per TTL. */
export const LOCK_RENEWALS_PER_TTL = 4;
/** Keys untouched this many TTLs (and at least LOCK_GC_MIN_MS) are removed by the server. */
const LOCK_GC_TTLS = 30;
const LOCK_GC_MIN_MS = 60_000;

export interface RoomLockOptions {
  ttlMs: number;
  replicas: number;
  /** Instance id (random when not given). */
  instanceId?: string;
  /** The lock on `room` went to another recorder: stop recording it. */
  onLost(room: string, reason: string): void;
}

type Watch = Awaited<ReturnType<KV['watch']>>;

interface Seen {
  revision: number;
  put: boolean;
  /** performance.now() when this revision was first seen. */
  seenAt: number;
}

interface Held {
  revision: number;
  recording: string;
}

export class RoomLocks {
  readonly id: string;
  private readonly log = createLogger('lock');
  private readonly seen = new Map<string, Seen>();
  private readonly held = new Map<string, Held>();
  private watcher: Watch | null = null;
  private timer: ReturnType<typeof setInterval> | null = null;
  private renewing = false;
  private closed = false;
  takeovers = 0;

  private constructor(
    private readonly kv: KV,
    private readonly o: RoomLockOptions,
  ) {
    this.id = o.instanceId ?? `recorder-${randomBytes(4).toString('hex')}`;
  }

  /** Opens (or creates) the lock bucket and starts watching it; throws when the broker has no JetStream. */
  static async open(nc: NatsConnection, o: RoomLockOptions): Promise<RoomLocks> {
    const opened = await openLeaseBucket(nc, RECORDER_LOCK_BUCKET, {
      maxAgeMs: Math.max(LOCK_GC_MIN_MS, LOCK_GC_TTLS * o.ttlMs),
      replicas: o.replicas,
      timeoutMs: Math.max(500, Math.round(o.ttlMs / 2)),
      log: createLogger('lock'),
    });
    if (!opened.kv) throw new Error(`room lock bucket ${RECORDER_LOCK_BUCKET}: no JetStream (${opened.reason})`);
    const locks = new RoomLocks(opened.kv, o);
    await locks.start();
    return locks;
  }

  private async start(): Promise<void> {
    this.watcher = await this.kv.watch({ key: '>' });
    void this.consume(this.watcher);
    this.timer = setInterval(() => this.renewAll(), Math.max(10, Math.round(this.o.ttlMs / LOCK_RENEWALS_PER_TTL)));
    this.log.info('room locks on', { id: this.id, bucket: RECORDER_LOCK_BUCKET, ttlMs: this.o.ttlMs });
  }

  private async consume(w: Watch): Promise<void> {
    try {
      for await (const e of w) this.note(e);
    } catch (err) {
      if (!this.closed) this.log.warn('lock watch ended', { error: (err as Error).message });
    }
  }

  /** Notes a key's revision (from the watch or a get); a newer write of a key we hold by anyone else loses it. */
  private note(e: KvEntry): Seen {
    const prev = this.seen.get(e.key);
    if (prev && prev.revision >= e.revision) return prev;
    const s: Seen = { revision: e.revision, put: e.operation === 'PUT', seenAt: performance.now() };
    this.seen.set(e.key, s);
    for (const [room, h] of this.held) {
      if (recorderLockKey(room) !== e.key || e.revision <= h.revision) continue;
      const lock = s.put ? decodeRecorderLock(e.value) : null;
      if (lock?.owner !== this.id || lock.recording !== h.recording) this.lose(room, 'another recorder wrote the lock');
    }
    return s;
  }

  private lapsed(s: Seen): boolean {
    return performance.now() - s.seenAt >= this.o.ttlMs;
  }

  private value(recording: string): Uint8Array {
    return encodeRecorderLock({ owner: this.id, recording, atMs: Date.now() });
  }

  private static key(room: string): string {
    const key = recorderLockKey(room);
    if (key === null) throw new RecordingRequestError('bad-room', `room ${JSON.stringify(room)} is not a valid id`);
    return key;
  }

  /**
   * The live lock of `room` (read from the bucket now), or null when the
   * room is free or its lock has lapsed. Throws `internal` when the bucket
   * does not answer.
   */
  async holder(room: string): Promise<RecorderLock | null> {
    const key = RoomLocks.key(room);
    let e: KvEntry | null;
    try {
      e = await this.kv.get(key);
    } catch (err) {
      throw new RecordingRequestError('internal', `room lock bucket did not answer: ${(err as Error).message}`, {
        cause: err,
      });
    }
    if (!e) return null;
    const s = this.note(e);
    if (!s.put || this.lapsed(s)) return null;
    // A value that does not decode is someone else's live lock all the same.
    return (e.operation === 'PUT' ? decodeRecorderLock(e.value) : null) ?? { owner: '?', recording: '?', atMs: 0 };
  }

  /**
   * Takes `room`'s lock for `recording`, or throws `already-recording` when
   * another start holds it (on any recorder, this one included) and
   * `internal` when the bucket does not answer.
   */
  async acquire(room: string, recording: string): Promise<void> {
    const key = RoomLocks.key(room);
    const busy = (lock: RecorderLock | null): RecordingRequestError =>
      new RecordingRequestError(
        'already-recording',
        `room ${room} is already being recorded` +
          (lock ? ` (${lock.recording}, recorder ${lock.owner})` : ' (by another start)'),
      );
    let revision: number;
    let takeover = false;
    try {
      const e = await this.kv.get(key);
      const s = e ? this.note(e) : undefined;
      if (!e || !s?.put) {
        revision = await this.kv.create(key, this.value(recording));
      } else if (!this.lapsed(s)) {
        throw busy(e.operation === 'PUT' ? decodeRecorderLock(e.value) : null);
      } else {
        takeover = true;
        revision = await this.kv.update(key, this.value(recording), s.revision);
      }
    } catch (err) {
      if (err instanceof RecordingRequestError) throw err;
      if (refusedOnRevision(err)) throw busy(null);
      throw new RecordingRequestError('internal', `room lock bucket did not answer: ${(err as Error).message}`, {
        cause: err,
      });
    }
    this.held.set(room, { revision, recording });
    if (takeover) {
      this.takeovers++;
      this.log.warn('lapsed room lock taken over (its recorder stopped renewing it)', { room, recording });
    }
    this.log.debug('room lock won', { room, recording, revision });
  }

  /** Gives `room`'s lock up (deleted, checked against our revision); a failure leaves it to lapse. */
  async release(room: string): Promise<void> {
    const h = this.held.get(room);
    if (!h) return;
    this.held.delete(room);
    try {
      await this.kv.delete(RoomLocks.key(room), { previousSeq: h.revision });
      this.log.debug('room lock released', { room, recording: h.recording });
    } catch (err) {
      this.log.warn('room lock not released (it lapses instead)', { room, error: (err as Error).message });
    }
  }

  /** True while this recorder holds `room`'s lock. */
  holds(room: string): boolean {
    return this.held.has(room);
  }

  private lose(room: string, reason: string): void {
    if (!this.held.delete(room)) return;
    this.log.warn('room lock lost: another recorder records the room', { room, reason });
    this.o.onLost(room, reason);
  }

  private renewAll(): void {
    if (this.closed || this.renewing || this.held.size === 0) return;
    this.renewing = true;
    void Promise.all([...this.held.keys()].map((room) => this.renew(room))).finally(() => {
      this.renewing = false;
    });
  }

  private async renew(room: string): Promise<void> {
    const h = this.held.get(room);
    if (!h) return;
    const key = RoomLocks.key(room);
    try {
      const revision = await this.kv.update(key, this.value(h.recording), h.revision);
      if (this.held.get(room) === h) h.revision = Math.max(h.revision, revision);
    } catch (err) {
      if (this.held.get(room) !== h) return;
      if (!refusedOnRevision(err)) {
        // No answer: retried at the next tick; the lock lapses for the others only after a whole TTL unchanged.
        this.log.info('room lock renewal got no answer: retrying', { room, error: (err as Error).message });
        return;
      }
      // A renewal that timed out may have been stored all the same: if the
      // latest value is still ours, nobody wrote since and the lock is ours.
      const e = await this.kv.get(key).catch(() => null);
      const lock = e?.operation === 'PUT' ? decodeRecorderLock(e.value) : null;
      if (e && lock?.owner === this.id && lock.recording === h.recording) {
        if (this.held.get(room) === h) h.revision = e.revision;
        return;
      }
      this.lose(room, `renewal refused: ${(err as Error).message}`);
    }
  }

  /** Stops renewing and watching (release the held locks first: the recordings end before this). */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.timer) clearInterval(this.timer);
    await Promise.all([...this.held.keys()].map((room) => this.release(room)));
    this.watcher?.stop();
  }
}
