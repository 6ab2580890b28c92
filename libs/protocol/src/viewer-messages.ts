import { MAX_CHAT_TEXT_LENGTH } from './chat.js';
import { InvalidMessageError } from './errors.js';
import { arr, asObject, id, num, oneOf, optBool, optStr, parseJsonText, str, type JsonObject } from './json.js';
import { parseAudioInfo, parseVideoInfo, parseVideoLayers } from './media-info.js';
import { RECORDING_STATES, type RecordingState } from './recording.js';
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
 * Binary frames from the server are media envelopes. Binary frames from a
 * viewer are media envelopes too when it joined as a participant
 * (`publish: true`), and a protocol violation otherwise.
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
  'too-many-rooms',
  'message-too-big',
  'binary-not-allowed',
  /** A participant sent an envelope of another kind than video or audio, or naming another source. */
  'bad-media',
  /** A chat or hand message before a join. */
  'not-joined',
  // Chat: the message was refused and nothing was published; the socket stays open.
  'chat-empty',
  'chat-too-long',
  'chat-rate-limited',
  'chat-unavailable',
] as const;
export type ViewerErrorCode = (typeof VIEWER_ERROR_CODES)[number];

/** What a participant says it sends, for its presence (the gateway fills in what it omits). */
export interface JoinMedia {
  video?: VideoInfo;
  audio?: AudioInfo;
}

export interface JoinMessage extends JoinMedia {
  type: 'join';
  room: string;
  token?: string;
  /** Join as a participant: the gateway assigns a source id (`self` in the roster) and publishes its media. */
  publish?: true;
  /** The participant's display name (text only); a token's `name` grant overrides it. */
  name?: string;
  /**
   * Hear `as`'s mix-minus instead of the room's mix: a person at a capture
   * agent that listens (`--listen`) watching in a browser. Not with `publish`,
   * whose own mix-minus a participant gets anyway.
   */
  as?: string;
}

export type ClientMessage =
  | JoinMessage
  | { type: 'leave' }
  | { type: 'ping'; id?: string }
  | LayerRequest
  | AudioModeRequest
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

/**
 * How many people watch the room without publishing, on every gateway
 * together (viewer-count.ts); after `join`, then on a change, at most once
 * per `--viewer-count-interval-ms`.
 */
export interface ViewersMessage {
  type: 'viewers';
  room: string;
  count: number;
}

/**
 * Which video layer of `source` this viewer wants; null pauses that
 * source's video for this viewer. A source nobody asked about gets layer 0.
 */
export interface LayerRequest {
  type: 'layer';
  source: string;
  layer: number | null;
}

/**
 * What this viewer hears: `mix` (the default) is the room's mix (or the
 * viewer's mix-minus), one Opus stream; `sources` is each source's own audio
 * envelopes (kind `audio`, with the source id), never the viewer's own
 * source, so that the page can play each tile at its own volume. The mode
 * holds for the socket, across joins, until changed.
 */
export const AUDIO_MODES = ['mix', 'sources'] as const;
export type AudioMode = (typeof AUDIO_MODES)[number];

export interface AudioModeRequest {
  type: 'audio';
  mode: AudioMode;
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
  /** `self`: the participant's own source id, only after a join with `publish`. */
  | { type: 'roster'; room: string; sources: SourceInfo[]; self?: string }
  | { type: 'source-joined'; room: string; source: SourceInfo }
  | { type: 'source-left'; room: string; source: string }
  | { type: 'error'; code: ViewerErrorCode; message: string }
  | { type: 'pong'; id?: string }
  /** A recording of the room started or ended (`startedAt` ms since the Unix epoch); also sent after `roster` while one runs. */
  | { type: 'recording'; room: string; id: string; state: RecordingState; startedAt: number }
  | ChatMessage
  | HandMessage
  | ViewersMessage;

export const CLIENT_MESSAGE_TYPES = ['join', 'leave', 'ping', 'chat', 'hand', 'layer', 'audio'] as const;

/** Parses one text frame from a viewer; throws `InvalidMessageError` / `ProtocolError`. */
export function parseClientMessage(text: string): ClientMessage {
  const o = asObject(parseJsonText(text, MAX_CLIENT_MESSAGE_BYTES, 'message'), 'message');
  const type = oneOf(o, 'type', 'message', CLIENT_MESSAGE_TYPES);
  switch (type) {
    case 'join':
      return parseJoin(o);
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
    case 'layer':
      return {
        type,
        source: id(o, 'source', 'layer'),
        layer: o['layer'] === null ? null : num(o, 'layer', 'layer', 0, MAX_VIDEO_LAYERS - 1, true),
      };
    case 'audio':
      return { type, mode: oneOf(o, 'mode', 'audio', AUDIO_MODES) };
  }
}

function parseJoin(o: JsonObject): JoinMessage {
  const msg: JoinMessage = { type: 'join', room: id(o, 'room', 'join') };
  const token = optStr(o, 'token', 'join', MAX_TOKEN_LENGTH);
  if (token !== undefined) msg.token = token;
  // `publish: false` is the same as no `publish`: a plain viewer.
  if (optBool(o, 'publish', 'join') === true) msg.publish = true;
  const name = optStr(o, 'name', 'join', MAX_NAME_LENGTH);
  // A name of only spaces would show as nobody in the chat and the people list.
  if (name !== undefined && name.trim().length === 0) throw new InvalidMessageError('join.name must not be empty');
  if (name !== undefined) msg.name = name;
  const video = parseVideoInfo(o['video'], 'join.video');
  if (video) msg.video = video;
  const audio = parseAudioInfo(o['audio'], 'join.audio');
  if (audio) msg.audio = audio;
  if (o['as'] !== undefined) {
    msg.as = id(o, 'as', 'join');
    if (msg.publish) throw new InvalidMessageError('join.as and join.publish exclude each other');
  }
  return msg;
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
  const type = oneOf(o, 'type', 'message', [
    'roster',
    'source-joined',
    'source-left',
    'error',
    'pong',
    'recording',
    'chat',
    'hand',
    'viewers',
  ] as const);
  switch (type) {
    case 'roster': {
      const msg: ServerMessage = {
        type,
        room: id(o, 'room', type),
        sources: arr(o, 'sources', type, 10_000).map(parseSourceInfo),
      };
      return o['self'] === undefined ? msg : { ...msg, self: id(o, 'self', type) };
    }
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
    case 'recording':
      return {
        type,
        room: id(o, 'room', type),
        id: id(o, 'id', type),
        state: oneOf(o, 'state', type, RECORDING_STATES),
        startedAt: num(o, 'startedAt', type, 0, Number.MAX_SAFE_INTEGER, true),
      };
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
    case 'viewers':
      // The sum of every gateway's count: up to MAX_VIEWER_COUNT per gateway, so any safe integer.
      return { type, room: id(o, 'room', type), count: num(o, 'count', type, 0, Number.MAX_SAFE_INTEGER, true) };
  }
}

export function serverMessage(msg: ServerMessage): string {
  return JSON.stringify(msg);
}
