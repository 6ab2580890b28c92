import { InvalidIdError } from './errors.js';

/** Room and source ids: what may appear as one token of a NATS subject. */
export const ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/;
export const MAX_ID_LENGTH = 64;

export function isValidId(value: unknown): value is string {
  return typeof value === 'string' && ID_PATTERN.test(value);
}

/** Returns the id unchanged, or throws `InvalidIdError` naming what it was for. */
export function assertValidId(what: 'room' | 'source', value: unknown): string {
  if (!isValidId(value)) throw new InvalidIdError(what, value);
  return value;
}
