import 'reflect-metadata';
import type { AddressInfo } from 'node:net';
import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { createLogger } from '@vidchat/service-kit';
import { AppModule } from './app.module.js';
import type { GatewayConfig } from './config.js';
import { ChatService } from './chat/chat.service.js';
import { securityHeaders } from './http/security-headers.js';
import { NatsBus } from './nats/nats-bus.js';
import { NestLogger } from './nest-logger.js';
import { PUBLIC_DIR } from './paths.js';
import { RoomRegistry } from './rooms/room-registry.js';
import { ViewerWsAdapter } from './viewers/viewer-ws-adapter.js';

/** The HTTP port is taken: the CLI prints this on one line and exits 1. */
export class PortInUseError extends Error {
  readonly code = 'ERR_PORT_IN_USE';
  constructor(host: string, port: number) {
    super(`port ${port} on ${host} is already in use: pick another with --port <n> or VIDCHAT_PORT`);
    this.name = 'PortInUseError';
  }
}

export interface RunningGateway {
  /** The bound port (useful with `port: 0`). */
  port: number;
  /** The viewer URL, e.g. http://localhost:8080/. */
  url: string;
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
  const url = `http://${shownHost.includes(':') ? `[${shownHost}]` : shownHost}:${port}/`;

  app.get(RoomRegistry).start();
  const natsReady = app.get(NatsBus).start();
  natsReady.then(
    () => app.get(ChatService).start(),
    (err: Error) => log.error('NATS connection failed', { error: err.message }),
  );

  let closing: Promise<void> | null = null;
  const close = (): Promise<void> =>
    (closing ??= (async () => {
      await app.close();
      log.info('gateway stopped');
    })());

  return { port, url, natsReady, close };
}
