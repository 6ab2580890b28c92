import { Controller, Get, Inject, Res } from '@nestjs/common';
import type { Response } from 'express';
import { GatewayContext } from '../gateway-context.js';

/** `GET /metrics`: Prometheus text from the gateway's own registry. */
@Controller('metrics')
export class MetricsController {
  constructor(@Inject(GatewayContext) private readonly ctx: GatewayContext) {}

  @Get()
  async metrics(@Res() res: Response): Promise<void> {
    const m = this.ctx.metrics;
    m.natsConnected.set(this.ctx.bus.state().state === 'connected' ? 1 : 0);
    m.natsSubscriptions.set(this.ctx.bus.subscriptionCount);
    m.roomSubscriptions.set(this.ctx.registry.watchedRoomCount);
    m.rooms.set(this.ctx.registry.list().length);
    res.setHeader('Content-Type', m.registry.contentType);
    res.send(await m.registry.metrics());
  }
}
