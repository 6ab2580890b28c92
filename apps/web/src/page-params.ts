import { isValidId } from '@vidchat/protocol';
import { DECODE_METHODS, type DecodeMethod } from './render-options.js';

/**
 * What the page URL asks for: `?room=<id>&token=<secret>`, and for joining
 * with camera and microphone `&join=1&name=<display name>`; `&as=<source>`
 * watches as that source (playing its mix-minus); `&https-port=<n>` is the
 * gateway's https port when it is not the default (for the link shown on a
 * plain-http page); `&layer=0|1` asks that video layer for every visible
 * tile instead of choosing per tile (for benches and debugging: `layer=0`
 * is the layout before layers); `&decode=auto|blob|image-decoder` picks
 * how tiles decode frames (for benches: `blob` is the path before ImageDecoder).
 */
export interface PageParams {
  /** A valid room id, or null when absent. */
  room: string | null;
  /** The raw `room` value when it is present but not a valid id. */
  invalidRoom: string | null;
  token: string | null;
  /** `join=1`: join as a participant at once (asks for camera and microphone). */
  join: boolean;
  /** The display name from the URL, untrimmed; null when absent or empty. */
  name: string | null;
  /** `as=<source>`: a valid source id whose mix-minus this viewer plays; null when absent or invalid. */
  as: string | null;
  /** `https-port=<n>` when it is a valid port, else null. */
  httpsPort: number | null;
  /** `layer=0|1`: the layer every visible tile asks for; null (absent or invalid) chooses per tile. */
  layer: number | null;
  /** `decode=auto|image-decoder|blob`: how tiles decode frames; null (absent or unknown): the page's best. */
  decode: DecodeMethod | null;
}

const TRUE_VALUES: ReadonlySet<string> = new Set(['1', 'true', 'yes', '']);

export function readPageParams(search: string): PageParams {
  const q = new URLSearchParams(search);
  const raw = q.get('room');
  const token = q.get('token');
  const room = raw !== null && isValidId(raw) ? raw : null;
  const join = q.get('join');
  const as = q.get('as');
  const port = Number(q.get('https-port') ?? NaN);
  const layer = q.get('layer');
  return {
    room,
    invalidRoom: raw !== null && room === null ? raw : null,
    token: token || null,
    join: join !== null && TRUE_VALUES.has(join.toLowerCase()),
    name: q.get('name') || null,
    as: as !== null && isValidId(as) ? as : null,
    httpsPort: Number.isInteger(port) && port > 0 && port < 65_536 ? port : null,
    layer: layer === '0' || layer === '1' ? Number(layer) : null,
    decode: DECODE_METHODS.find((m) => m === q.get('decode')) ?? null,
  };
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
