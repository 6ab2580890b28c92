import type { RoomAuthorizer } from './auth/viewer-token.js';
import type { GatewayConfig } from './config.js';
import type { GatewayMetrics } from './metrics/gateway-metrics.js';
import type { NatsBus } from './nats/nats-bus.js';
import type { RoomRegistry } from './rooms/room-registry.js';
import type { ViewerServer } from './viewers/viewer-server.js';

/**
 * The gateway's long-lived parts, built by `createGateway` and handed to the
 * Nest controllers as one provider.
 */
export class GatewayContext {
  /** Open MJPEG responses, for the cap and for shutdown. */
  readonly mjpegClients = new Set<{ end(): void }>();

  constructor(
    readonly config: GatewayConfig,
    readonly metrics: GatewayMetrics,
    readonly bus: NatsBus,
    readonly registry: RoomRegistry,
    readonly viewers: ViewerServer,
    readonly auth: RoomAuthorizer,
  ) {}
}
