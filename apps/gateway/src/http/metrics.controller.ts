import { Controller, Get, Header, Inject } from '@nestjs/common';
import { Registry } from 'prom-client';
import { GatewayMetrics } from '../metrics/gateway-metrics.js';
import { NatsBus } from '../nats/nats-bus.js';
import { RoomRegistry } from '../rooms/room-registry.js';

/** `GET /metrics`: Prometheus text from the gateway's own registry. */
@Controller('metrics')
export class MetricsController {
  constructor(
    @Inject(GatewayMetrics) private readonly metrics: GatewayMetrics,
    @Inject(NatsBus) private readonly bus: NatsBus,
    @Inject(RoomRegistry) private readonly registry: RoomRegistry,
  ) {}

  @Get()
  @Header('Content-Type', Registry.PROMETHEUS_CONTENT_TYPE)
  async metricsText(): Promise<string> {
    const m = this.metrics;
    m.natsConnected.set(this.bus.state().state === 'connected' ? 1 : 0);
    m.natsSubscriptions.set(this.bus.subscriptionCount);
    m.roomSubscriptions.set(this.registry.watchedRoomCount);
    m.rooms.set(this.registry.list().length);
    return m.registry.metrics();
  }
}
