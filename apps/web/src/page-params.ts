import { isValidId } from '@vidchat/protocol';

/** What the page URL asks for: `?room=<id>&token=<secret>`. */
export interface PageParams {
  /** A valid room id, or null when absent. */
  room: string | null;
  /** The raw `room` value when it is present but not a valid id. */
  invalidRoom: string | null;
  token: string | null;
}

export function readPageParams(search: string): PageParams {
  const q = new URLSearchParams(search);
  const raw = q.get('room');
  const token = q.get('token');
  const room = raw !== null && isValidId(raw) ? raw : null;
  return { room, invalidRoom: raw !== null && room === null ? raw : null, token: token || null };
}

/** The page URL for a room, keeping the token so that a picked room can be joined. */
export function roomHref(room: string, token: string | null): string {
  const q = new URLSearchParams({ room });
  if (token) q.set('token', token);
  return `?${q.toString()}`;
}

/** The WebSocket URL of the gateway that served this page. */
export function socketUrl(loc: Location): string {
  const scheme = loc.protocol === 'https:' ? 'wss:' : 'ws:';
  return `${scheme}//${loc.host}/ws`;
}
