import {
  isValidId,
  parseClientMessage,
  ProtocolError,
  type ClientMessage,
  type ViewerErrorCode,
} from '@vidchat/protocol';

/*
 * What one WebSocket frame from a viewer becomes before Nest routes it to a
 * `@SubscribeMessage` handler: `{event, data}`. A text frame that parses is
 * routed by its `type` (`join`, `leave`, `ping`, `layer`, `audio`, …). Everything else is routed
 * too, to handlers that count it and close with the documented code, because
 * Nest logs an error with a stack for a parser that throws, and a public
 * socket must not be able to flood the log. The two internal event names
 * start with `#`, which no client `type` can (parseClientMessage accepts only
 * the documented types).
 */

export const INVALID_EVENT = '#invalid';
export const BINARY_EVENT = '#binary';
export const TOO_BIG_EVENT = '#too-big';

/** A text frame that is not a valid client message, with the error code it earns. */
export interface InvalidFrame {
  code: Extract<ViewerErrorCode, 'bad-message' | 'bad-room'>;
  message: string;
}

export type ViewerFrame =
  | { [T in ClientMessage['type']]: { event: T; data: Extract<ClientMessage, { type: T }> } }[ClientMessage['type']]
  | { event: typeof INVALID_EVENT; data: InvalidFrame }
  | { event: typeof BINARY_EVENT; data: Buffer }
  | { event: typeof TOO_BIG_EVENT; data: number };

/** What `ws` hands the adapter's parser: a string for text, bytes for binary. */
export type WsFrameData = string | Buffer | ArrayBuffer | Buffer[];

/**
 * Tells a join whose room is not a valid id (`bad-room`) from any other
 * malformed message (`bad-message`), by structure rather than by error text.
 */
function isBadRoomJoin(text: string): boolean {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return false;
  }
  if (typeof value !== 'object' || value === null) return false;
  const o = value as Record<string, unknown>;
  return o['type'] === 'join' && 'room' in o && !isValidId(o['room']);
}

/**
 * The adapter's `messageParser`: never throws for client input. The socket
 * reads frames up to the media cap (participants send JPEGs), so a text
 * frame over `maxTextBytes` is refused here, by length, before any parsing.
 */
export function parseViewerFrame(data: WsFrameData, maxTextBytes: number): ViewerFrame {
  // ws's event-target interface (which Nest listens on) gives text frames as
  // strings and binary frames as bytes.
  if (typeof data !== 'string') {
    const bytes = Array.isArray(data) ? Buffer.concat(data) : Buffer.isBuffer(data) ? data : Buffer.from(data);
    return { event: BINARY_EVENT, data: bytes };
  }
  if (Buffer.byteLength(data) > maxTextBytes) return { event: TOO_BIG_EVENT, data: data.length };
  let msg: ClientMessage;
  try {
    msg = parseClientMessage(data);
  } catch (err) {
    if (!(err instanceof ProtocolError)) throw err;
    return {
      event: INVALID_EVENT,
      data: { code: isBadRoomJoin(data) ? 'bad-room' : 'bad-message', message: err.message },
    };
  }
  switch (msg.type) {
    case 'join':
      return { event: 'join', data: msg };
    case 'leave':
      return { event: 'leave', data: msg };
    case 'ping':
      return { event: 'ping', data: msg };
    case 'chat':
      return { event: 'chat', data: msg };
    case 'hand':
      return { event: 'hand', data: msg };
    case 'layer':
      return { event: 'layer', data: msg };
    case 'audio':
      return { event: 'audio', data: msg };
  }
}
