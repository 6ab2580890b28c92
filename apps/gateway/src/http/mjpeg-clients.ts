import { Inject, Injectable, type OnModuleDestroy } from '@nestjs/common';
import type { Response } from 'express';
import { GATEWAY_CONFIG, type GatewayConfig } from '../config.js';
import { GatewayMetrics } from '../metrics/gateway-metrics.js';
import { RoomRegistry } from '../rooms/room-registry.js';
import { ApiError } from './api-error.js';
import { watchOrRefuse } from './http-util.js';
import { MjpegClient } from './mjpeg-client.js';

/**
 * The open MJPEG responses: their cap (`--max-mjpeg-clients`), their gauge,
 * and their end at shutdown (`onModuleDestroy`, with the viewers' 1001, before
 * the rooms unsubscribe and NATS drains).
 */
@Injectable()
export class MjpegClients implements OnModuleDestroy {
  private readonly clients = new Set<MjpegClient>();

  constructor(
    @Inject(GATEWAY_CONFIG) private readonly config: GatewayConfig,
    @Inject(GatewayMetrics) private readonly metrics: GatewayMetrics,
    @Inject(RoomRegistry) private readonly registry: RoomRegistry,
  ) {}

  get count(): number {
    return this.clients.size;
  }

  /**
   * Starts streaming `layer` of `source` of `room` on `res` until the client goes away.
   * Throws `ApiError` 503 over the cap, before anything is written.
   */
  open(res: Response, room: string, source: string, layer = 0): void {
    if (this.clients.size >= this.config.maxMjpegClients) {
      this.metrics.refuse('too-many-streams');
      throw new ApiError(503, 'too-many-streams', `at most ${this.config.maxMjpegClients} MJPEG streams at once`, {
        'Retry-After': '5',
      });
    }
    const client = new MjpegClient(res, source, layer, this.metrics);
    const { release } = watchOrRefuse(this.registry, room, client);
    const releaseLayer = this.registry.wantLayer(room, source, layer);
    this.clients.add(client);
    this.metrics.mjpegClients.set(this.clients.size);
    res.on('close', () => {
      releaseLayer();
      release();
      this.clients.delete(client);
      this.metrics.mjpegClients.set(this.clients.size);
    });
    client.start();
    const latest = this.registry.latestVideo(room, source, layer);
    if (latest) client.jpeg(latest.payload);
  }

  onModuleDestroy(): void {
    for (const c of [...this.clients]) c.end();
  }
}
