import type { Msg, NatsConnection, Subscription } from '@nats-io/transport-node';
import { connectNats, createLogger, type NatsState, type ServiceConnection } from '@vidchat/service-kit';

/*
 * The gateway's view of NATS: subscriptions that may be taken before the
 * connection exists. The HTTP port opens first (so that /healthz can say 503
 * and a taken port fails at once), NATS connects in the background, and
 * subscriptions made meanwhile are bound when it arrives. nats.js re-sends
 * live subscriptions after a reconnect by itself.
 */

export type MsgHandler = (msg: Msg) => void;

export interface BusSubscription {
  unsubscribe(): void;
}

export interface NatsBusOptions {
  servers: string;
  user?: string | undefined;
  pass?: string | undefined;
  credsFile?: string | undefined;
  onState?: (state: NatsState) => void;
}

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

export class NatsBus {
  private conn: ServiceConnection | null = null;
  private readonly subs = new Set<PendingSubscription>();
  private readonly abort = new AbortController();
  private connecting: Promise<void> | null = null;

  constructor(private readonly opts: NatsBusOptions) {}

  /** Starts connecting; resolves when connected (or rejects on bad credentials). */
  start(): Promise<void> {
    this.connecting ??= connectNats({
      servers: this.opts.servers,
      name: 'vidchat-gateway',
      user: this.opts.user,
      pass: this.opts.pass,
      credsFile: this.opts.credsFile,
      log,
      signal: this.abort.signal,
      ...(this.opts.onState ? { onState: this.opts.onState } : {}),
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

  get subscriptionCount(): number {
    return this.subs.size;
  }

  subscribe(subject: string, handler: MsgHandler): BusSubscription {
    const s = new PendingSubscription(subject, handler, this);
    this.subs.add(s);
    if (this.conn) this.bind(s, this.conn.nc);
    return s;
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
}
