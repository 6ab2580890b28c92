import type { INestApplicationContext } from '@nestjs/common';
import { WsAdapter } from '@nestjs/platform-ws';
import type { WebSocket, WebSocketServer } from 'ws';
import { createLogger } from '@vidchat/service-kit';
import type { GatewayConfig } from '../config.js';
import { parseViewerFrame, type WsFrameData } from './viewer-frames.js';

const log = createLogger('gateway.ws');

/*
 * The `ws` adapter of the viewer gateway, built from the validated config.
 * `@WebSocketGateway` options are fixed when the class is defined, so the
 * run-time limits reach `ws` here: `create()` adds them to the options of
 * the `ws` server Nest makes for the gateway's path.
 */
export class ViewerWsAdapter extends WsAdapter {
  constructor(
    app: INestApplicationContext,
    private readonly config: Pick<GatewayConfig, 'maxMessageBytes' | 'participantMaxFrameBytes'>,
  ) {
    super(app, { messageParser: (data: WsFrameData) => parseViewerFrame(data, config.maxMessageBytes) });
  }

  override create(
    port: number,
    options: Record<string, unknown> & { namespace?: string; server?: unknown; path?: string } = {},
  ): WebSocketServer {
    return super.create(port, {
      ...options,
      // ws closes with 1009 by itself when a message exceeds maxPayload.
      // Participants send JPEGs: frames up to twice the media cap are read,
      // so that a frame just over it is dropped and counted rather than
      // fatal; text frames are held to maxMessageBytes by the parser.
      maxPayload: Math.max(this.config.maxMessageBytes, 2 * this.config.participantMaxFrameBytes),
      // Frames are JPEG and Opus: compression would cost CPU per viewer for nothing.
      perMessageDeflate: false,
    }) as WebSocketServer;
  }

  /**
   * Nest logs every client socket error with a stack; those are bad input
   * (an oversized or malformed frame, which ws answers with its close code),
   * so they are debug lines here. A server error is still an error.
   */
  override bindErrorHandler(server: WebSocketServer): WebSocketServer {
    server.on('connection', (ws: WebSocket) =>
      ws.on('error', (err: Error & { code?: string }) =>
        log.debug('viewer socket error', { error: err.message, code: err.code }),
      ),
    );
    server.on('error', (err: Error) => log.error('viewer WebSocket server error', { error: err.message }));
    return server;
  }
}
