import { Inject, Injectable, type OnModuleDestroy, type OnModuleInit } from '@nestjs/common';
import type { WebSocket } from 'ws';
import { CloseCode } from '@vidchat/protocol';
import { createLogger } from '@vidchat/service-kit';
import { RoomAuthorizer } from '../auth/room-authorizer.js';
import { ChatService } from '../chat/chat.service.js';
import { RecordingRelay } from '../recordings/recording-relay.js';
import { GATEWAY_CONFIG, type GatewayConfig } from '../config.js';
import { GatewayMetrics } from '../metrics/gateway-metrics.js';
import { NatsBus } from '../nats/nats-bus.js';
import { ViewerCounts } from '../people/viewer-counts.service.js';
import { RoomRegistry } from '../rooms/room-registry.js';
import { ViewerSession, type SessionDeps } from './viewer-session.js';

/** How long shutdown waits for viewers to answer the 1001 close. */
export const CLOSE_GRACE_MS = 1_000;

const log = createLogger('gateway.ws');

/**
 * The open viewer sessions: the viewer cap, the heartbeat that terminates
 * dead sockets, and the drain at shutdown. The drain runs in
 * `onModuleDestroy`, the first shutdown step: viewers get 1001 while the
 * rooms and NATS still work, before Nest closes the `ws` server (which would
 * terminate them without a close code).
 */
@Injectable()
export class ViewerSessions implements OnModuleInit, OnModuleDestroy {
  private readonly sessions = new Map<WebSocket, ViewerSession>();
  private readonly deps: SessionDeps;
  private heartbeat: NodeJS.Timeout | null = null;
  private closing = false;

  constructor(
    @Inject(GATEWAY_CONFIG) private readonly config: GatewayConfig,
    @Inject(RoomRegistry) registry: RoomRegistry,
    @Inject(GatewayMetrics) private readonly metrics: GatewayMetrics,
    @Inject(RoomAuthorizer) auth: RoomAuthorizer,
    @Inject(NatsBus) bus: NatsBus,
    @Inject(ChatService) chat: ChatService,
    @Inject(RecordingRelay) recordings: RecordingRelay,
    @Inject(ViewerCounts) viewerCounts: ViewerCounts,
  ) {
    this.deps = { registry, metrics, auth, bus, limits: config, chat, recordings, viewerCounts };
  }

  get count(): number {
    return this.sessions.size;
  }

  /** The session of a socket, while it is open. */
  of(ws: WebSocket): ViewerSession | undefined {
    return this.sessions.get(ws);
  }

  /** A new socket: a session, or a refusal when the gateway is full or closing. */
  open(ws: WebSocket): void {
    const session = new ViewerSession(ws, this.deps, (s) => {
      this.sessions.delete(s.ws);
      this.metrics.viewers.set(this.sessions.size);
    });
    if (this.closing) {
      session.close(CloseCode.goingAway, 'gateway shutting down');
      return;
    }
    if (this.sessions.size >= this.config.maxViewers) {
      log.warn('viewer refused: gateway full', { maxViewers: this.config.maxViewers });
      this.metrics.refuse('too-many-viewers');
      session.fail(
        'too-many-viewers',
        `the gateway is full (${this.config.maxViewers} viewers)`,
        CloseCode.tryAgainLater,
      );
      return;
    }
    this.sessions.set(ws, session);
    this.metrics.viewers.set(this.sessions.size);
  }

  onModuleInit(): void {
    this.heartbeat = setInterval(() => this.ping(), this.config.heartbeatMs);
    this.heartbeat.unref();
  }

  /** Closes every viewer with 1001; ws waits for each closing handshake, up to a grace period. */
  async onModuleDestroy(): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    if (this.heartbeat) clearInterval(this.heartbeat);
    const sockets = [...this.sessions.keys()];
    const closed = Promise.all(
      sockets.map(
        (ws) =>
          new Promise<void>((resolve) => (ws.readyState === ws.CLOSED ? resolve() : ws.once('close', () => resolve()))),
      ),
    );
    for (const s of [...this.sessions.values()]) s.close(CloseCode.goingAway, 'gateway shutting down');
    // A viewer that stopped reading never answers the close: after a short
    // grace the rest are cut.
    let timer: NodeJS.Timeout | undefined;
    const grace = new Promise<void>((resolve) => (timer = setTimeout(resolve, CLOSE_GRACE_MS)));
    await Promise.race([closed, grace]);
    clearTimeout(timer);
    for (const ws of sockets) if (ws.readyState !== ws.CLOSED) ws.terminate();
  }

  private ping(): void {
    for (const s of this.sessions.values()) {
      if (!s.alive) {
        log.debug('viewer missed a pong: terminated', { viewer: s.id });
        s.ws.terminate();
        continue;
      }
      s.alive = false;
      s.ws.ping();
    }
  }
}
