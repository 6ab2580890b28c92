import { arr, asObject, id, num, oneOf, str } from './json.js';
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
}

/** Stable `error` codes of the gateway's JSON error bodies. */
export type HttpErrorCode =
  'bad-id' | 'bad-layer' | 'unauthorized' | 'no-frame' | 'too-many-streams' | 'too-many-rooms';

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
  return {
    status: oneOf(o, 'status', 'health', HEALTH_STATUSES),
    nats: oneOf(o, 'nats', 'health', NATS_STATES),
    viewers: count(o, 'viewers', 'health'),
    rooms: count(o, 'rooms', 'health'),
  };
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
