import {
  BadMagicError,
  InvalidFieldError,
  PayloadTooLargeError,
  TrailingBytesError,
  TruncatedError,
  UnknownKindError,
  UnsupportedVersionError,
} from './errors.js';
import { ID_PATTERN, MAX_ID_LENGTH } from './ids.js';

/*
 * The media envelope: one binary layout on NATS and on the viewer WebSocket.
 * The gateway forwards these bytes unchanged. Multi-byte fields are
 * big-endian. The byte table, with golden vectors, is in docs/PROTOCOL.md.
 *
 *   off  size  field
 *   0    2     magic 0x56 0x43 ("VC")
 *   2    1     version (1)
 *   3    1     kind: 1 video, 2 audio, 3 mixed audio, 4 levels
 *   4    4     sequence number (u32, wraps)
 *   8    8     capture time, µs since the Unix epoch (u64, < 2^53)
 *   16   1     source id length N (1..64; 0 for mixed audio and levels)
 *   17   N     source id, ASCII
 *   17+N K     kind fields (video K=6, audio and mixed audio K=10, levels K=0)
 *   ..   4     payload length L (u32)
 *   ..   L     payload (JPEG, Opus packet, or levels JSON)
 */
export const ENVELOPE_MAGIC = 0x5643;
export const ENVELOPE_VERSION = 1;

export const EnvelopeKind = {
  video: 1,
  audio: 2,
  mixedAudio: 3,
  levels: 4,
} as const;
export type EnvelopeKindName = keyof typeof EnvelopeKind;

/** Codec bytes. Only one codec per media type today; the byte keeps room for more. */
export const VideoCodec = { jpeg: 1 } as const;
export const AudioCodec = { opus: 1 } as const;

/** Named limits, checked on encode and on decode. */
export const ENVELOPE_LIMITS = {
  /** Largest JPEG: stays under NATS's default 1 MiB max_payload with the header. */
  maxVideoPayloadBytes: 1_000_000,
  /** Largest Opus packet: 1275 bytes per frame, up to three frames per packet. */
  maxAudioPayloadBytes: 4_000,
  /** Largest levels JSON (per-source entries for a full room). */
  maxLevelsPayloadBytes: 32_768,
  /** Largest video edge in pixels. */
  maxVideoDimension: 8_192,
} as const;
export type EnvelopeLimits = { -readonly [K in keyof typeof ENVELOPE_LIMITS]: number };

export const OPUS_SAMPLE_RATES: readonly number[] = [8000, 12000, 16000, 24000, 48000];
/** Bounds of one packet's duration in µs (Opus frames are 2.5 to 120 ms). */
export const MIN_AUDIO_DURATION_US = 2_500;
export const MAX_AUDIO_DURATION_US = 120_000;

export const FIXED_HEADER_BYTES = 17;
export const PAYLOAD_LENGTH_BYTES = 4;
const VIDEO_FIELDS_BYTES = 6;
const AUDIO_FIELDS_BYTES = 10;

interface EnvelopeBase {
  /** Sequence number per source and kind, u32, wraps to 0. */
  seq: number;
  /** Capture time in µs since the Unix epoch, stamped on the capture host. */
  captureTimeUs: number;
  /** The bytes carried. Decoding returns a view into the input, not a copy. */
  payload: Uint8Array;
}

export interface VideoEnvelope extends EnvelopeBase {
  kind: 'video';
  source: string;
  width: number;
  height: number;
  codec: 'jpeg';
  /** Video layer: 0 is the configured size, 1 half the width (see `videoLayerSubject`). */
  layer: number;
}

export interface AudioFields {
  codec: 'opus';
  sampleRate: number;
  channels: number;
  /** Duration of the packet in µs (20 000 for 20 ms). */
  durationUs: number;
}

export interface AudioEnvelope extends EnvelopeBase, AudioFields {
  kind: 'audio';
  source: string;
}

export interface MixedAudioEnvelope extends EnvelopeBase, AudioFields {
  kind: 'mixedAudio';
  /** Always empty: the mix belongs to the room, not to a source. */
  source: '';
}

export interface LevelsEnvelope extends EnvelopeBase {
  kind: 'levels';
  source: '';
}

export type Envelope = VideoEnvelope | AudioEnvelope | MixedAudioEnvelope | LevelsEnvelope;

const KIND_BY_BYTE: ReadonlyMap<number, EnvelopeKindName> = new Map(
  Object.entries(EnvelopeKind).map(([name, byte]) => [byte, name as EnvelopeKindName]),
);

function fieldsLength(kind: EnvelopeKindName): number {
  switch (kind) {
    case 'video':
      return VIDEO_FIELDS_BYTES;
    case 'audio':
    case 'mixedAudio':
      return AUDIO_FIELDS_BYTES;
    case 'levels':
      return 0;
  }
}

function payloadLimit(kind: EnvelopeKindName, limits: EnvelopeLimits): number {
  switch (kind) {
    case 'video':
      return limits.maxVideoPayloadBytes;
    case 'audio':
    case 'mixedAudio':
      return limits.maxAudioPayloadBytes;
    case 'levels':
      return limits.maxLevelsPayloadBytes;
  }
}

/** Bytes `encodeInto` will write for `env`. */
export function encodedLength(env: Envelope): number {
  return FIXED_HEADER_BYTES + env.source.length + fieldsLength(env.kind) + PAYLOAD_LENGTH_BYTES + env.payload.length;
}

function checkCommon(env: Envelope, limits: EnvelopeLimits): void {
  if (!Number.isInteger(env.seq) || env.seq < 0 || env.seq > 0xffffffff) {
    throw new InvalidFieldError('seq', `${env.seq} is not a u32`);
  }
  if (!Number.isSafeInteger(env.captureTimeUs) || env.captureTimeUs < 0) {
    throw new InvalidFieldError('captureTimeUs', `${env.captureTimeUs} is not a non-negative safe integer`);
  }
  const sourced = env.kind === 'video' || env.kind === 'audio';
  if (sourced ? !ID_PATTERN.test(env.source) : env.source !== '') {
    throw new InvalidFieldError('source', sourced ? 'not a valid source id' : 'must be empty for room-level kinds');
  }
  const limit = payloadLimit(env.kind, limits);
  if (env.payload.length > limit) throw new PayloadTooLargeError(env.payload.length, limit);
  if (env.payload.length === 0) throw new InvalidFieldError('payload', 'empty');
}

function checkVideo(width: number, height: number, layer: number, limits: EnvelopeLimits): void {
  for (const [name, v] of [
    ['width', width],
    ['height', height],
  ] as const) {
    if (!Number.isInteger(v) || v < 1 || v > limits.maxVideoDimension) {
      throw new InvalidFieldError(name, `${v} is outside 1..${limits.maxVideoDimension}`);
    }
  }
  if (!Number.isInteger(layer) || layer < 0 || layer > 255) throw new InvalidFieldError('layer', `${layer}`);
}

function checkAudio(sampleRate: number, channels: number, durationUs: number): void {
  if (!OPUS_SAMPLE_RATES.includes(sampleRate)) {
    throw new InvalidFieldError('sampleRate', `${sampleRate} is not an Opus rate`);
  }
  if (channels !== 1 && channels !== 2) throw new InvalidFieldError('channels', `${channels} is not 1 or 2`);
  if (!Number.isInteger(durationUs) || durationUs < MIN_AUDIO_DURATION_US || durationUs > MAX_AUDIO_DURATION_US) {
    throw new InvalidFieldError(
      'durationUs',
      `${durationUs} is outside ${MIN_AUDIO_DURATION_US}..${MAX_AUDIO_DURATION_US}`,
    );
  }
}

/**
 * Writes `env` into `buf` at `offset`; returns the number of bytes written.
 * Throws a `ProtocolError` for an envelope that would not decode.
 */
export function encodeInto(
  env: Envelope,
  buf: Uint8Array,
  offset = 0,
  limits: EnvelopeLimits = ENVELOPE_LIMITS,
): number {
  checkCommon(env, limits);
  if (env.kind === 'video') checkVideo(env.width, env.height, env.layer, limits);
  else if (env.kind === 'audio' || env.kind === 'mixedAudio') checkAudio(env.sampleRate, env.channels, env.durationUs);
  const total = encodedLength(env);
  if (buf.length - offset < total) throw new RangeError(`buffer too small: needs ${total} bytes`);

  const view = new DataView(buf.buffer, buf.byteOffset + offset, total);
  view.setUint16(0, ENVELOPE_MAGIC);
  view.setUint8(2, ENVELOPE_VERSION);
  view.setUint8(3, EnvelopeKind[env.kind]);
  view.setUint32(4, env.seq);
  view.setUint32(8, Math.floor(env.captureTimeUs / 0x1_0000_0000));
  view.setUint32(12, env.captureTimeUs % 0x1_0000_0000);
  view.setUint8(16, env.source.length);
  let p = FIXED_HEADER_BYTES;
  for (let i = 0; i < env.source.length; i++) view.setUint8(p++, env.source.charCodeAt(i));
  switch (env.kind) {
    case 'video':
      view.setUint16(p, env.width);
      view.setUint16(p + 2, env.height);
      view.setUint8(p + 4, VideoCodec.jpeg);
      view.setUint8(p + 5, env.layer);
      p += VIDEO_FIELDS_BYTES;
      break;
    case 'audio':
    case 'mixedAudio':
      view.setUint8(p, AudioCodec.opus);
      view.setUint8(p + 1, env.channels);
      view.setUint32(p + 2, env.sampleRate);
      view.setUint32(p + 6, env.durationUs);
      p += AUDIO_FIELDS_BYTES;
      break;
    case 'levels':
      break;
  }
  view.setUint32(p, env.payload.length);
  p += PAYLOAD_LENGTH_BYTES;
  buf.set(env.payload, offset + p);
  return total;
}

/** Encodes `env` into a new buffer of exactly `encodedLength(env)` bytes. */
export function encodeEnvelope(env: Envelope, limits: EnvelopeLimits = ENVELOPE_LIMITS): Uint8Array {
  const out = new Uint8Array(encodedLength(env));
  encodeInto(env, out, 0, limits);
  return out;
}

/**
 * Decodes one envelope that fills `bytes` exactly. The returned payload is a
 * view into `bytes` (no copy): copy it if `bytes` is a reused buffer.
 * Throws only `ProtocolError` subclasses.
 */
export function decodeEnvelope(bytes: Uint8Array, limits: EnvelopeLimits = ENVELOPE_LIMITS): Envelope {
  if (bytes.length < FIXED_HEADER_BYTES) {
    // Report a bad magic before a short read when both bytes are there, so
    // that garbage is named as garbage.
    if (bytes.length >= 2) {
      const magic = ((bytes[0] ?? 0) << 8) | (bytes[1] ?? 0);
      if (magic !== ENVELOPE_MAGIC) throw new BadMagicError(magic);
    }
    throw new TruncatedError(FIXED_HEADER_BYTES, bytes.length);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const magic = view.getUint16(0);
  if (magic !== ENVELOPE_MAGIC) throw new BadMagicError(magic);
  const version = view.getUint8(2);
  if (version !== ENVELOPE_VERSION) throw new UnsupportedVersionError(version);
  const kindByte = view.getUint8(3);
  const kind = KIND_BY_BYTE.get(kindByte);
  if (kind === undefined) throw new UnknownKindError(kindByte);
  const seq = view.getUint32(4);
  const hi = view.getUint32(8);
  if (hi > 0x1f_ffff) throw new InvalidFieldError('captureTimeUs', 'above 2^53');
  const captureTimeUs = hi * 0x1_0000_0000 + view.getUint32(12);
  const idLength = view.getUint8(16);
  const sourced = kind === 'video' || kind === 'audio';
  if (sourced ? idLength < 1 || idLength > MAX_ID_LENGTH : idLength !== 0) {
    throw new InvalidFieldError('source', `length ${idLength} not allowed for kind ${kind}`);
  }
  const headerEnd = FIXED_HEADER_BYTES + idLength + fieldsLength(kind) + PAYLOAD_LENGTH_BYTES;
  if (bytes.length < headerEnd) throw new TruncatedError(headerEnd, bytes.length);
  let source = '';
  for (let i = 0; i < idLength; i++) source += String.fromCharCode(bytes[FIXED_HEADER_BYTES + i] ?? 0);
  if (sourced && !ID_PATTERN.test(source)) throw new InvalidFieldError('source', 'not a valid source id');

  let p = FIXED_HEADER_BYTES + idLength;
  const payloadLengthAt = headerEnd - PAYLOAD_LENGTH_BYTES;
  const payloadLength = view.getUint32(payloadLengthAt);
  const limit = payloadLimit(kind, limits);
  if (payloadLength > limit) throw new PayloadTooLargeError(payloadLength, limit);
  if (payloadLength === 0) throw new InvalidFieldError('payload', 'empty');
  const end = headerEnd + payloadLength;
  if (bytes.length < end) throw new TruncatedError(end, bytes.length);
  if (bytes.length > end) throw new TrailingBytesError(bytes.length - end);
  const payload = bytes.subarray(headerEnd, end);

  switch (kind) {
    case 'video': {
      const width = view.getUint16(p);
      const height = view.getUint16(p + 2);
      const codec = view.getUint8(p + 4);
      const layer = view.getUint8(p + 5);
      if (codec !== VideoCodec.jpeg) throw new InvalidFieldError('codec', `video codec ${codec}`);
      checkVideo(width, height, layer, limits);
      return { kind, source, seq, captureTimeUs, width, height, codec: 'jpeg', layer, payload };
    }
    case 'audio':
    case 'mixedAudio': {
      const codec = view.getUint8(p);
      const channels = view.getUint8(p + 1);
      const sampleRate = view.getUint32(p + 2);
      const durationUs = view.getUint32(p + 6);
      p += AUDIO_FIELDS_BYTES;
      if (codec !== AudioCodec.opus) throw new InvalidFieldError('codec', `audio codec ${codec}`);
      checkAudio(sampleRate, channels, durationUs);
      const fields = { seq, captureTimeUs, codec: 'opus' as const, sampleRate, channels, durationUs, payload };
      return kind === 'audio' ? { kind, source, ...fields } : { kind, source: '', ...fields };
    }
    case 'levels':
      return { kind, source: '', seq, captureTimeUs, payload };
  }
}

/**
 * Reads only the kind and source id, for routing without a full decode.
 * Returns null where `decodeEnvelope` would throw on the header (magic,
 * version, kind, capture time, source id), so a router never sees a source
 * id that a full decode would reject. It does not look at the kind fields or
 * the payload: a non-null result does not promise that the whole envelope
 * decodes.
 */
export function peekEnvelope(bytes: Uint8Array): { kind: EnvelopeKindName; source: string } | null {
  if (bytes.length < FIXED_HEADER_BYTES) return null;
  if (bytes[0] !== 0x56 || bytes[1] !== 0x43 || bytes[2] !== ENVELOPE_VERSION) return null;
  const kind = KIND_BY_BYTE.get(bytes[3] ?? 0);
  if (kind === undefined) return null;
  // The top 11 bits of the 64-bit capture time must be zero (below 2^53).
  if ((bytes[8] ?? 0) !== 0 || ((bytes[9] ?? 0) & 0xe0) !== 0) return null;
  const idLength = bytes[16] ?? 0;
  const sourced = kind === 'video' || kind === 'audio';
  if (sourced ? idLength < 1 || idLength > MAX_ID_LENGTH : idLength !== 0) return null;
  if (bytes.length < FIXED_HEADER_BYTES + idLength) return null;
  let source = '';
  for (let i = 0; i < idLength; i++) source += String.fromCharCode(bytes[FIXED_HEADER_BYTES + i] ?? 0);
  if (sourced && !ID_PATTERN.test(source)) return null;
  return { kind, source };
}
