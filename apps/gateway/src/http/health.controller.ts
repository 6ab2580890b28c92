import { Controller, Get, Inject, Res } from '@nestjs/common';
import type { Response } from 'express';
import type { HealthResponse } from '@vidchat/protocol';
import { GatewayContext } from '../gateway-context.js';

/** `GET /healthz`: 200 while NATS is connected, 503 otherwise. */
@Controller('healthz')
export class HealthController {
  constructor(@Inject(GatewayContext) private readonly ctx: GatewayContext) {}

  @Get()
  health(@Res() res: Response): void {
    const nats = this.ctx.bus.state();
    const ok = nats.state === 'connected';
    res
      .status(ok ? 200 : 503)
      .setHeader('Cache-Control', 'no-store')
      .json({
        status: ok ? 'ok' : 'unavailable',
        nats: nats.state,
        viewers: this.ctx.viewers.count,
        rooms: this.ctx.registry.list().length,
      } satisfies HealthResponse);
  }
}
