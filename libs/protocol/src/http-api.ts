import { InvalidMessageError } from './errors.js';
import { arr, asObject, id, num, oneOf, optStr, str } from './json.js';
import { RECORDING_STATES, type RecordingState } from './recording.js';
import { parseSourceInfo, type SourceInfo } from './viewer-messages.js';

/*
 * The gateway's HTTP JSON bodies: `GET /api/rooms`, `GET /api/rooms/:room/sources`,
 * `GET /healthz` and the error body every JSON error shares. The gateway
 * builds them with these types; the viewer page and the tests read them with
 * these parsers. Parsers take what `response.json()` gave, ignore unknown
 * fields (a newer gateway may add some) and throw `InvalidMessageError` on
 * anything else.
 */

/** Most rooms a `/api/rooms` body may list, and most sources per room. */
export const MAX_HTTP_LIST_ITEMS = 10_000;

/** One room in `GET /api/rooms`. */
export interface RoomSummary {
  room: string;
  /** The room's live sources, as in the WebSocket roster. */
  sources: SourceInfo[];
  /** Viewers watching the room on this gateway. */
  watchers: number;
}

/** `GET /api/rooms`: the live rooms the request's token may watch. */
export interface RoomsResponse {
  rooms: RoomSummary[];
}

/** `GET /api/rooms/:room/sources`: the room's live sources (empty when the room is not live). */
export interface RoomSourcesResponse {
  room: string;
  sources: SourceInfo[];
}

export const HEALTH_STATUSES = ['ok', 'unavailable'] as const;
export const NATS_STATES = ['connecting', 'connected', 'reconnecting', 'closed'] as const;

/** `GET /healthz`: status `ok` (HTTP 200) while NATS is connected, `unavailable` (HTTP 503) otherwise. */
export interface HealthResponse {
  status: (typeof HEALTH_STATUSES)[number];
  nats: (typeof NATS_STATES)[number];
  /** Open viewer WebSockets. */
  viewers: number;
  /** Rooms the gateway knows (live sources), watched or not. */
  rooms: number;
  /** While connected: the NATS server (its `server_name`, or its address) the gateway is on. */
  natsServer?: string;
}

/** Stable `error` codes of the gateway's JSON error bodies. */
export type HttpErrorCode =
  | 'bad-id'
  /** 400: a `?layer=` that is not a layer number. */
  | 'bad-layer'
  | 'unauthorized'
  | 'no-frame'
  | 'too-many-streams'
  | 'too-many-rooms'
  /** 403: the token opens the room but lacks the `record` grant. */
  | 'forbidden'
  /** 404: no such recording in this room (or it has no stored file yet). */
  | 'not-found'
  /** 409: start while the room is already being recorded. */
  | 'already-recording'
  /** 409: stop of a recording that is not in progress. */
  | 'not-recording'
  /** 503: the recorder holds its `--max-recordings` already. */
  | 'too-many-recordings'
  /** 503: no recorder answers (none running, or NATS is down). */
  | 'recorder-unavailable'
  /** 500: the recorder failed (ffmpeg, storage) or answered nonsense. */
  | 'recorder-failed'
  /** 416: a `Range` the recording cannot satisfy. */
  | 'bad-range';

/** The body of every JSON error answer (4xx, 5xx). */
export interface HttpErrorBody {
  error: HttpErrorCode;
  /** Text for people. */
  message: string;
}

const count = (o: Record<string, unknown>, key: string, what: string): number =>
  num(o, key, what, 0, Number.MAX_SAFE_INTEGER, true);

function roomSummary(v: unknown): RoomSummary {
  const o = asObject(v, 'room');
  return {
    room: id(o, 'room', 'room'),
    sources: arr(o, 'sources', 'room', MAX_HTTP_LIST_ITEMS).map(parseSourceInfo),
    watchers: count(o, 'watchers', 'room'),
  };
}

export function parseRoomsResponse(body: unknown): RoomsResponse {
  const o = asObject(body, 'rooms response');
  return { rooms: arr(o, 'rooms', 'rooms response', MAX_HTTP_LIST_ITEMS).map(roomSummary) };
}

export function parseRoomSourcesResponse(body: unknown): RoomSourcesResponse {
  const o = asObject(body, 'sources response');
  return {
    room: id(o, 'room', 'sources response'),
    sources: arr(o, 'sources', 'sources response', MAX_HTTP_LIST_ITEMS).map(parseSourceInfo),
  };
}

export function parseHealthResponse(body: unknown): HealthResponse {
  const o = asObject(body, 'health');
  const base: HealthResponse = {
    status: oneOf(o, 'status', 'health', HEALTH_STATUSES),
    nats: oneOf(o, 'nats', 'health', NATS_STATES),
    viewers: count(o, 'viewers', 'health'),
    rooms: count(o, 'rooms', 'health'),
  };
  const server = optStr(o, 'natsServer', 'health', 256);
  return server === undefined ? base : { ...base, natsServer: server };
}

/**
 * Reads an error body. Any code of up to 64 characters is accepted, as for
 * the WebSocket `error` message, so that an older page survives a newer
 * gateway's codes.
 */
export function parseHttpError(body: unknown): HttpErrorBody {
  const o = asObject(body, 'error body');
  return { error: str(o, 'error', 'error body', 64) as HttpErrorCode, message: str(o, 'message', 'error body', 1024) };
}

/** `POST /api/rooms/:room/recordings` (201): the recording that started. */
export interface RecordingStartResponse {
  id: string;
  room: string;
  state: 'recording';
  /** Wall-clock start, ms since the Unix epoch. */
  startedAt: number;
}

/** `POST /api/rooms/:room/recordings/:id/stop` (200): the state it ended in (`done` or `failed`). */
export interface RecordingStopResponse {
  id: string;
  state: RecordingState;
}

/** One entry of `GET /api/rooms/:room/recordings` (newest first). */
export interface RecordingListItem {
  id: string;
  state: RecordingState;
  startedAt: number;
  /** Length so far (recording) or of the file. */
  durationMs: number;
  /** Bytes so far or stored. */
  bytes: number;
  /** Path of the MP4 download (`/api/rooms/:room/recordings/:id.mp4`); null until a file is stored. */
  url: string | null;
}

/** The download path of a stored recording. */
export function recordingDownloadPath(room: string, recordingId: string): string {
  return `/api/rooms/${encodeURIComponent(room)}/recordings/${encodeURIComponent(recordingId)}.mp4`;
}

function recordingItem(v: unknown): RecordingListItem {
  const o = asObject(v, 'recording');
  const url = o['url'];
  if (url !== null && (typeof url !== 'string' || url.length === 0 || url.length > 1_024)) {
    throw new InvalidMessageError('recording.url must be a path or null');
  }
  return {
    id: id(o, 'id', 'recording'),
    state: oneOf(o, 'state', 'recording', RECORDING_STATES),
    startedAt: count(o, 'startedAt', 'recording'),
    durationMs: count(o, 'durationMs', 'recording'),
    bytes: count(o, 'bytes', 'recording'),
    url,
  };
}

export function parseRecordingListResponse(body: unknown): RecordingListItem[] {
  if (!Array.isArray(body)) throw new InvalidMessageError('recordings response must be an array');
  if (body.length > MAX_HTTP_LIST_ITEMS) throw new InvalidMessageError('recordings response too long');
  return body.map(recordingItem);
}

export function parseRecordingStartResponse(body: unknown): RecordingStartResponse {
  const o = asObject(body, 'recording start');
  return {
    id: id(o, 'id', 'recording start'),
    room: id(o, 'room', 'recording start'),
    state: oneOf(o, 'state', 'recording start', ['recording'] as const),
    startedAt: count(o, 'startedAt', 'recording start'),
  };
}

export function parseRecordingStopResponse(body: unknown): RecordingStopResponse {
  const o = asObject(body, 'recording stop');
  return { id: id(o, 'id', 'recording stop'), state: oneOf(o, 'state', 'recording stop', RECORDING_STATES) };
}
