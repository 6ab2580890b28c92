import { isValidId } from './ids.js';
import { utf8Decode, utf8Encode } from './json.js';

/*
 * The recorders' room locks: a contract between recorders (any version of
 * one must read what another wrote), so it lives here. A JetStream key-value
 * bucket, `RECORDER_LOCK_BUCKET`, holds one key per room being recorded,
 * `room.<room>`, whose value says which recorder records it and when that
 * recorder last renewed it. A start wins the room with a revision-checked
 * create (or, for a lapsed lock, an update against the revision it saw);
 * the holder renews it while recording and deletes it when the recording
 * ends. Values are UTF-8 JSON objects; one that does not decode is someone
 * else's live lock (never taken over before it lapses). See docs/PROTOCOL.md,
 * "Recorder room locks".
 */

/** The key-value bucket of the room locks (stream `KV_vidchat-recorder-locks`). */
export const RECORDER_LOCK_BUCKET = 'vidchat-recorder-locks';
export const RECORDER_LOCK_KEY_PREFIX = 'room.';

export interface RecorderLock {
  /** Instance id of the recorder that records the room. */
  owner: string;
  /** Id of the recording in progress. */
  recording: string;
  /** Holder's wall clock at the write, ms since the epoch (informative: lapses are judged on the reader's clock). */
  atMs: number;
}

/** The lock key of `room`, or null when `room` is not a valid id (every valid id is a valid key token). */
export function recorderLockKey(room: string): string | null {
  return isValidId(room) ? RECORDER_LOCK_KEY_PREFIX + room : null;
}

/** The room of a lock key, or null when it is not one. */
export function parseRecorderLockKey(key: string): string | null {
  if (!key.startsWith(RECORDER_LOCK_KEY_PREFIX)) return null;
  const room = key.slice(RECORDER_LOCK_KEY_PREFIX.length);
  return isValidId(room) ? room : null;
}

export function encodeRecorderLock(v: RecorderLock): Uint8Array {
  return utf8Encode(JSON.stringify({ owner: v.owner, recording: v.recording, atMs: v.atMs }));
}

/** A lock value, or null when it is not one (unknown fields are ignored). */
export function decodeRecorderLock(data: Uint8Array): RecorderLock | null {
  let o: unknown;
  try {
    o = JSON.parse(utf8Decode(data, 'recorder lock value'));
  } catch {
    return null;
  }
  if (typeof o !== 'object' || o === null || Array.isArray(o)) return null;
  const { owner, recording, atMs } = o as Record<string, unknown>;
  if (typeof owner !== 'string' || owner.length === 0 || !isValidId(recording)) return null;
  if (typeof atMs !== 'number' || !Number.isFinite(atMs)) return null;
  return { owner, recording, atMs };
}
