import { randomBytes } from 'node:crypto';
import type { NatsConnection } from '@nats-io/transport-node';
import { jetstreamManager } from '@nats-io/jetstream';
import type { KV, KvWatchEntry } from '@nats-io/kv';
import type { QueuedIterator } from '@nats-io/nats-core';
import { createLogger, type Logger } from '@vidchat/service-kit';
import {
  decodeAnnounce,
  decodeLease,
  encodeAnnounce,
  encodeLease,
  MIXER_ANNOUNCE_KEY_PREFIX as MIXER_KEY_PREFIX,
  MIXER_LEASE_BUCKET,
  mixerAnnounceKey as mixerKey,
  ROOM_LEASE_KEY_PREFIX as ROOM_KEY_PREFIX,
  roomLeaseKey as roomKey,
  type LeaseValue,
  type MixerAnnounce,
} from '@vidchat/protocol';
import { openLeaseBucket, refusedOnRevision } from './kv-bucket.js';
import { rankMixers } from './rendezvous.js';

export { refusedOnRevision };

/*
 * Room leases in a JetStream key-value bucket: each room is mixed by exactly
 * one live mixer.
 *
 * Why the lapse is decided by each mixer's own clock, not by the server
 * expiring keys: per-key TTLs need nats-server 2.11 (Debian ships 2.9), and a
 * bucket-wide max_age would throw away the lapsed lease's value, which the
 * next owner needs to continue the mix's sequence numbers. So:
 *
 *  - The holder renews its lease every ttl/4 with `update(key, value,
 *    revision)`. It may publish only until `sent + ttl - margin`, where
 *    `sent` is when it sent its last successful renewal (margin = ttl/4).
 *    A renewal refused on the revision (another mixer wrote the key) ends
 *    the lease at once. A renewal that gets no answer (timeout, no stream
 *    leader, node gone) does not: the holder keeps publishing until that
 *    same deadline of its last successful renewal, then stops publishing
 *    but keeps the room's mix running and keeps retrying every ttl/8 with
 *    the revision it wrote last. The first renewal that succeeds (a new
 *    stream leader, often before the deadline) makes it publish again;
 *    a refusal ends the lease. Why this is as safe as giving up: safety
 *    only ever rests on the deadline of the last *successful* renewal,
 *    which a failed one does not move. Why not keep publishing past that
 *    deadline while the bucket is unavailable: "no answer" says nothing
 *    about what other mixers can do. A holder on a node cut off from the
 *    stream leader (a minority side, or a route down between its node and
 *    the leader's only) times out while a mixer on the majority side, which
 *    sees the lease unchanged for a whole TTL, wins the revision and
 *    publishes; the holder's packets still reach every node its own node
 *    has a route to, so viewers there would hear the room twice.
 *  - Every mixer watches the bucket and notes, on its own monotonic clock,
 *    when it first saw each revision. A lease whose revision has not changed
 *    for a whole ttl has lapsed: its holder's last renewal was sent before
 *    that revision was seen, so the holder stopped publishing at least
 *    `margin` earlier. Only then does a mixer try `update(key, value,
 *    revision)` with the revision it saw; the revision check lets exactly
 *    one contender win, and the same check makes a late renewal of the old
 *    holder fail.
 *  - A mixer that stops gives its rooms up by writing `released: true`
 *    (with its revision), keeping seq and time for the next owner, who may
 *    take the room at once.
 *  - Rendezvous hashing over the live, not-full mixers (announced under
 *    `mixer.<id>`, renewed with the leases) says who tries first; the mixer
 *    ranked k-th waits k × takeover delay more, so that rooms spread and
 *    contenders rarely collide. A mixer at `--max-rooms` takes no more.
 * The bucket's max_age only collects keys of rooms and mixers long gone.
 * Safety rests on revisions and on elapsed time measured by one process; a
 * stale watch only delays a takeover (its attempt fails on the revision).
 */

/** The bucket (its name, keys and values are in libs/protocol, mixer-lease.ts). */
export const LEASE_BUCKET = MIXER_LEASE_BUCKET;
/** Renewals per TTL. */
export const RENEWALS_PER_TTL = 4;
/** The holder stops publishing this fraction of the TTL before a lapse could be declared. */
export const SAFETY_MARGIN_FRACTION = 0.25;
/** Keys untouched this many TTLs (and at least GC_MIN_MS) are removed by the server. */
export const GC_TTLS = 30;
export const GC_MIN_MS = 60_000;

export interface RoomLeaseOptions {
  ttlMs: number;
  takeoverDelayMs: number;
  replicas: number;
  maxRooms: number;
  /** Instance id (random when not given). */
  instanceId?: string;
}

export interface LeaseHooks {
  /** The lease on `room` was won; `prev` is the last holder's value (null for a new room). */
  acquired(room: string, prev: LeaseValue | null): void;
  /** The lease on `room` ended without a release: stop publishing now. */
  lost(room: string): void;
  /** The next mix sequence number of `room`, stored with each renewal. */
  nextSeq(room: string): number;
}

interface Seen {
  revision: number;
  operation: KvWatchEntry['operation'];
  lease: LeaseValue | null;
  announce: MixerAnnounce | null;
  /** performance.now() when this revision was first seen. */
  seenAt: number;
}

interface Held {
  revision: number;
  /** performance.now() after which the holder must not publish. */
  validUntil: number;
  /** performance.now() of the first of the renewals that got no answer in a row (null: the last one succeeded). */
  failingSince: number | null;
  /** True once validUntil passed without a renewal: the room is not published until one succeeds. */
  suspended: boolean;
}

export type LeaseOpenResult = { leases: RoomLeases } | { leases: null; reason: string };

export class RoomLeases {
  readonly id: string;
  private readonly log: Logger = createLogger('lease');
  private readonly seen = new Map<string, Seen>();
  private readonly held = new Map<string, Held>();
  /** Rooms with microphones, and since when this mixer knows it (performance.now()). */
  private readonly wanted = new Map<string, number>();
  private readonly busy = new Set<string>();
  private readonly retryAt = new Map<string, number>();
  private watcher: QueuedIterator<KvWatchEntry> | null = null;
  private timer: ReturnType<typeof setInterval> | null = null;
  private lastRenew = -Infinity;
  private renewing = false;
  private closed = false;
  takeovers = 0;
  /** Leases kept through a bucket outage that outlasted their validity (renewed again afterwards). */
  resumed = 0;

  private constructor(
    private readonly kv: KV,
    private readonly opts: RoomLeaseOptions,
    private readonly hooks: LeaseHooks,
  ) {
    this.id = opts.instanceId ?? `mixer-${randomBytes(4).toString('hex')}`;
    mixerKey(this.id);
  }

  /**
   * Opens (or creates) the bucket and starts watching it. Resolves with no
   * leases, and the reason, when the broker has no JetStream.
   */
  static async open(nc: NatsConnection, opts: RoomLeaseOptions, hooks: LeaseHooks): Promise<LeaseOpenResult> {
    // Requests time out at half the TTL: a renewal stuck on a dead node is
    // retried (renewals go one at a time) while a slow answer, still useful
    // until its send time plus 3/4 TTL, is waited for.
    const opened = await openLeaseBucket(nc, LEASE_BUCKET, {
      maxAgeMs: Math.max(GC_MIN_MS, GC_TTLS * opts.ttlMs),
      replicas: opts.replicas,
      timeoutMs: Math.max(500, Math.round(opts.ttlMs / 2)),
      log: createLogger('lease'),
    });
    if (!opened.kv) return { leases: null, reason: opened.reason };
    const kv = opened.kv;
    await RoomLeases.checkReplicas(nc, opts.replicas);
    const leases = new RoomLeases(kv, opts, hooks);
    await leases.start();
    return { leases };
  }

  /**
   * A bucket with fewer replicas than asked for (made by a mixer without
   * --lease-replicas) is scaled up, never down; one replica on a cluster is
   * worth a warning: its node's loss stops every room until it is back.
   */
  private static async checkReplicas(nc: NatsConnection, wanted: number): Promise<void> {
    const log = createLogger('lease');
    const stream = `KV_${LEASE_BUCKET}`;
    try {
      const jsm = await jetstreamManager(nc, { timeout: 5_000 });
      const si = await jsm.streams.info(stream);
      let replicas = si.config.num_replicas;
      if (replicas < wanted) {
        await jsm.streams.update(stream, { ...si.config, num_replicas: wanted });
        log.warn('lease bucket scaled up', { from: replicas, to: wanted });
        replicas = wanted;
      }
      if (replicas < 3 && nc.info?.cluster) {
        log.warn('lease bucket has fewer than 3 replicas on a NATS cluster: set --lease-replicas 3', {
          replicas,
          cluster: nc.info.cluster,
        });
      }
    } catch (err) {
      log.warn('lease bucket replicas not checked', { error: (err as Error).message });
    }
  }

  private async start(): Promise<void> {
    this.watcher = await this.kv.watch({ key: '>' });
    void this.consume(this.watcher);
    await this.announce();
    const evalMs = Math.max(10, Math.round(this.opts.ttlMs / (2 * RENEWALS_PER_TTL)));
    this.timer = setInterval(() => this.step(), evalMs);
    this.log.info('leases on', {
      id: this.id,
      bucket: LEASE_BUCKET,
      ttlMs: this.opts.ttlMs,
      takeoverDelayMs: this.opts.takeoverDelayMs,
      replicas: this.opts.replicas,
    });
  }

  private async consume(w: QueuedIterator<KvWatchEntry>): Promise<void> {
    try {
      for await (const e of w) this.onEntry(e);
    } catch (err) {
      if (!this.closed) this.log.warn('lease watch ended', { error: (err as Error).message });
    }
  }

  private onEntry(e: KvWatchEntry): void {
    const prev = this.seen.get(e.key);
    if (prev && prev.revision === e.revision) return;
    const isRoom = e.key.startsWith(ROOM_KEY_PREFIX);
    const put = e.operation === 'PUT';
    const s: Seen = {
      revision: e.revision,
      operation: e.operation,
      lease: put && isRoom ? decodeLease(e.value) : null,
      announce: put && e.key.startsWith(MIXER_KEY_PREFIX) ? decodeAnnounce(e.value) : null,
      seenAt: performance.now(),
    };
    this.seen.set(e.key, s);
    if (!isRoom) return;
    const room = e.key.slice(ROOM_KEY_PREFIX.length);
    // Someone else wrote our room's key: our lease is over, whatever our timer says.
    if (this.held.has(room) && s.lease?.owner !== this.id) this.lose(room, 'another mixer wrote the lease');
  }

  /** Rooms this mixer holds a lease on. */
  heldRooms(): string[] {
    return [...this.held.keys()];
  }

  /**
   * True while this mixer holds `room`'s lease, published or not: a lease
   * whose renewals get no answer is held (not published) until a renewal
   * succeeds or is refused.
   */
  holds(room: string): boolean {
    return this.held.has(room);
  }

  /** True while this mixer may publish `room`: it holds a lease renewed within TTL minus the margin. */
  mayPublish(room: string): boolean {
    const h = this.held.get(room);
    return h !== undefined && performance.now() < h.validUntil;
  }

  /** The room has microphones: try to get its lease. */
  want(room: string): void {
    if (!this.wanted.has(room)) this.wanted.set(room, performance.now());
  }

  /** The room has no more microphones: give its lease up. */
  unwant(room: string): void {
    this.wanted.delete(room);
    this.retryAt.delete(room);
    if (this.held.has(room)) void this.release(room);
  }

  private step(): void {
    if (this.closed) return;
    const now = performance.now();
    let failing = false;
    for (const [room, h] of this.held) {
      if (h.failingSince !== null) failing = true;
      if (now >= h.validUntil && !h.suspended) {
        h.suspended = true;
        this.log.warn('lease not renewed in time: room not published until a renewal succeeds', { room });
      }
    }
    // While renewals get no answer, retry twice as often: the first that
    // succeeds (a new stream leader) lets the room be published again.
    const every = this.opts.ttlMs / (failing ? 2 * RENEWALS_PER_TTL : RENEWALS_PER_TTL);
    if (now - this.lastRenew >= every && !this.renewing) {
      this.lastRenew = now;
      this.renewing = true;
      void this.renewAll().finally(() => {
        this.renewing = false;
      });
    }
    for (const room of this.wanted.keys()) {
      if (!this.held.has(room) && !this.busy.has(room)) this.consider(room, now);
    }
  }

  private liveMixers(now: number): string[] {
    const live = [this.id];
    for (const [key, s] of this.seen) {
      if (!key.startsWith(MIXER_KEY_PREFIX) || !s.announce || s.announce.id === this.id) continue;
      if (s.announce.full || now - s.seenAt >= this.opts.ttlMs) continue;
      live.push(s.announce.id);
    }
    return live;
  }

  private consider(room: string, now: number): void {
    const key = roomKey(room);
    if (key === null) return;
    if ((this.retryAt.get(room) ?? 0) > now) return;
    if (this.held.size >= this.opts.maxRooms) return;
    const s = this.seen.get(key);
    const since = this.wanted.get(room) ?? now;
    let freeSince: number;
    if (!s || s.operation !== 'PUT') freeSince = Math.max(since, s?.seenAt ?? 0);
    else if (s.lease?.released) freeSince = s.seenAt;
    else freeSince = s.seenAt + this.opts.ttlMs;
    const rank = rankMixers(room, this.liveMixers(now)).indexOf(this.id);
    if (now < freeSince + rank * this.opts.takeoverDelayMs) return;
    this.busy.add(room);
    void this.acquire(room, key, s).finally(() => this.busy.delete(room));
  }

  private async acquire(room: string, key: string, s: Seen | undefined): Promise<void> {
    const prev = s?.operation === 'PUT' ? s.lease : null;
    const value = encodeLease({ owner: this.id, seq: 0, atMs: Date.now(), released: false });
    const sent = performance.now();
    let revision: number;
    try {
      revision =
        s?.operation === 'PUT' ? await this.kv.update(key, value, s.revision) : await this.kv.create(key, value);
    } catch (err) {
      this.retryAt.set(room, performance.now() + this.opts.ttlMs / RENEWALS_PER_TTL);
      this.log.debug('lease not won', { room, error: (err as Error).message });
      return;
    }
    if (this.closed || !this.wanted.has(room)) {
      this.held.set(room, { revision, validUntil: 0, failingSince: null, suspended: true });
      await this.release(room);
      return;
    }
    this.held.set(room, { revision, validUntil: this.validUntil(sent), failingSince: null, suspended: false });
    if (prev && !prev.released) this.takeovers++;
    this.log.info('lease won', {
      room,
      from: prev?.owner ?? null,
      takeover: prev !== null && !prev.released,
      revision,
    });
    this.hooks.acquired(room, prev);
  }

  private validUntil(sent: number): number {
    return sent + this.opts.ttlMs * (1 - SAFETY_MARGIN_FRACTION);
  }

  private lose(room: string, reason: string): void {
    if (!this.held.delete(room)) return;
    this.log.warn('lease lost: room no longer mixed here', { room, reason });
    this.hooks.lost(room);
  }

  private async renewAll(): Promise<void> {
    const jobs: Promise<void>[] = [this.announce()];
    for (const room of this.held.keys()) jobs.push(this.renew(room));
    await Promise.all(jobs);
  }

  private async renew(room: string): Promise<void> {
    const h = this.held.get(room);
    const key = roomKey(room);
    if (!h || key === null) return;
    const value: LeaseValue = { owner: this.id, seq: this.hooks.nextSeq(room), atMs: Date.now(), released: false };
    const sent = performance.now();
    try {
      const revision = await this.kv.update(key, encodeLease(value), h.revision);
      if (this.held.get(room) !== h) return;
      h.revision = revision;
      h.validUntil = this.validUntil(sent);
      if (h.suspended) {
        this.resumed++;
        this.log.warn('lease renewed after an outage: room published again', {
          room,
          outageMs: Math.round(performance.now() - (h.failingSince ?? sent)),
        });
      } else if (h.failingSince !== null) {
        this.log.info('lease renewed after failed renewals, in time', {
          room,
          failingMs: Math.round(performance.now() - h.failingSince),
        });
      }
      h.failingSince = null;
      h.suspended = false;
    } catch (err) {
      if (this.held.get(room) !== h) return;
      if (refusedOnRevision(err)) {
        // A renewal that timed out may have been stored all the same: if the
        // key's latest revision is still our own write, nobody wrote since
        // and the lease is ours; take that revision (the deadline stays that
        // of the last renewal answered: only a new success moves it).
        const ours = await this.latestOwnRevision(key);
        if (ours !== null && this.held.get(room) === h) {
          h.revision = ours;
          h.failingSince ??= sent;
          this.log.info('lease renewal refused on a revision of our own (an unanswered renewal was stored)', {
            room,
            revision: ours,
          });
          return;
        }
        if (this.held.get(room) === h) this.lose(room, `renewal refused: ${(err as Error).message}`);
        return;
      }
      // No answer (no stream leader, timeout, our node gone): keep the lease
      // and retry; publishing still ends at the last successful renewal's deadline.
      if (h.failingSince === null) {
        h.failingSince = sent;
        this.log.info('lease renewal got no answer: retrying', { room, error: (err as Error).message });
      } else {
        this.log.debug('lease renewal got no answer', { room, error: (err as Error).message });
      }
    }
  }

  /** The key's latest revision when its value is a lease of this mixer's, else null (or on any failure). */
  private async latestOwnRevision(key: string): Promise<number | null> {
    try {
      const e = await this.kv.get(key);
      if (!e || e.operation !== 'PUT') return null;
      const lease = decodeLease(e.value);
      return lease && lease.owner === this.id && !lease.released ? e.revision : null;
    } catch {
      return null;
    }
  }

  private async announce(): Promise<void> {
    const a: MixerAnnounce = { id: this.id, rooms: this.held.size, full: this.held.size >= this.opts.maxRooms };
    try {
      await this.kv.put(mixerKey(this.id), encodeAnnounce(a));
    } catch (err) {
      this.log.debug('announce failed', { error: (err as Error).message });
    }
  }

  /** Gives a held lease up, keeping the mix's position for the next owner. */
  private async release(room: string): Promise<void> {
    const h = this.held.get(room);
    const key = roomKey(room);
    if (!h || key === null) return;
    this.held.delete(room);
    const value: LeaseValue = { owner: this.id, seq: this.hooks.nextSeq(room), atMs: Date.now(), released: true };
    try {
      await this.kv.update(key, encodeLease(value), h.revision);
      this.log.info('lease released', { room });
    } catch (err) {
      this.log.debug('release failed (the lease lapses instead)', { room, error: (err as Error).message });
    }
  }

  /** Releases every lease and withdraws the announcement; the caller stops publishing first. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.timer) clearInterval(this.timer);
    await Promise.all([...this.held.keys()].map((room) => this.release(room)));
    await this.kv.delete(mixerKey(this.id)).catch(() => undefined);
    this.watcher?.stop();
  }
}
