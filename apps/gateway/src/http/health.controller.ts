import { Controller, Get, Header, HttpException, HttpStatus, Inject } from '@nestjs/common';
import type { HealthResponse } from '@vidchat/protocol';
import { ChatService, type ChatStatus } from '../chat/chat.service.js';
import { NatsBus } from '../nats/nats-bus.js';
import { RoomRegistry } from '../rooms/room-registry.js';
import { ViewerSessions } from '../viewers/viewer-sessions.js';

/**
 * The protocol's health body plus the chat state. Chat does not decide the
 * status: without JetStream the gateway still serves video.
 */
export type HealthBody = HealthResponse & { chat: ChatStatus };

/** `GET /healthz`: 200 while NATS is connected, 503 otherwise, with the same body. */
@Controller('healthz')
export class HealthController {
  constructor(
    @Inject(NatsBus) private readonly bus: NatsBus,
    @Inject(RoomRegistry) private readonly registry: RoomRegistry,
    @Inject(ViewerSessions) private readonly viewers: ViewerSessions,
    @Inject(ChatService) private readonly chat: ChatService,
  ) {}

  @Get()
  @Header('Cache-Control', 'no-store')
  health(): HealthBody {
    const nats = this.bus.state();
    const ok = nats.state === 'connected';
    const body: HealthBody = {
      status: ok ? 'ok' : 'unavailable',
      nats: nats.state,
      viewers: this.viewers.count,
      rooms: this.registry.list().length,
      // Which node of a cluster this gateway is on, so that a failover shows.
      ...(nats.state === 'connected' ? { natsServer: nats.serverName ?? nats.server } : {}),
      chat: this.chat.status,
    };
    // An HttpException with an object is sent as that object: same body, 503.
    if (!ok) throw new HttpException(body, HttpStatus.SERVICE_UNAVAILABLE);
    return body;
  }
}
