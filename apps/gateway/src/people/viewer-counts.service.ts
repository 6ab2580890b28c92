import { randomUUID } from 'node:crypto';
import { Inject, Injectable, type BeforeApplicationShutdown } from '@nestjs/common';
import {
  decodeViewerCountReport,
  encodeViewerCountReport,
  ProtocolError,
  viewersSubject,
  type ViewerCountReport,
  type ViewersMessage,
} from '@vidchat/protocol';
import { createLogger } from '@vidchat/service-kit';
import { GATEWAY_CONFIG, type GatewayConfig } from '../config.js';
import { GatewayMetrics } from '../metrics/gateway-metrics.js';
import { NatsBus, type BusSubscription } from '../nats/nats-bus.js';
import { Coalescer } from './coalescer.js';

/** A report holds for this many heartbeats: a gateway is forgotten after that many missed. */
export const VIEWER_COUNT_TTL_HEARTBEATS = 3;
/** Other gateways' reports kept per room at most; more are counted and dropped. */
export const MAX_GATEWAYS_PER_ROOM = 1_000;

/** What a member of a room (a viewer session) receives: the room's total, on every gateway. */
export interface ViewerCountListener {
  onViewerCount(msg: ViewersMessage): void;
}

interface Remote {
  count: number;
  /** `performance.now()` after which the report is forgotten. */
  expiresAt: number;
}

const log = createLogger('gateway.viewers.count');

/** One room served here: its members, this gateway's count, the other gateways' reports. */
class CountedRoom {
  /** Every socket joined to the room here, and whether it counts (watches without publishing). */
  readonly members = new Map<ViewerCountListener, boolean>();
  watching = 0;
  readonly remote = new Map<string, Remote>();
  /** The total last sent to the members; null before the first. */
  lastTotal: number | null = null;
  sub: BusSubscription | null = null;
  heartbeat: NodeJS.Timeout | null = null;
  expiry: NodeJS.Timeout | null = null;
  expiryAt = Infinity;

  constructor(
    readonly room: string,
    readonly publish: Coalescer,
    readonly broadcast: Coalescer,
  ) {}

  total(): number {
    let n = this.watching;
    for (const r of this.remote.values()) n += r.count;
    return n;
  }
}

/**
 * The number of people watching a room, across the gateways that serve it.
 *
 * Interest-based, like the room's media: a gateway subscribes to
 * `vidchat.viewers.<room>` and publishes its own count there only while it
 * has sockets joined to the room. It publishes at once when it starts
 * serving the room, then on every change (coalesced: at most one report per
 * `viewerCountIntervalMs`) and every `viewerCountHeartbeatMs`; each report
 * holds for three heartbeats, so a gateway that dies is forgotten after
 * three missed ones, and one that stops serving the room (its last viewer
 * left, or it shuts down) says goodbye (`ttl` 0). A report from a gateway
 * it did not know yet (one that just started serving the room) is answered
 * with its own count early, so a new gateway learns the total within about
 * one interval instead of one heartbeat.
 *
 * The room's members get the total after their join (to that one socket),
 * then when it changes, at most once per `viewerCountIntervalMs` for all:
 * a thousand viewers joining make a handful of broadcasts, not a thousand.
 */
@Injectable()
export class ViewerCounts implements BeforeApplicationShutdown {
  /** This gateway in the reports: random per process, so a restarted gateway is a new one. */
  readonly gatewayId = randomUUID();
  private readonly rooms = new Map<string, CountedRoom>();
  private readonly ttlMs: number;

  constructor(
    @Inject(GATEWAY_CONFIG) private readonly config: GatewayConfig,
    @Inject(NatsBus) private readonly bus: NatsBus,
    @Inject(GatewayMetrics) private readonly metrics: GatewayMetrics,
  ) {
    this.ttlMs = VIEWER_COUNT_TTL_HEARTBEATS * config.viewerCountHeartbeatMs;
  }

  /** The total of a room served here (tests, /healthz), or null when it is not. */
  total(room: string): number | null {
    return this.rooms.get(room)?.total() ?? null;
  }

  /**
   * Adds a socket joined to `room`; `watching` says whether it counts (it
   * does not publish). It is told the room's total at once and on every
   * change until the returned release is called.
   */
  join(room: string, member: ViewerCountListener, watching: boolean): () => void {
    const r = this.rooms.get(room) ?? this.serve(room);
    r.members.set(member, watching);
    if (watching) {
      r.watching++;
      r.publish.poke();
      r.broadcast.poke();
    }
    this.send(member, room, r.total());
    let released = false;
    return () => {
      if (released) return;
      released = true;
      r.members.delete(member);
      if (watching) r.watching--;
      if (r.members.size === 0) {
        this.stopServing(r);
        return;
      }
      if (watching) {
        r.publish.poke();
        r.broadcast.poke();
      }
    };
  }

  /** Says goodbye for the rooms still served (their viewers normally left already, in onModuleDestroy). */
  beforeApplicationShutdown(): void {
    for (const r of [...this.rooms.values()]) this.stopServing(r);
  }

  private serve(room: string): CountedRoom {
    const every = this.config.viewerCountIntervalMs;
    const r: CountedRoom = new CountedRoom(
      room,
      new Coalescer(every, () => this.publishOwn(r)),
      new Coalescer(every, () => this.broadcast(r)),
    );
    r.sub = this.bus.subscribe(viewersSubject(room), (msg) => this.onReport(r, msg.data));
    r.heartbeat = setInterval(() => this.publishOwn(r), this.config.viewerCountHeartbeatMs);
    r.heartbeat.unref();
    this.rooms.set(room, r);
    // At once: the other gateways learn of this one, and answer with their counts.
    r.publish.poke();
    log.debug('serving viewer counts', { room });
    return r;
  }

  private stopServing(r: CountedRoom): void {
    if (this.rooms.get(r.room) !== r) return;
    this.rooms.delete(r.room);
    r.sub?.unsubscribe();
    r.publish.stop();
    r.broadcast.stop();
    if (r.heartbeat) clearInterval(r.heartbeat);
    if (r.expiry) clearTimeout(r.expiry);
    this.report(r.room, 0, 0);
    log.debug('viewer counts of the room stopped', { room: r.room });
  }

  private publishOwn(r: CountedRoom): void {
    if (this.rooms.get(r.room) !== r) return;
    this.report(r.room, r.watching, this.ttlMs);
    // A heartbeat counts as the latest report: the next change still waits out the interval.
    r.publish.ran();
  }

  private report(room: string, count: number, ttl: number): void {
    const rec: ViewerCountReport = { v: 1, room, gateway: this.gatewayId, count, ttl, ts: Date.now() };
    if (this.bus.publish(viewersSubject(room), encodeViewerCountReport(rec))) this.metrics.viewerCountPublished.inc();
  }

  private onReport(r: CountedRoom, data: Uint8Array): void {
    let rep: ViewerCountReport;
    try {
      rep = decodeViewerCountReport(data);
      if (rep.room !== r.room) throw new ProtocolError('ERR_INVALID_MESSAGE', `a report for room ${rep.room}`);
    } catch (err) {
      if (!(err instanceof ProtocolError)) throw err;
      this.metrics.reject('viewer-count-garbage');
      log.debug('bad viewer count dropped', { room: r.room, error: err.message });
      return;
    }
    if (rep.gateway === this.gatewayId || this.rooms.get(r.room) !== r) return;
    if (rep.ttl === 0) {
      if (r.remote.delete(rep.gateway)) r.broadcast.poke();
      return;
    }
    const known = r.remote.has(rep.gateway);
    if (!known && r.remote.size >= MAX_GATEWAYS_PER_ROOM) {
      this.metrics.reject('viewer-count-garbage');
      log.debug('viewer count of one gateway too many dropped', { room: r.room, gateway: rep.gateway });
      return;
    }
    const expiresAt = performance.now() + rep.ttl;
    r.remote.set(rep.gateway, { count: rep.count, expiresAt });
    // A gateway new to the room: tell it this one's count without waiting for the heartbeat.
    if (!known) r.publish.poke();
    r.broadcast.poke();
    if (expiresAt < r.expiryAt) this.scheduleExpiry(r, expiresAt);
  }

  /** Forgets the reports whose time ran out, then waits for the next one to. */
  private expire(r: CountedRoom): void {
    r.expiry = null;
    r.expiryAt = Infinity;
    if (this.rooms.get(r.room) !== r) return;
    const now = performance.now();
    let next = Infinity;
    for (const [gateway, rem] of r.remote) {
      if (rem.expiresAt <= now) {
        r.remote.delete(gateway);
        r.broadcast.poke();
        log.debug('viewer count expired: the gateway missed its heartbeats', { room: r.room, gateway });
      } else {
        next = Math.min(next, rem.expiresAt);
      }
    }
    if (next !== Infinity) this.scheduleExpiry(r, next);
  }

  private scheduleExpiry(r: CountedRoom, at: number): void {
    if (r.expiry) clearTimeout(r.expiry);
    r.expiryAt = at;
    // A little after: the timer must not fire before the report is due.
    r.expiry = setTimeout(() => this.expire(r), Math.max(0, at - performance.now()) + 5);
    r.expiry.unref();
  }

  /** Sends the total to every member when it changed since the last broadcast. */
  private broadcast(r: CountedRoom): void {
    const total = r.total();
    if (total === r.lastTotal) return;
    r.lastTotal = total;
    for (const m of r.members.keys()) this.send(m, r.room, total);
  }

  private send(m: ViewerCountListener, room: string, count: number): void {
    this.metrics.viewerCountDelivered.inc();
    m.onViewerCount({ type: 'viewers', room, count });
  }
}
