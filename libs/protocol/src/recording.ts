import { InvalidMessageError } from './errors.js';
import { isValidId } from './ids.js';
import { arr, asObject, id, num, oneOf, parseJsonText, str, utf8Decode, utf8Encode, type JsonObject } from './json.js';

/*
 * The recorder's request/reply API on `vidchat.rec.<room>.{start,stop,list}`
 * and its state-change events on `vidchat.rec.<room>.events`, as UTF-8
 * JSON. Every message carries `v`. A reply is either `{"v":1,"ok":true,…}`
 * or `{"v":1,"ok":false,"error":{"code","message"}}`; the gateway maps the
 * stable codes to HTTP statuses (`bad-room`/`bad-request` 400, `not-found`
 * 404, `already-recording` 409, `too-many-recordings` 503, …). Decoders
 * throw only `InvalidMessageError`.
 */
export const RECORDING_VERSION = 1;
/** Largest request or event, and largest reply except a list. */
export const MAX_RECORDING_MESSAGE_BYTES = 4_096;
/** Largest list reply: stays well under NATS's default 1 MiB payload. */
export const MAX_RECORDING_LIST_BYTES = 512 * 1024;
/** Most recordings one list reply carries (newest first). */
export const MAX_LISTED_RECORDINGS = 1_000;
/** Default JetStream object store bucket where finished recordings are kept. */
export const DEFAULT_RECORDINGS_BUCKET = 'vidchat-recordings';

export type RecordingState = 'recording' | 'done' | 'failed';
export const RECORDING_STATES: readonly RecordingState[] = ['recording', 'done', 'failed'];

/** Stable error codes of the recorder's replies. */
export type RecordingErrorCode =
  /** The room token of the subject is not a valid id (never sent for a valid subject; kept for the gateway's own checks). */
  | 'bad-room'
  /** The request body failed its schema. */
  | 'bad-request'
  /** No recording with this id in this room. */
  | 'not-found'
  /** This room is already being recorded. */
  | 'already-recording'
  /** The recorder holds `--max-recordings` recordings already. */
  | 'too-many-recordings'
  /** The recording exists but is not in progress (stop of a finished one). */
  | 'not-recording'
  /** ffmpeg, the object store or the disk failed. */
  | 'internal';
export const RECORDING_ERROR_CODES: readonly RecordingErrorCode[] = [
  'bad-room',
  'bad-request',
  'not-found',
  'already-recording',
  'too-many-recordings',
  'not-recording',
  'internal',
];

/** One recording, as listed and as returned by start and stop. */
export interface RecordingInfo {
  /** Recording id; a valid id (`[A-Za-z0-9][A-Za-z0-9_-]{0,63}`), unique per recorder deployment. */
  id: string;
  room: string;
  state: RecordingState;
  /** Wall-clock start, ms since the Unix epoch. */
  startedAt: number;
  /** Length so far (recording) or of the file (done, failed). */
  durationMs: number;
  /** Bytes of the MP4 so far or stored. */
  bytes: number;
  /** Name of the MP4 in the object store bucket once stored; null while recording or when nothing was stored. */
  object: string | null;
}

export type RecordingRequest = { action: 'start' } | { action: 'stop'; id: string } | { action: 'list' };

export interface RecordingError {
  code: RecordingErrorCode;
  message: string;
}

export type RecordingReply =
  | { ok: true; recording: RecordingInfo }
  | { ok: true; bucket: string; recordings: RecordingInfo[] }
  | { ok: false; error: RecordingError };

/** Published on `vidchat.rec.<room>.events` at each state change; the gateway relays it as the `recording` WS message. */
export interface RecordingEvent {
  type: 'recording';
  recording: RecordingInfo;
}

/** Typed error on the recorder's side, converted to a reply once at the NATS boundary. */
export class RecordingRequestError extends Error {
  constructor(
    readonly code: RecordingErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'RecordingRequestError';
  }
}

function checkVersion(o: JsonObject, what: string): void {
  if (o['v'] !== RECORDING_VERSION) throw new InvalidMessageError(`${what}.v must be ${RECORDING_VERSION}`);
}

function decodeJson(bytes: Uint8Array, max: number, what: string): JsonObject {
  if (bytes.length > max) throw new InvalidMessageError(`${what} over ${max} bytes`);
  const o = asObject(parseJsonText(utf8Decode(bytes, what), max, what), what);
  checkVersion(o, what);
  return o;
}

function encodeJson(value: object): Uint8Array {
  return utf8Encode(JSON.stringify({ v: RECORDING_VERSION, ...value }));
}

export function validateRecordingInfo(value: unknown, what = 'recording'): RecordingInfo {
  const o = asObject(value, what);
  const object = o['object'];
  if (object !== null && (typeof object !== 'string' || object.length === 0 || object.length > 256)) {
    throw new InvalidMessageError(`${what}.object must be a name of 1-256 characters or null`);
  }
  return {
    id: id(o, 'id', what),
    room: id(o, 'room', what),
    state: oneOf(o, 'state', what, RECORDING_STATES),
    startedAt: num(o, 'startedAt', what, 0, Number.MAX_SAFE_INTEGER, true),
    durationMs: num(o, 'durationMs', what, 0, Number.MAX_SAFE_INTEGER, true),
    bytes: num(o, 'bytes', what, 0, Number.MAX_SAFE_INTEGER, true),
    object,
  };
}

/** Request bodies: `start` and `list` carry nothing but the version; `stop` names the recording. */
export function encodeRecordingRequest(req: RecordingRequest): Uint8Array {
  return encodeJson(req.action === 'stop' ? { id: req.id } : {});
}

/**
 * Decodes the body of a request whose action came from its subject
 * (`tryParseRecSubject`). An unknown id in `stop` is a schema error
 * (`bad-request`) when it is not even a valid id, `not-found` otherwise.
 */
export function decodeRecordingRequest(action: 'start' | 'stop' | 'list', bytes: Uint8Array): RecordingRequest {
  const o = decodeJson(bytes, MAX_RECORDING_MESSAGE_BYTES, `${action} request`);
  if (action === 'stop') return { action, id: id(o, 'id', 'stop request') };
  return { action };
}

export function encodeRecordingReply(reply: RecordingReply): Uint8Array {
  return encodeJson(reply);
}

export function decodeRecordingReply(bytes: Uint8Array): RecordingReply {
  const o = decodeJson(bytes, MAX_RECORDING_LIST_BYTES, 'recording reply');
  if (o['ok'] === false) {
    const e = asObject(o['error'], 'recording reply.error');
    return {
      ok: false,
      error: {
        code: oneOf(e, 'code', 'recording reply.error', RECORDING_ERROR_CODES),
        message: str(e, 'message', 'recording reply.error', 1_000),
      },
    };
  }
  if (o['ok'] !== true) throw new InvalidMessageError('recording reply.ok must be true or false');
  if (o['recording'] !== undefined) return { ok: true, recording: validateRecordingInfo(o['recording']) };
  const bucket = o['bucket'];
  if (typeof bucket !== 'string' || bucket.length === 0 || bucket.length > 256) {
    throw new InvalidMessageError('recording reply.bucket must be a bucket name');
  }
  const recordings = arr(o, 'recordings', 'recording reply', MAX_LISTED_RECORDINGS).map((r) =>
    validateRecordingInfo(r, 'recording reply.recordings[]'),
  );
  return { ok: true, bucket, recordings };
}

export function encodeRecordingEvent(ev: RecordingEvent): Uint8Array {
  return encodeJson({ type: ev.type, recording: validateRecordingInfo(ev.recording) });
}

export function decodeRecordingEvent(bytes: Uint8Array): RecordingEvent {
  const o = decodeJson(bytes, MAX_RECORDING_MESSAGE_BYTES, 'recording event');
  if (o['type'] !== 'recording') throw new InvalidMessageError('recording event.type must be "recording"');
  return { type: 'recording', recording: validateRecordingInfo(o['recording'], 'recording event.recording') };
}

/**
 * The object store name of a recording's MP4: `<room>/<id>.mp4`. Both parts
 * are ids, so the name is safe in a URL path and in a file name.
 */
export function recordingObjectName(room: string, recordingId: string): string {
  if (!isValidId(room) || !isValidId(recordingId))
    throw new InvalidMessageError('room and recording id must be valid ids');
  return `${room}/${recordingId}.mp4`;
}

/** The inverse of `recordingObjectName`; null for any other object. */
export function parseRecordingObjectName(name: string): { room: string; id: string } | null {
  const m = /^([^/]+)\/([^/]+)\.mp4$/.exec(name);
  if (!m || !isValidId(m[1]) || !isValidId(m[2])) return null;
  return { room: m[1], id: m[2] };
}
