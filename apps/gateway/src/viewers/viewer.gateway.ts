import { Inject } from '@nestjs/common';
import {
  ConnectedSocket,
  MessageBody,
  SubscribeMessage,
  WebSocketGateway,
  type OnGatewayConnection,
  type OnGatewayDisconnect,
} from '@nestjs/websockets';
import type { WebSocket } from 'ws';
import type { ClientMessage, ServerMessage } from '@vidchat/protocol';
import { createLogger } from '@vidchat/service-kit';
import { BINARY_EVENT, INVALID_EVENT, TOO_BIG_EVENT, type InvalidFrame } from './viewer-frames.js';
import type { ViewerSession } from './viewer-session.js';
import { ViewerSessions } from './viewer-sessions.js';

export const VIEWER_WS_PATH = '/ws';

const log = createLogger('gateway.ws');

type Msg<T extends ClientMessage['type']> = Extract<ClientMessage, { type: T }>;

/*
 * The viewer WebSocket, `GET /ws`, on the HTTP server's port. Its limits
 * (maxPayload, no compression) come from `ViewerWsAdapter`, which also turns
 * each frame into a Nest event (`viewer-frames.ts`). `@ConnectedSocket()` is
 * the raw `ws` socket: the media fan-out writes shared buffers to it
 * directly (MediaSender), never through Nest.
 *
 * Every handler first counts the message against the viewer's rate limit; a
 * message over it is answered and otherwise ignored. Handlers never throw
 * for client input: Nest's exception path would log a stack per bad frame.
 */
@WebSocketGateway({ path: VIEWER_WS_PATH })
export class ViewerGateway implements OnGatewayConnection<WebSocket>, OnGatewayDisconnect<WebSocket> {
  constructor(@Inject(ViewerSessions) private readonly sessions: ViewerSessions) {}

  handleConnection(ws: WebSocket): void {
    this.sessions.open(ws);
  }

  handleDisconnect(ws: WebSocket): void {
    this.sessions.of(ws)?.dispose();
  }

  @SubscribeMessage('join')
  join(@ConnectedSocket() ws: WebSocket, @MessageBody() msg: Msg<'join'>): void {
    // Token verification is asynchronous; the session answers the client itself.
    this.admitted(ws)
      ?.join(msg)
      .catch((err: unknown) => log.error('join failed', { error: (err as Error).message }));
  }

  @SubscribeMessage('chat')
  chat(@ConnectedSocket() ws: WebSocket, @MessageBody() msg: Msg<'chat'>): void {
    this.admitted(ws)?.chat(msg.text);
  }

  @SubscribeMessage('hand')
  hand(@ConnectedSocket() ws: WebSocket, @MessageBody() msg: Msg<'hand'>): void {
    this.admitted(ws)?.hand(msg.raised);
  }

  @SubscribeMessage('leave')
  leave(@ConnectedSocket() ws: WebSocket): void {
    this.admitted(ws)?.leave();
  }

  @SubscribeMessage('layer')
  layer(@ConnectedSocket() ws: WebSocket, @MessageBody() msg: Msg<'layer'>): void {
    this.admitted(ws, 'layer')?.setLayer(msg.source, msg.layer);
  }

  @SubscribeMessage('audio')
  audio(@ConnectedSocket() ws: WebSocket, @MessageBody() msg: Msg<'audio'>): void {
    this.admitted(ws)?.setAudioMode(msg.mode);
  }

  /** The return value is the reply: Nest sends it as a JSON text frame. */
  @SubscribeMessage('ping')
  ping(@ConnectedSocket() ws: WebSocket, @MessageBody() msg: Msg<'ping'>): ServerMessage | undefined {
    if (!this.admitted(ws)) return undefined;
    return { type: 'pong', ...(msg.id === undefined ? {} : { id: msg.id }) };
  }

  @SubscribeMessage(INVALID_EVENT)
  invalid(@ConnectedSocket() ws: WebSocket, @MessageBody() frame: InvalidFrame): void {
    this.admitted(ws)?.rejectInvalid(frame);
  }

  /** A text frame over the message cap: closed with 1009, as ws would. */
  @SubscribeMessage(TOO_BIG_EVENT)
  tooBig(@ConnectedSocket() ws: WebSocket): void {
    this.sessions.of(ws)?.rejectTooBig();
  }

  /**
   * Binary frames: a participant's media (capped by its own frame and byte
   * rates, not the control-message rate); from a viewer, a violation.
   */
  @SubscribeMessage(BINARY_EVENT)
  binary(@ConnectedSocket() ws: WebSocket, @MessageBody() data: Buffer): void {
    this.sessions.of(ws)?.onBinary(data);
  }

  private admitted(ws: WebSocket, kind: 'control' | 'layer' = 'control'): ViewerSession | undefined {
    const s = this.sessions.of(ws);
    return s?.admit(kind) ? s : undefined;
  }
}
