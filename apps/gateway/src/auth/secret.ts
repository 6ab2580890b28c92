/*
 * The viewer secret's minimum length, apart from the JWT code so that the
 * CLI can check a flag without importing jose.
 */

/**
 * The shortest secret accepted: HS256 is as strong as its key, and RFC 7518
 * §3.2 asks for a key at least as long as the hash (32 bytes).
 */
export const MIN_SECRET_BYTES = 32;
/** A secret too short for HS256: the CLI prints this on one line and exits 2. */
export class WeakSecretError extends Error {
  readonly code = 'ERR_WEAK_SECRET';
  constructor(what: string, bytes: number) {
    super(`${what} must be at least ${MIN_SECRET_BYTES} bytes (got ${bytes}); make one with: openssl rand -base64 32`);
    this.name = 'WeakSecretError';
  }
}

/** Throws `WeakSecretError` for a secret shorter than `MIN_SECRET_BYTES` (UTF-8). */
export function assertStrongSecret(secret: string, what = 'the viewer secret'): void {
  const bytes = Buffer.byteLength(secret, 'utf8');
  if (bytes < MIN_SECRET_BYTES) throw new WeakSecretError(what, bytes);
}
