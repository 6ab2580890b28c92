import { Controller, Get, Inject, Param, Req, Res } from '@nestjs/common';
import type { Request, Response } from 'express';
import type { RoomSourcesResponse, RoomsResponse } from '@vidchat/protocol';
import { GatewayContext } from '../gateway-context.js';
import { authorized, pathIds, requestToken } from './http-util.js';

/*
 * `GET /api/rooms` and `GET /api/rooms/:room/sources`. With a viewer secret,
 * a room is listed only to a token that opens it, so that room and source
 * names stay private too.
 */
@Controller('api/rooms')
export class RoomsController {
  constructor(@Inject(GatewayContext) private readonly ctx: GatewayContext) {}

  @Get()
  rooms(@Req() req: Request, @Res() res: Response): void {
    const token = requestToken(req);
    const visible = this.ctx.registry.list().filter((r) => {
      try {
        this.ctx.auth.check(token, r.id);
        return true;
      } catch {
        return false;
      }
    });
    res.json({
      rooms: visible.map((r) => ({ room: r.id, sources: r.roster(), watchers: r.watchers.size })),
    } satisfies RoomsResponse);
  }

  @Get(':room/sources')
  sources(@Param('room') room: string, @Req() req: Request, @Res() res: Response): void {
    const ids = pathIds(res, room);
    if (!ids || !authorized(this.ctx.auth, req, res, ids.room)) return;
    res.json({
      room: ids.room,
      sources: this.ctx.registry.get(ids.room)?.roster() ?? [],
    } satisfies RoomSourcesResponse);
  }
}
