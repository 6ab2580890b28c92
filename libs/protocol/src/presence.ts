import { InvalidMessageError } from './errors.js';
import { parseAudioInfo, parseVideoInfo, parseVideoLayers } from './media-info.js';
import {
  asObject,
  id,
  num,
  oneOf,
  optBool,
  optStr,
  parseJsonText,
  str,
  utf8Decode,
  utf8Encode,
  type JsonObject,
} from './json.js';

/*
 * Presence: what a source (a capture agent, or the gateway for a browser
 * participant) says about itself on `vidchat.src.<room>.<source>.presence`,
 * as UTF-8 JSON. `join` once, `heartbeat` every second, `leave` on a clean
 * stop.
 *
 * `kind` and `listens` came after the first agents: absent, they stay
 * absent on decode (so older messages and the golden vectors round-trip
 * byte for byte), and `presenceKind` / `presenceListens` give their
 * defaults, `agent` and false, in one place.
 */
export const PRESENCE_VERSION = 1;
/** A source silent this long (no heartbeat) is gone. */
export const PRESENCE_TIMEOUT_MS = 3_000;
export const PRESENCE_INTERVAL_MS = 1_000;
export const MAX_PRESENCE_BYTES = 4_096;
export const MAX_NAME_LENGTH = 64;

export type PresenceType = 'join' | 'heartbeat' | 'leave';

/** Who publishes a source: a capture agent, or the gateway for a browser participant. */
export type SourceKind = 'agent' | 'participant';
export const SOURCE_KINDS: readonly SourceKind[] = ['agent', 'participant'];

export interface VideoInfo {
  codec: 'jpeg';
  width: number;
  height: number;
  fps: number;
}

/** One video layer a source publishes (layer 0 is the `video` size; layer 1 is smaller). */
export interface VideoLayerInfo {
  layer: number;
  width: number;
  height: number;
  fps: number;
}

/** The most layers one source may announce. */
export const MAX_VIDEO_LAYERS = 2;

export interface AudioInfo {
  codec: 'opus';
  sampleRate: number;
  channels: number;
  frameDurationMs: number;
}

export interface PresenceMessage {
  v: typeof PRESENCE_VERSION;
  type: PresenceType;
  room: string;
  source: string;
  /** Free text label chosen by a person: always shown as text, never as HTML. */
  name: string;
  /** Wall-clock time of sending, ms since the Unix epoch. */
  ts: number;
  video: VideoInfo | null;
  audio: AudioInfo | null;
  /**
   * The video layers the source publishes, by layer number. Absent (a source
   * older than layers) means layer 0 only, at the `video` size.
   */
  layers?: VideoLayerInfo[];
  /** Absent means `agent`: read it with `presenceKind`. */
  kind?: SourceKind;
  /**
   * True when a person hears the room through this source, so the mixer
   * publishes its mix-minus. Absent means false: read it with `presenceListens`.
   */
  listens?: boolean;
  /** Optional agent details for operators. */
  agent?: { version: string; host?: string };
}

/** Validates an already-parsed JSON value as a presence message. */
export function validatePresence(value: unknown): PresenceMessage {
  const o: JsonObject = asObject(value, 'presence');
  if (o['v'] !== PRESENCE_VERSION) throw new InvalidMessageError(`presence.v must be ${PRESENCE_VERSION}`);
  const msg: PresenceMessage = {
    v: PRESENCE_VERSION,
    type: oneOf(o, 'type', 'presence', ['join', 'heartbeat', 'leave'] as const),
    room: id(o, 'room', 'presence'),
    source: id(o, 'source', 'presence'),
    name: str(o, 'name', 'presence', MAX_NAME_LENGTH),
    ts: num(o, 'ts', 'presence', 0, Number.MAX_SAFE_INTEGER),
    video: parseVideoInfo(o['video'], 'presence.video'),
    audio: parseAudioInfo(o['audio'], 'presence.audio'),
  };
  const layers = parseVideoLayers(o, 'presence');
  if (layers !== undefined) msg.layers = layers;
  if (o['kind'] !== undefined) msg.kind = oneOf(o, 'kind', 'presence', SOURCE_KINDS);
  const listens = optBool(o, 'listens', 'presence');
  if (listens !== undefined) msg.listens = listens;
  if (o['agent'] !== undefined) {
    const a = asObject(o['agent'], 'presence.agent');
    const host = optStr(a, 'host', 'presence.agent', 128);
    msg.agent = { version: str(a, 'version', 'presence.agent', 64), ...(host === undefined ? {} : { host }) };
  }
  return msg;
}

/** The source's kind, `agent` when the message does not say. */
export function presenceKind(msg: PresenceMessage): SourceKind {
  return msg.kind ?? 'agent';
}

/** Whether the source listens (gets a mix-minus), false when the message does not say. */
export function presenceListens(msg: PresenceMessage): boolean {
  return msg.listens === true;
}

export function encodePresence(msg: PresenceMessage): Uint8Array {
  return utf8Encode(JSON.stringify(validatePresence(msg)));
}

/** Decodes presence bytes from NATS; throws only `ProtocolError`. */
export function decodePresence(bytes: Uint8Array): PresenceMessage {
  if (bytes.length > MAX_PRESENCE_BYTES) throw new InvalidMessageError(`presence over ${MAX_PRESENCE_BYTES} bytes`);
  return validatePresence(parseJsonText(utf8Decode(bytes, 'presence'), MAX_PRESENCE_BYTES, 'presence'));
}
