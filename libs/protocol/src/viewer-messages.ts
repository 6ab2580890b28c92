import { MAX_CHAT_TEXT_LENGTH } from './chat.js';
import { arr, asObject, id, num, oneOf, optBool, optStr, parseJsonText, str } from './json.js';
import { parseAudioInfo, parseVideoInfo } from './media-info.js';
import { InvalidMessageError } from './errors.js';
import { type AudioInfo, type SourceKind, type VideoInfo, MAX_NAME_LENGTH, SOURCE_KINDS } from './presence.js';

/*
 * Viewer WebSocket control messages (JSON text frames on `GET /ws`).
 * Binary frames from the server are media envelopes; binary frames from a
 * viewer are a protocol violation.
 */

/**
 * Largest text message a viewer may send: room for a chat text of 2,000
 * characters of 4 UTF-8 bytes each, JSON-escaped.
 */
export const MAX_CLIENT_MESSAGE_BYTES = 16_384;
export const MAX_TOKEN_LENGTH = 2_048;

/** WebSocket close codes the gateway uses. */
export const CloseCode = {
  normal: 1000,
  goingAway: 1001,
  unsupportedData: 1003,
  policyViolation: 1008,
  messageTooBig: 1009,
  tryAgainLater: 1013,
} as const;

/** Stable `error` event codes sent to viewers. */
export type ViewerErrorCode =
  | 'bad-message'
  | 'bad-room'
  | 'bad-source'
  | 'unauthorized'
  | 'rate-limited'
  | 'too-many-viewers'
  | 'message-too-big'
  | 'binary-not-allowed'
  | 'not-joined'
  | 'unavailable'
  // Chat: the message was refused and nothing was published; the socket stays open.
  | 'chat-empty'
  | 'chat-too-long'
  | 'chat-rate-limited'
  | 'chat-unavailable';

export type ClientMessage =
  | { type: 'join'; room: string; token?: string; name?: string }
  | { type: 'leave' }
  | { type: 'ping'; id?: string }
  /** Checked by the gateway (trimmed, 1–2,000 characters); a bad text is an `error`, not a close. */
  | { type: 'chat'; text: string }
  | { type: 'hand'; raised: boolean };

/** A chat message as a viewer sees it; `history` marks the backlog sent on join. */
export interface ChatMessage {
  type: 'chat';
  id: string;
  name: string;
  text: string;
  ts: number;
  history?: true;
}

/** Someone in the room raised or lowered a hand; `who` is a source id for a participant. */
export interface HandMessage {
  type: 'hand';
  who: string;
  name: string;
  raised: boolean;
}

export interface SourceInfo {
  id: string;
  /** Shown as text only. */
  name: string;
  video: VideoInfo | null;
  audio: AudioInfo | null;
  /** When the gateway first saw this source, ms since the Unix epoch. */
  since: number;
  /** A capture agent or a browser participant (from presence; `agent` when presence did not say). */
  kind: SourceKind;
}

export type ServerMessage =
  | { type: 'roster'; room: string; sources: SourceInfo[] }
  | { type: 'source-joined'; room: string; source: SourceInfo }
  | { type: 'source-left'; room: string; source: string }
  | { type: 'error'; code: ViewerErrorCode; message: string }
  | { type: 'pong'; id?: string }
  | ChatMessage
  | HandMessage;

export const CLIENT_MESSAGE_TYPES = ['join', 'leave', 'ping', 'chat', 'hand'] as const;

/** Parses one text frame from a viewer; throws `InvalidMessageError` / `ProtocolError`. */
export function parseClientMessage(text: string): ClientMessage {
  const o = asObject(parseJsonText(text, MAX_CLIENT_MESSAGE_BYTES, 'message'), 'message');
  const type = oneOf(o, 'type', 'message', CLIENT_MESSAGE_TYPES);
  switch (type) {
    case 'join': {
      const token = optStr(o, 'token', 'join', MAX_TOKEN_LENGTH);
      const name = optStr(o, 'name', 'join', MAX_NAME_LENGTH);
      if (name !== undefined && name.trim().length === 0) throw new InvalidMessageError('join.name must not be empty');
      return {
        type,
        room: id(o, 'room', 'join'),
        ...(token === undefined ? {} : { token }),
        ...(name === undefined ? {} : { name }),
      };
    }
    case 'leave':
      return { type };
    case 'ping': {
      const pid = optStr(o, 'id', 'ping', 64);
      return { type, ...(pid === undefined ? {} : { id: pid }) };
    }
    case 'chat':
      // Any string that fits the frame: its trimmed length is the gateway's
      // check, answered with `chat-empty` / `chat-too-long` without a close.
      return { type, text: str(o, 'text', 'chat', MAX_CLIENT_MESSAGE_BYTES) };
    case 'hand': {
      const raised = optBool(o, 'raised', 'hand');
      if (raised === undefined) throw new InvalidMessageError('hand.raised must be true or false');
      return { type, raised };
    }
  }
}

function sourceInfo(v: unknown): SourceInfo {
  const o = asObject(v, 'source');
  return {
    id: id(o, 'id', 'source'),
    name: str(o, 'name', 'source', MAX_NAME_LENGTH),
    // Validated like presence, so that a roster entry is as trustworthy as
    // the presence message it was built from.
    video: parseVideoInfo(o['video'], 'source.video'),
    audio: parseAudioInfo(o['audio'], 'source.audio'),
    since: num(o, 'since', 'source', 0, Number.MAX_SAFE_INTEGER),
    // Absent from a gateway older than participants: those only had agents.
    kind: o['kind'] === undefined ? 'agent' : oneOf(o, 'kind', 'source', SOURCE_KINDS),
  };
}

/** Parses one text frame from the gateway (used by the viewer and by tests). */
export function parseServerMessage(text: string): ServerMessage {
  const o = asObject(parseJsonText(text, 1 << 20, 'message'), 'message');
  const type = oneOf(o, 'type', 'message', [
    'roster',
    'source-joined',
    'source-left',
    'error',
    'pong',
    'chat',
    'hand',
  ] as const);
  switch (type) {
    case 'roster':
      return { type, room: id(o, 'room', type), sources: arr(o, 'sources', type, 10_000).map(sourceInfo) };
    case 'source-joined':
      return { type, room: id(o, 'room', type), source: sourceInfo(o['source']) };
    case 'source-left':
      return { type, room: id(o, 'room', type), source: id(o, 'source', type) };
    case 'error':
      return { type, code: str(o, 'code', type, 64) as ViewerErrorCode, message: str(o, 'message', type, 1024) };
    case 'pong': {
      const pid = optStr(o, 'id', 'pong', 64);
      return { type, ...(pid === undefined ? {} : { id: pid }) };
    }
    case 'chat': {
      const history = optBool(o, 'history', type);
      return {
        type,
        id: id(o, 'id', type),
        name: str(o, 'name', type, MAX_NAME_LENGTH),
        text: str(o, 'text', type, 2 * MAX_CHAT_TEXT_LENGTH),
        ts: num(o, 'ts', type, 0, Number.MAX_SAFE_INTEGER, true),
        ...(history === true ? { history } : {}),
      };
    }
    case 'hand': {
      const raised = optBool(o, 'raised', type);
      if (raised === undefined) throw new InvalidMessageError('hand.raised must be true or false');
      return { type, who: id(o, 'who', type), name: str(o, 'name', type, MAX_NAME_LENGTH), raised };
    }
  }
}

export function serverMessage(msg: ServerMessage): string {
  return JSON.stringify(msg);
}
