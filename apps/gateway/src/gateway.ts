import 'reflect-metadata';
import type { RequestListener, Server as HttpServer } from 'node:http';
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { createLogger } from '@vidchat/service-kit';
import { AppModule } from './app.module.js';
import { assertStrongSecret } from './auth/jwt.js';
import type { GatewayConfig } from './config.js';
import { ChatService } from './chat/chat.service.js';
import { securityHeaders } from './http/security-headers.js';
import { NatsBus } from './nats/nats-bus.js';
import { NestLogger } from './nest-logger.js';
import { PUBLIC_DIR } from './paths.js';
import { loadTls, type TlsMaterial } from './http/tls.js';
import { RoomRegistry } from './rooms/room-registry.js';
import { ViewerWsAdapter } from './viewers/viewer-ws-adapter.js';

/** The HTTP port is taken: the CLI prints this on one line and exits 1. */
export class PortInUseError extends Error {
  readonly code = 'ERR_PORT_IN_USE';
  constructor(host: string, port: number, flag = '--port', env = 'VIDCHAT_PORT') {
    super(`port ${port} on ${host} is already in use: pick another with ${flag} <n> or ${env}`);
    this.name = 'PortInUseError';
  }
}

export interface RunningGateway {
  /** The bound port (useful with `port: 0`). */
  port: number;
  /** The viewer URL, e.g. http://localhost:8080/. */
  url: string;
  /** With TLS: the HTTPS port, its URL (https://localhost:8443/) and the certificate. */
  tls: { port: number; url: string; certificate: TlsMaterial } | null;
  /** Resolves when the first NATS connection is up. */
  natsReady: Promise<void>;
  /** Closes viewers (1001), MJPEG streams, HTTP and drains NATS. Idempotent. */
  close(): Promise<void>;
}

const log = createLogger('gateway');

/**
 * Builds and starts a gateway: HTTP (+ /ws) first, so that a taken port fails
 * at once and /healthz answers 503 while NATS is still connecting.
 *
 * No `enableShutdownHooks()`: the CLI owns the process signals (service-kit's
 * `onShutdown` calls `close()`), and tests run several gateways in one
 * process, each closed by its owner.
 */
export async function createGateway(config: GatewayConfig): Promise<RunningGateway> {
  // A weak secret or unusable TLS files are refused before anything listens
  // (the CLI says so as a usage error).
  if (config.viewerSecret) assertStrongSecret(config.viewerSecret, 'viewerSecret');
  const certificate = await loadTls(config);
  const nestLogger = new NestLogger();
  const app = await NestFactory.create<NestExpressApplication>(AppModule.forRoot(config), {
    logger: nestLogger,
    abortOnError: false,
    // Streams still open at shutdown (a stalled MJPEG client) must not hold the port.
    forceCloseConnections: true,
  });
  app.useWebSocketAdapter(new ViewerWsAdapter(app, config));
  app.use(securityHeaders);
  app.disable('x-powered-by');
  app.useStaticAssets(PUBLIC_DIR, { index: false, fallthrough: true });
  try {
    nestLogger.quiet = true;
    await app.listen(config.port, config.host);
    nestLogger.quiet = false;
  } catch (err) {
    await app.close().catch(() => undefined);
    if ((err as NodeJS.ErrnoException).code === 'EADDRINUSE') throw new PortInUseError(config.host, config.port);
    throw err;
  }
  const port = (app.getHttpServer().address() as AddressInfo).port;
  const shownHost = config.host === '0.0.0.0' || config.host === '::' ? 'localhost' : config.host;
  const urlHost = shownHost.includes(':') ? `[${shownHost}]` : shownHost;
  const url = `http://${urlHost}:${port}/`;

  let httpsServer: HttpsServer | null = null;
  let tls: RunningGateway['tls'] = null;
  if (certificate) {
    try {
      httpsServer = await listenHttps(app, certificate, config.tlsPort, config.host);
    } catch (err) {
      await app.close().catch(() => undefined);
      if ((err as NodeJS.ErrnoException).code === 'EADDRINUSE') {
        throw new PortInUseError(config.host, config.tlsPort, '--tls-port', 'VIDCHAT_TLS_PORT');
      }
      throw err;
    }
    const tlsPort = (httpsServer.address() as AddressInfo).port;
    tls = { port: tlsPort, url: `https://${urlHost}:${tlsPort}/`, certificate };
  }

  app.get(RoomRegistry).start();
  const natsReady = app.get(NatsBus).start();
  natsReady.then(
    () => app.get(ChatService).start(),
    (err: Error) => log.error('NATS connection failed', { error: err.message }),
  );

  let closing: Promise<void> | null = null;
  const close = (): Promise<void> =>
    (closing ??= (async () => {
      // Nest drains the viewers (wss ones included: one ws server serves both
      // ports), then closes its HTTP server; the HTTPS server goes after it.
      await app.close();
      if (httpsServer) {
        const closed = new Promise<void>((resolve) => httpsServer!.close(() => resolve()));
        httpsServer.closeAllConnections();
        await closed;
      }
      log.info('gateway stopped');
    })());

  return { port, url, tls, natsReady, close };
}

/**
 * HTTPS next to Nest's HTTP server: the same Express app answers both, and
 * WebSocket upgrades on it are handed to the HTTP server's upgrade handler,
 * where the Nest ws adapter routes `/ws` to the viewer gateway. So `ws://`
 * and `wss://` reach the same sessions, limits and fan-out.
 */
async function listenHttps(
  app: NestExpressApplication,
  certificate: TlsMaterial,
  port: number,
  host: string,
): Promise<HttpsServer> {
  const http = app.getHttpServer() as HttpServer;
  const server = createHttpsServer(
    { key: certificate.key, cert: certificate.cert },
    app.getHttpAdapter().getInstance() as RequestListener,
  );
  server.on('upgrade', (req, socket, head) => http.emit('upgrade', req, socket, head));
  // A TLS handshake that fails (a browser refusing the self-signed certificate) is not a server error.
  server.on('tlsClientError', (err) => log.debug('TLS handshake failed', { error: err.message }));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return server;
}
