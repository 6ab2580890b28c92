import { InvalidMessageError } from './errors.js';
import { isValidId } from './ids.js';

/*
 * Small schema helpers for the JSON messages. Hand-written so that the
 * protocol lib keeps zero dependencies and runs unchanged in the browser.
 */
export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
export type JsonObject = { [key: string]: unknown };

export function parseJsonText(text: string, maxBytes: number, what: string): unknown {
  if (text.length > maxBytes) throw new InvalidMessageError(`${what} over ${maxBytes} bytes`);
  try {
    return JSON.parse(text) as unknown;
  } catch (cause) {
    throw new InvalidMessageError(`${what} is not JSON`, { cause });
  }
}

export function asObject(value: unknown, what: string): JsonObject {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new InvalidMessageError(`${what} must be a JSON object`);
  }
  return value as JsonObject;
}

export function str(o: JsonObject, key: string, what: string, maxLength = 256): string {
  const v = o[key];
  if (typeof v !== 'string' || v.length > maxLength) {
    throw new InvalidMessageError(`${what}.${key} must be a string of at most ${maxLength} characters`);
  }
  return v;
}

export function optStr(o: JsonObject, key: string, what: string, maxLength = 256): string | undefined {
  return o[key] === undefined ? undefined : str(o, key, what, maxLength);
}

export function id(o: JsonObject, key: string, what: string): string {
  const v = o[key];
  if (!isValidId(v)) throw new InvalidMessageError(`${what}.${key} must be a valid id`);
  return v;
}

export function num(o: JsonObject, key: string, what: string, min: number, max: number, integer = false): number {
  const v = o[key];
  if (typeof v !== 'number' || !Number.isFinite(v) || v < min || v > max || (integer && !Number.isInteger(v))) {
    throw new InvalidMessageError(`${what}.${key} must be ${integer ? 'an integer' : 'a number'} in ${min}..${max}`);
  }
  return v;
}

export function optBool(o: JsonObject, key: string, what: string): boolean | undefined {
  const v = o[key];
  if (v === undefined) return undefined;
  if (typeof v !== 'boolean') throw new InvalidMessageError(`${what}.${key} must be true or false`);
  return v;
}

export function oneOf<T extends string>(o: JsonObject, key: string, what: string, values: readonly T[]): T {
  const v = o[key];
  if (typeof v !== 'string' || !(values as readonly string[]).includes(v)) {
    throw new InvalidMessageError(`${what}.${key} must be one of ${values.join(', ')}`);
  }
  return v as T;
}

export function arr(o: JsonObject, key: string, what: string, maxItems: number): unknown[] {
  const v = o[key];
  if (!Array.isArray(v) || v.length > maxItems) {
    throw new InvalidMessageError(`${what}.${key} must be an array of at most ${maxItems} items`);
  }
  return v;
}

const utf8Decoder = new TextDecoder('utf-8', { fatal: true });
const utf8Encoder = new TextEncoder();

export function utf8Decode(bytes: Uint8Array, what: string): string {
  try {
    return utf8Decoder.decode(bytes);
  } catch (cause) {
    throw new InvalidMessageError(`${what} is not UTF-8`, { cause });
  }
}

export function utf8Encode(text: string): Uint8Array {
  return utf8Encoder.encode(text);
}
