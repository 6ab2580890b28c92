import { Inject, Injectable, type OnApplicationShutdown } from '@nestjs/common';
import type { Msg, NatsConnection, Subscription } from '@nats-io/transport-node';
import { connectNats, createLogger, type NatsState, type ServiceConnection } from '@vidchat/service-kit';
import { GATEWAY_CONFIG, type GatewayConfig } from '../config.js';
import { GatewayMetrics } from '../metrics/gateway-metrics.js';

/*
 * The gateway's view of NATS: subscriptions that may be taken before the
 * connection exists. The HTTP port opens first (so that /healthz can say 503
 * and a taken port fails at once), NATS connects in the background, and
 * subscriptions made meanwhile are bound when it arrives. nats.js re-sends
 * live subscriptions after a reconnect by itself.
 *
 * Lifecycle: `createGateway` starts it once the HTTP port is bound; Nest
 * drains it in `onApplicationShutdown`, the last shutdown step, after the
 * viewers and MJPEG clients are gone and the rooms have unsubscribed.
 */

export type MsgHandler = (msg: Msg) => void;

export interface BusSubscription {
  unsubscribe(): void;
}

export type NatsStateListener = (state: NatsState) => void;

const log = createLogger('gateway.nats');

class PendingSubscription implements BusSubscription {
  sub: Subscription | null = null;
  closed = false;
  constructor(
    readonly subject: string,
    readonly handler: MsgHandler,
    private readonly bus: NatsBus,
  ) {}
  unsubscribe(): void {
    if (this.closed) return;
    this.closed = true;
    this.sub?.unsubscribe();
    this.bus.forget(this);
  }
}

@Injectable()
export class NatsBus implements OnApplicationShutdown {
  private conn: ServiceConnection | null = null;
  private readonly subs = new Set<PendingSubscription>();
  private readonly abort = new AbortController();
  private connecting: Promise<void> | null = null;
  private readonly stateListeners: NatsStateListener[] = [];

  constructor(
    @Inject(GATEWAY_CONFIG) private readonly config: GatewayConfig,
    @Inject(GatewayMetrics) private readonly metrics: GatewayMetrics,
  ) {}

  /** Called on every connection state change (the rooms pause source expiry while NATS is down). */
  onStateChange(listener: NatsStateListener): void {
    this.stateListeners.push(listener);
  }

  /** Starts connecting; resolves when connected (or rejects on bad credentials). */
  start(): Promise<void> {
    this.connecting ??= connectNats({
      servers: this.config.nats,
      name: 'vidchat-gateway',
      user: this.config.natsUser,
      pass: this.config.natsPass,
      credsFile: this.config.natsCreds,
      log,
      signal: this.abort.signal,
      onState: (s) => {
        this.metrics.natsConnected.set(s.state === 'connected' ? 1 : 0);
        for (const l of this.stateListeners) l(s);
      },
    }).then((conn) => {
      if (this.abort.signal.aborted) {
        void conn.nc.close();
        return;
      }
      this.conn = conn;
      for (const s of this.subs) this.bind(s, conn.nc);
    });
    return this.connecting;
  }

  state(): NatsState {
    return this.conn?.state() ?? { state: 'connecting' };
  }

  /** The connection once it is up (JetStream users build their clients on it), else null. */
  get connection(): NatsConnection | null {
    return this.conn?.nc ?? null;
  }

  get subscriptionCount(): number {
    return this.subs.size;
  }

  subscribe(subject: string, handler: MsgHandler): BusSubscription {
    const s = new PendingSubscription(subject, handler, this);
    this.subs.add(s);
    if (this.conn) this.bind(s, this.conn.nc);
    return s;
  }

  /**
   * Publishes `data` as is (nats.js keeps a reference until it flushes, so
   * the caller must not reuse it). False when there is no connection yet or
   * any more: participants' media is live, so it is dropped, not queued.
   */
  publish(subject: string, data: Uint8Array): boolean {
    const nc = this.conn?.nc;
    if (!nc || nc.isClosed()) return false;
    nc.publish(subject, data);
    return true;
  }

  /** Called by a subscription when it is dropped. */
  forget(s: PendingSubscription): void {
    this.subs.delete(s);
  }

  private bind(s: PendingSubscription, nc: NatsConnection): void {
    if (s.closed || s.sub) return;
    s.sub = nc.subscribe(s.subject, {
      callback: (err, msg) => {
        if (err) {
          log.warn('subscription error', { subject: s.subject, error: err.message });
          return;
        }
        s.handler(msg);
      },
    });
  }

  /** Drains the connection (pending messages are delivered) or gives up connecting. */
  async close(): Promise<void> {
    this.abort.abort();
    const conn = this.conn;
    this.conn = null;
    this.subs.clear();
    if (conn && !conn.nc.isClosed()) {
      try {
        await conn.nc.drain();
      } catch {
        await conn.nc.close();
      }
    }
  }

  async onApplicationShutdown(): Promise<void> {
    await this.close();
  }
}
