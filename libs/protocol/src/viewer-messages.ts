import { arr, asObject, id, num, oneOf, optStr, parseJsonText, str, type JsonObject } from './json.js';
import { parseAudioInfo, parseVideoInfo, parseVideoLayers } from './media-info.js';
import {
  type AudioInfo,
  type SourceKind,
  type VideoInfo,
  type VideoLayerInfo,
  MAX_NAME_LENGTH,
  MAX_VIDEO_LAYERS,
  SOURCE_KINDS,
} from './presence.js';

/*
 * Viewer WebSocket control messages (JSON text frames on `GET /ws`).
 * Binary frames from the server are media envelopes; binary frames from a
 * viewer are a protocol violation.
 */

/** Largest text message a viewer may send. */
export const MAX_CLIENT_MESSAGE_BYTES = 4_096;
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

/**
 * Stable `error` event codes the gateway sends to viewers. Only codes the
 * gateway really sends belong here (docs/PROTOCOL.md lists the same ones).
 */
export const VIEWER_ERROR_CODES = [
  'bad-message',
  'bad-room',
  'unauthorized',
  'rate-limited',
  'too-many-viewers',
  'binary-not-allowed',
] as const;
export type ViewerErrorCode = (typeof VIEWER_ERROR_CODES)[number];

export type ClientMessage =
  { type: 'join'; room: string; token?: string } | { type: 'leave' } | { type: 'ping'; id?: string } | LayerRequest;

/**
 * Which video layer of `source` this viewer wants; null pauses that
 * source's video for this viewer. A source nobody asked about gets layer 0.
 */
export interface LayerRequest {
  type: 'layer';
  source: string;
  layer: number | null;
}

export interface SourceInfo {
  id: string;
  /** Shown as text only. */
  name: string;
  video: VideoInfo | null;
  audio: AudioInfo | null;
  /** The video layers the source publishes (from presence); absent means layer 0 only. */
  layers?: VideoLayerInfo[];
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
  | { type: 'pong'; id?: string };

export const CLIENT_MESSAGE_TYPES = ['join', 'leave', 'ping', 'layer'] as const;

/** Parses one text frame from a viewer; throws `InvalidMessageError` / `ProtocolError`. */
export function parseClientMessage(text: string): ClientMessage {
  const o = asObject(parseJsonText(text, MAX_CLIENT_MESSAGE_BYTES, 'message'), 'message');
  const type = oneOf(o, 'type', 'message', CLIENT_MESSAGE_TYPES);
  switch (type) {
    case 'join': {
      const token = optStr(o, 'token', 'join', MAX_TOKEN_LENGTH);
      return { type, room: id(o, 'room', 'join'), ...(token === undefined ? {} : { token }) };
    }
    case 'leave':
      return { type };
    case 'ping': {
      const pid = optStr(o, 'id', 'ping', 64);
      return { type, ...(pid === undefined ? {} : { id: pid }) };
    }
    case 'layer':
      return {
        type,
        source: id(o, 'source', 'layer'),
        layer: o['layer'] === null ? null : num(o, 'layer', 'layer', 0, MAX_VIDEO_LAYERS - 1, true),
      };
  }
}

/** Parses one source info (roster entry), as sent on the WebSocket and in the HTTP API. */
export function parseSourceInfo(v: unknown): SourceInfo {
  const o = asObject(v, 'source');
  return {
    id: id(o, 'id', 'source'),
    name: str(o, 'name', 'source', MAX_NAME_LENGTH),
    // Validated like presence, so that a roster entry is as trustworthy as
    // the presence message it was built from.
    video: parseVideoInfo(o['video'], 'source.video'),
    audio: parseAudioInfo(o['audio'], 'source.audio'),
    ...optionalLayers(o),
    since: num(o, 'since', 'source', 0, Number.MAX_SAFE_INTEGER),
    // Absent from a gateway older than participants: those only had agents.
    kind: o['kind'] === undefined ? 'agent' : oneOf(o, 'kind', 'source', SOURCE_KINDS),
  };
}

/** `{layers}` when the entry lists layers, else nothing (an older gateway: layer 0 only). */
function optionalLayers(o: JsonObject): { layers?: VideoLayerInfo[] } {
  const layers = parseVideoLayers(o, 'source');
  return layers === undefined ? {} : { layers };
}

/** Parses one text frame from the gateway (used by the viewer and by tests). */
export function parseServerMessage(text: string): ServerMessage {
  const o = asObject(parseJsonText(text, 1 << 20, 'message'), 'message');
  const type = oneOf(o, 'type', 'message', ['roster', 'source-joined', 'source-left', 'error', 'pong'] as const);
  switch (type) {
    case 'roster':
      return { type, room: id(o, 'room', type), sources: arr(o, 'sources', type, 10_000).map(parseSourceInfo) };
    case 'source-joined':
      return { type, room: id(o, 'room', type), source: parseSourceInfo(o['source']) };
    case 'source-left':
      return { type, room: id(o, 'room', type), source: id(o, 'source', type) };
    case 'error':
      return { type, code: str(o, 'code', type, 64) as ViewerErrorCode, message: str(o, 'message', type, 1024) };
    case 'pong': {
      const pid = optStr(o, 'id', 'pong', 64);
      return { type, ...(pid === undefined ? {} : { id: pid }) };
    }
  }
}

export function serverMessage(msg: ServerMessage): string {
  return JSON.stringify(msg);
}
