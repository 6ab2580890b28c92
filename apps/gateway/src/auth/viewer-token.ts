import { isValidId } from '@vidchat/protocol';
import { JwtError, signJwt, verifyJwt } from './jwt.js';

/*
 * Viewer tokens: an HS256 JWT whose claims are `rooms` (the room ids it
 * opens) and `exp` (seconds since the Unix epoch). A token must expire.
 */

export type TokenErrorCode = JwtError['code'] | 'ERR_TOKEN_MISSING' | 'ERR_TOKEN_CLAIMS' | 'ERR_TOKEN_ROOM';

export class TokenError extends Error {
  constructor(
    readonly code: TokenErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'TokenError';
  }
}

export function mintViewerToken(
  secret: string,
  rooms: readonly string[],
  ttlSeconds: number,
  nowMs = Date.now(),
): string {
  return signJwt({ rooms: [...rooms], exp: Math.floor(nowMs / 1000) + ttlSeconds }, secret);
}

/** Throws `TokenError` unless `token` is valid, unexpired and names `room`. */
export function checkViewerToken(secret: string, token: string | undefined, room: string, nowMs = Date.now()): void {
  if (token === undefined || token === '') throw new TokenError('ERR_TOKEN_MISSING', 'a token is required');
  let claims;
  try {
    claims = verifyJwt(token, secret, nowMs);
  } catch (err) {
    if (err instanceof JwtError) throw new TokenError(err.code, err.message);
    throw err;
  }
  const rooms = claims['rooms'];
  if (typeof claims.exp !== 'number' || !Array.isArray(rooms) || !rooms.every(isValidId)) {
    throw new TokenError('ERR_TOKEN_CLAIMS', 'token needs `rooms` (room ids) and `exp`');
  }
  if (!rooms.includes(room)) throw new TokenError('ERR_TOKEN_ROOM', `token does not open room ${room}`);
}
