import 'reflect-metadata';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { createLogger } from '@vidchat/service-kit';
import { AppModule } from './app.module.js';
import { roomAuthorizer } from './auth/viewer-token.js';
import type { GatewayConfig } from './config.js';
import { GatewayContext } from './gateway-context.js';
import { securityHeaders } from './http/security-headers.js';
import { GatewayMetrics } from './metrics/gateway-metrics.js';
import { NatsBus } from './nats/nats-bus.js';
import { NestLogger } from './nest-logger.js';
import { PUBLIC_DIR } from './paths.js';
import { RoomRegistry } from './rooms/room-registry.js';
import { ViewerServer } from './viewers/viewer-server.js';

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
 */
export async function createGateway(config: GatewayConfig): Promise<RunningGateway> {
  const metrics = new GatewayMetrics();
  // Declared before the bus, whose state callback uses it: the rooms must
  // know when NATS is down (they stop expiring sources they cannot hear).
  // eslint-disable-next-line prefer-const -- assigned once below, but read by the callback first.
  let registry: RoomRegistry | undefined;
  const bus = new NatsBus({
    servers: config.nats,
    user: config.natsUser,
    pass: config.natsPass,
    credsFile: config.natsCreds,
    onState: (s) => {
      metrics.natsConnected.set(s.state === 'connected' ? 1 : 0);
      registry?.setNatsConnected(s.state === 'connected');
    },
  });
  registry = new RoomRegistry(bus, metrics, { maxSourcesPerRoom: config.maxSourcesPerRoom });
  const auth = roomAuthorizer(config.viewerSecret);
  const viewers = new ViewerServer(
    { maxViewers: config.maxViewers, maxMessageBytes: config.maxMessageBytes, heartbeatMs: config.heartbeatMs },
    { registry, metrics, auth, limits: config },
  );
  const ctx = new GatewayContext(config, metrics, bus, registry, viewers, auth);

  const nestLogger = new NestLogger();
  const app = await NestFactory.create<NestExpressApplication>(AppModule.forRoot(ctx), {
    logger: nestLogger,
    abortOnError: false,
  });
  app.use(securityHeaders);
  app.disable('x-powered-by');
  app.useStaticAssets(PUBLIC_DIR, { index: false, fallthrough: true });
  const server = app.getHttpServer() as Server;
  viewers.attach(server);
  try {
    nestLogger.quiet = true;
    await app.listen(config.port, config.host);
    nestLogger.quiet = false;
  } catch (err) {
    await app.close().catch(() => undefined);
    metrics.close();
    if ((err as NodeJS.ErrnoException).code === 'EADDRINUSE') throw new PortInUseError(config.host, config.port);
    throw err;
  }
  const port = (server.address() as AddressInfo).port;
  const shownHost = config.host === '0.0.0.0' || config.host === '::' ? 'localhost' : config.host;
  const url = `http://${shownHost.includes(':') ? `[${shownHost}]` : shownHost}:${port}/`;

  registry.start();
  const natsReady = bus.start();
  natsReady.catch((err: Error) => log.error('NATS connection failed', { error: err.message }));

  let closing: Promise<void> | null = null;
  const close = (): Promise<void> =>
    (closing ??= (async () => {
      await viewers.close();
      for (const c of [...ctx.mjpegClients]) c.end();
      registry.stop();
      await bus.close();
      // Streams still open (a stalled MJPEG client) must not hold the port.
      server.closeAllConnections();
      await app.close();
      metrics.close();
      log.info('gateway stopped');
    })());

  return { port, url, natsReady, close };
}
