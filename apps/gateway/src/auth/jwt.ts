import { createHmac, timingSafeEqual } from 'node:crypto';

/*
 * A deliberately small JWT implementation: HS256 only, compact form only.
 * Accepting a single algorithm means the header can never talk us into
 * `none` or an asymmetric key, which is the classic JWT pitfall.
 */

export type JwtErrorCode = 'ERR_JWT_MALFORMED' | 'ERR_JWT_ALGORITHM' | 'ERR_JWT_SIGNATURE' | 'ERR_JWT_EXPIRED';

export class JwtError extends Error {
  constructor(
    readonly code: JwtErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'JwtError';
  }
}

export type JwtClaims = Record<string, unknown> & { exp?: number };

const HEADER = base64url(Buffer.from(JSON.stringify({ alg: 'HS256', typ: 'JWT' })));
/** Tokens longer than this are rejected before any work (the join message caps them too). */
export const MAX_JWT_LENGTH = 4_096;

function base64url(bytes: Buffer): string {
  return bytes.toString('base64url');
}

/** `secret`: a string (its UTF-8 bytes, as `--viewer-secret` gives it) or raw key bytes. */
function sign(input: string, secret: string | Uint8Array): Buffer {
  return createHmac('sha256', secret).update(input).digest();
}

export function signJwt(claims: JwtClaims, secret: string | Uint8Array): string {
  const body = `${HEADER}.${base64url(Buffer.from(JSON.stringify(claims)))}`;
  return `${body}.${base64url(sign(body, secret))}`;
}

function decodePart(part: string, what: string): Record<string, unknown> {
  if (!/^[A-Za-z0-9_-]*$/.test(part)) throw new JwtError('ERR_JWT_MALFORMED', `token ${what} is not base64url`);
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(part, 'base64url').toString('utf8'));
  } catch {
    throw new JwtError('ERR_JWT_MALFORMED', `token ${what} is not JSON`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new JwtError('ERR_JWT_MALFORMED', `token ${what} is not an object`);
  }
  return value as Record<string, unknown>;
}

/**
 * Verifies signature (constant time) then expiry; returns the claims.
 * Throws only `JwtError`.
 */
export function verifyJwt(token: string, secret: string | Uint8Array, nowMs: number = Date.now()): JwtClaims {
  if (token.length > MAX_JWT_LENGTH) throw new JwtError('ERR_JWT_MALFORMED', 'token too long');
  const parts = token.split('.');
  if (parts.length !== 3) throw new JwtError('ERR_JWT_MALFORMED', 'token is not three dot-separated parts');
  const [h, p, s] = parts as [string, string, string];
  const header = decodePart(h, 'header');
  if (header['alg'] !== 'HS256') throw new JwtError('ERR_JWT_ALGORITHM', 'token algorithm must be HS256');
  if (!/^[A-Za-z0-9_-]+$/.test(s)) throw new JwtError('ERR_JWT_MALFORMED', 'token signature is not base64url');
  const expected = sign(`${h}.${p}`, secret);
  const given = Buffer.from(s, 'base64url');
  // timingSafeEqual needs equal lengths; the length of an HMAC is public.
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
    throw new JwtError('ERR_JWT_SIGNATURE', 'token signature does not match');
  }
  const claims = decodePart(p, 'payload') as JwtClaims;
  const exp = claims['exp'];
  if (exp !== undefined && (typeof exp !== 'number' || !Number.isFinite(exp))) {
    throw new JwtError('ERR_JWT_MALFORMED', 'token exp is not a number');
  }
  if (typeof exp === 'number' && nowMs >= exp * 1000) throw new JwtError('ERR_JWT_EXPIRED', 'token expired');
  return claims;
}
