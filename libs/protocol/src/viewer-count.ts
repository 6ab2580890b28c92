import { InvalidMessageError } from './errors.js';
import { asObject, id, num, parseJsonText, utf8Decode, utf8Encode } from './json.js';

/*
 * How many people watch a room, across gateways. Several gateways can serve
 * one room; each publishes, on `vidchat.viewers.<room>` (`viewersSubject`),
 * the number of its own viewers of the room: on a change (coalesced) and as
 * a heartbeat. Every gateway with viewers in the room keeps the latest report
 * of each other gateway until its `ttl` runs out, adds its own count, and
 * tells its viewers the total (the `viewers` WebSocket message).
 *
 * A viewer here is a socket joined to the room that does not publish (not a
 * participant): the people list names the participants, and says how many
 * more watch.
 */

/** Version of the report JSON; a reader drops versions it does not know. */
export const VIEWER_COUNT_VERSION = 1;
/** Largest report on NATS. */
export const MAX_VIEWER_COUNT_BYTES = 1_024;
/** Largest count one gateway may report (ten times its largest --max-viewers would be absurd already). */
export const MAX_VIEWER_COUNT = 10_000_000;
/** Longest a report may say it holds, ms. */
export const MAX_VIEWER_COUNT_TTL_MS = 600_000;

/** One gateway's count of one room's viewers. */
export interface ViewerCountReport {
  v: 1;
  room: string;
  /** The gateway's id, random per process: a restarted gateway is a new one. */
  gateway: string;
  /** Its viewers of the room (sockets joined that do not publish). */
  count: number;
  /**
   * How long the report holds, ms: a reader forgets it that long after it
   * arrived unless another report of the same gateway came. 0 is a goodbye:
   * the gateway no longer serves the room (its last viewer left, or it stops).
   */
  ttl: number;
  /** When it was sent, ms since the Unix epoch (for people; readers time by arrival). */
  ts: number;
}

export function encodeViewerCountReport(r: ViewerCountReport): Uint8Array {
  // Field by field, so that an object carrying more never leaks it onto NATS.
  const { v, room, gateway, count, ttl, ts } = r;
  return utf8Encode(JSON.stringify({ v, room, gateway, count, ttl, ts }));
}

/** Decodes and validates a report; throws `InvalidMessageError` (a `ProtocolError`). */
export function decodeViewerCountReport(bytes: Uint8Array): ViewerCountReport {
  if (bytes.length > MAX_VIEWER_COUNT_BYTES)
    throw new InvalidMessageError(`viewer count over ${MAX_VIEWER_COUNT_BYTES} bytes`);
  const o = asObject(parseJsonText(utf8Decode(bytes, 'viewers'), MAX_VIEWER_COUNT_BYTES, 'viewers'), 'viewers');
  if (o['v'] !== VIEWER_COUNT_VERSION) throw new InvalidMessageError(`viewers.v must be ${VIEWER_COUNT_VERSION}`);
  return {
    v: 1,
    room: id(o, 'room', 'viewers'),
    gateway: id(o, 'gateway', 'viewers'),
    count: num(o, 'count', 'viewers', 0, MAX_VIEWER_COUNT, true),
    ttl: num(o, 'ttl', 'viewers', 0, MAX_VIEWER_COUNT_TTL_MS, true),
    ts: num(o, 'ts', 'viewers', 0, Number.MAX_SAFE_INTEGER, true),
  };
}
