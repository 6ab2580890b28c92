import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import { CloseCode } from '@vidchat/protocol';
import { createLogger } from '@vidchat/service-kit';
import type { SessionDeps } from './viewer-session.js';
import { ViewerSession } from './viewer-session.js';

/*
 * The viewer WebSocket endpoint, `GET /ws`, on the same HTTP server as the
 * Nest controllers.
 *
 * Why a plain `ws` server rather than a Nest `@WebSocketGateway`: the fan-out
 * needs each socket's `bufferedAmount` and raw binary sends of shared buffers
 * (see MediaSender), close codes chosen per failure, and limits (`maxPayload`,
 * viewer cap) that come from the command line, whereas gateway decorator
 * options are fixed when the class is defined. Nest still owns DI, the HTTP
 * routes and the lifecycle; this class is handed to it as a provider.
 */

export const VIEWER_WS_PATH = '/ws';
/** How long shutdown waits for viewers to answer the 1001 close. */
export const CLOSE_GRACE_MS = 1_000;

export interface ViewerServerOptions {
  maxViewers: number;
  maxMessageBytes: number;
  heartbeatMs: number;
}

const log = createLogger('gateway.ws');

export class ViewerServer {
  private readonly wss: WebSocketServer;
  private readonly sessions = new Set<ViewerSession>();
  private heartbeat: NodeJS.Timeout | null = null;
  private closing = false;

  constructor(
    private readonly opts: ViewerServerOptions,
    private readonly deps: SessionDeps,
  ) {
    // ws closes with 1009 by itself when a message exceeds maxPayload.
    this.wss = new WebSocketServer({ noServer: true, maxPayload: opts.maxMessageBytes, perMessageDeflate: false });
    this.wss.on('connection', (ws) => this.onConnection(ws));
  }

  get count(): number {
    return this.sessions.size;
  }

  attach(server: Server): void {
    server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
      const path = (req.url ?? '').split('?')[0];
      if (path !== VIEWER_WS_PATH || this.closing) {
        socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
        return;
      }
      this.wss.handleUpgrade(req, socket, head, (ws) => this.wss.emit('connection', ws, req));
    });
    this.heartbeat = setInterval(() => this.ping(), this.opts.heartbeatMs);
    this.heartbeat.unref();
  }

  private onConnection(ws: WebSocket): void {
    const session = new ViewerSession(ws, this.deps, (s) => {
      this.sessions.delete(s);
      this.deps.metrics.viewers.set(this.sessions.size);
    });
    if (this.sessions.size >= this.opts.maxViewers) {
      log.warn('viewer refused: gateway full', { maxViewers: this.opts.maxViewers });
      session.fail(
        'too-many-viewers',
        `the gateway is full (${this.opts.maxViewers} viewers)`,
        CloseCode.tryAgainLater,
      );
      return;
    }
    this.sessions.add(session);
    this.deps.metrics.viewers.set(this.sessions.size);
  }

  private ping(): void {
    for (const s of this.sessions) {
      if (!s.alive) {
        log.debug('viewer missed a pong: terminated', { viewer: s.id });
        s.ws.terminate();
        continue;
      }
      s.alive = false;
      s.ws.ping();
    }
  }

  /** Closes every viewer with 1001 and stops accepting; idempotent. */
  async close(): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    if (this.heartbeat) clearInterval(this.heartbeat);
    for (const s of [...this.sessions]) s.close(CloseCode.goingAway, 'gateway shutting down');
    // ws waits for every closing handshake; a viewer that stopped reading
    // never answers, so after a short grace the rest are cut.
    const closed = new Promise<void>((resolve) => this.wss.close(() => resolve()));
    let timer: NodeJS.Timeout | undefined;
    const grace = new Promise<void>((resolve) => (timer = setTimeout(resolve, CLOSE_GRACE_MS)));
    await Promise.race([closed, grace]);
    clearTimeout(timer);
    for (const ws of this.wss.clients) ws.terminate();
  }
}
