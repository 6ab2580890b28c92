import { errors, jwtVerify, SignJWT, type JWTPayload } from 'jose';

export { assertStrongSecret, MIN_SECRET_BYTES, WeakSecretError } from './secret.js';

/*
 * HS256 JWTs through `jose`: signing, and verification pinned to HS256 (the
 * header can never talk us into `none`, another HMAC or an asymmetric
 * algorithm), with `exp` required, `nbf` and `iat` checked, and a small
 * clock tolerance for hosts whose clocks disagree a little. jose's errors
 * become our own stable codes, so that callers and logs never depend on a
 * library's messages.
 */

export type JwtErrorCode =
  'ERR_JWT_MALFORMED' | 'ERR_JWT_ALGORITHM' | 'ERR_JWT_SIGNATURE' | 'ERR_JWT_EXPIRED' | 'ERR_JWT_CLAIMS';

export class JwtError extends Error {
  constructor(
    readonly code: JwtErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'JwtError';
  }
}

export type JwtClaims = JWTPayload;

/** The only algorithm accepted. */
export const JWT_ALGORITHM = 'HS256';
/** Seconds of disagreement between clocks tolerated on `exp`, `nbf` and `iat`. */
export const JWT_CLOCK_TOLERANCE_S = 30;
/** Tokens longer than this are rejected before any work (the join message caps them too). */
export const MAX_JWT_LENGTH = 4_096;
/** The oldest `iat` accepted: the longest token lifetime `vidchat-gateway token` mints. */
export const MAX_TOKEN_AGE_S = 366 * 86_400;

const keyOf = (secret: string | Uint8Array): Uint8Array =>
  typeof secret === 'string' ? new TextEncoder().encode(secret) : secret;

/** Signs `claims` with HS256; `iat` is `nowMs` unless the claims set one. */
export async function signJwt(claims: JwtClaims, secret: string, nowMs: number = Date.now()): Promise<string> {
  return new SignJWT({ iat: Math.floor(nowMs / 1000), ...claims })
    .setProtectedHeader({ alg: JWT_ALGORITHM, typ: 'JWT' })
    .sign(keyOf(secret));
}

function translate(err: unknown): JwtError {
  if (err instanceof errors.JWTExpired) return new JwtError('ERR_JWT_EXPIRED', 'token expired');
  if (err instanceof errors.JWSSignatureVerificationFailed) {
    return new JwtError('ERR_JWT_SIGNATURE', 'token signature does not match');
  }
  if (err instanceof errors.JOSEAlgNotAllowed || err instanceof errors.JOSENotSupported) {
    return new JwtError('ERR_JWT_ALGORITHM', `token algorithm must be ${JWT_ALGORITHM}`);
  }
  if (err instanceof errors.JWTClaimValidationFailed) {
    return new JwtError('ERR_JWT_CLAIMS', `token claim ${err.claim} is not valid now: ${err.reason}`);
  }
  if (err instanceof errors.JOSEError || err instanceof TypeError) {
    return new JwtError('ERR_JWT_MALFORMED', 'token is not a well-formed JWT');
  }
  throw err;
}

/**
 * Verifies an HS256 token (signature in constant time, then `exp`, `nbf`,
 * `iat` with `JWT_CLOCK_TOLERANCE_S`) and returns its claims. `exp` and
 * `iat` are required. Throws only `JwtError`.
 */
export async function verifyJwt(
  token: string,
  secret: string | Uint8Array,
  nowMs: number = Date.now(),
): Promise<JwtClaims> {
  if (token.length > MAX_JWT_LENGTH) throw new JwtError('ERR_JWT_MALFORMED', 'token too long');
  try {
    const { payload } = await jwtVerify(token, keyOf(secret), {
      algorithms: [JWT_ALGORITHM],
      clockTolerance: JWT_CLOCK_TOLERANCE_S,
      currentDate: new Date(nowMs),
      requiredClaims: ['exp'],
      // Makes `iat` required and rejects one in the future (beyond the tolerance).
      maxTokenAge: MAX_TOKEN_AGE_S,
    });
    return payload;
  } catch (err) {
    throw translate(err);
  }
}
