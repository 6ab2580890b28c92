import { encodeEnvelope, ENVELOPE_LIMITS, type LevelsEnvelope } from './envelope.js';
import { InvalidMessageError } from './errors.js';
import { arr, asObject, id, num, parseJsonText, utf8Decode, utf8Encode } from './json.js';
import { isValidId } from './ids.js';

/*
 * Levels: the mixer's view of who is speaking, about 10 times a second.
 * Carried as UTF-8 JSON inside a `levels` envelope so that the gateway can
 * forward it to viewers as unchanged bytes, like every other media message.
 */
export const MAX_LEVEL_SOURCES = 256;
/** Quietest level reported; silence is clamped here. */
export const MIN_DBFS = -100;

export interface SourceLevel {
  source: string;
  /** RMS level of the last window, dBFS (MIN_DBFS..0). */
  dbfs: number;
  /** Peak of the last window, dBFS. */
  peakDbfs: number;
}

export interface LevelsMessage {
  room: string;
  sources: SourceLevel[];
  /** The active speaker after hysteresis, or null when nobody speaks. */
  active: string | null;
}

export function validateLevels(value: unknown): LevelsMessage {
  const o = asObject(value, 'levels');
  const sources = arr(o, 'sources', 'levels', MAX_LEVEL_SOURCES).map((s) => {
    const e = asObject(s, 'levels.sources[]');
    return {
      source: id(e, 'source', 'levels.sources[]'),
      dbfs: num(e, 'dbfs', 'levels.sources[]', MIN_DBFS, 0),
      peakDbfs: num(e, 'peakDbfs', 'levels.sources[]', MIN_DBFS, 0),
    };
  });
  const active = o['active'];
  if (active !== null && !isValidId(active)) throw new InvalidMessageError('levels.active must be a source id or null');
  return { room: id(o, 'room', 'levels'), sources, active };
}

export function encodeLevelsEnvelope(levels: LevelsMessage, seq: number, captureTimeUs: number): Uint8Array {
  const env: LevelsEnvelope = {
    kind: 'levels',
    source: '',
    seq,
    captureTimeUs,
    payload: utf8Encode(JSON.stringify(validateLevels(levels))),
  };
  return encodeEnvelope(env);
}

/** Reads the JSON of a decoded levels envelope; throws only `ProtocolError`. */
export function decodeLevelsPayload(payload: Uint8Array): LevelsMessage {
  const max = ENVELOPE_LIMITS.maxLevelsPayloadBytes;
  return validateLevels(parseJsonText(utf8Decode(payload, 'levels'), max, 'levels'));
}
