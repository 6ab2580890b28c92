import { Controller, Get, Inject, Param } from '@nestjs/common';
import type { RoomSourcesResponse, RoomsResponse } from '@vidchat/protocol';
import { RoomAuthorizer } from '../auth/room-authorizer.js';
import { RoomRegistry } from '../rooms/room-registry.js';
import { authorize, RequestToken, ValidIdPipe } from './http-util.js';

/*
 * `GET /api/rooms` and `GET /api/rooms/:room/sources`. With a viewer secret,
 * a room is listed only to a token that opens it, so that room and source
 * names stay private too.
 */
@Controller('api/rooms')
export class RoomsController {
  constructor(
    @Inject(RoomRegistry) private readonly registry: RoomRegistry,
    @Inject(RoomAuthorizer) private readonly auth: RoomAuthorizer,
  ) {}

  @Get()
  async rooms(@RequestToken() token: string | undefined): Promise<RoomsResponse> {
    const rooms = this.registry.list();
    const allowed = await Promise.all(rooms.map((r) => this.auth.allows(token, r.id)));
    const visible = rooms.filter((_r, i) => allowed[i]);
    return { rooms: visible.map((r) => ({ room: r.id, sources: r.roster(), watchers: r.watchers.size })) };
  }

  @Get(':room/sources')
  async sources(
    @Param('room', ValidIdPipe) room: string,
    @RequestToken() token: string | undefined,
  ): Promise<RoomSourcesResponse> {
    await authorize(this.auth, token, room);
    return { room, sources: this.registry.get(room)?.roster() ?? [] };
  }
}
