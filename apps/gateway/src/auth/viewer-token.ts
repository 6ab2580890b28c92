import { isValidId, MAX_NAME_LENGTH } from '@vidchat/protocol';
import { assertStrongSecret, JwtError, signJwt, verifyJwt } from './jwt.js';

/*
 * Viewer tokens: an HS256 JWT whose claims are `rooms` (the room ids it
 * opens) and `exp` (seconds since the Unix epoch), and the grants `publish`
 * (join with camera and microphone), `record` (start and stop recordings)
 * and `name` (a fixed display name). A token must expire.
 */

/** What a token allows beyond watching its rooms. */
export interface ViewerGrants {
  publish: boolean;
  record: boolean;
  /** A display name the holder cannot change. */
  name?: string;
}

/** Everything allowed: a gateway without a viewer secret. */
export const OPEN_GRANTS: ViewerGrants = { publish: true, record: true };

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

export async function mintViewerToken(
  secret: string,
  rooms: readonly string[],
  ttlSeconds: number,
  nowMs = Date.now(),
  grants: Partial<ViewerGrants> = {},
): Promise<string> {
  assertStrongSecret(secret);
  return signJwt(
    {
      rooms: [...rooms],
      exp: Math.floor(nowMs / 1000) + ttlSeconds,
      ...(grants.publish ? { publish: true } : {}),
      ...(grants.record ? { record: true } : {}),
      ...(grants.name === undefined ? {} : { name: grants.name }),
    },
    secret,
    nowMs,
  );
}

/** Throws `TokenError` unless `token` is valid, unexpired and names `room`; returns its grants. */
export async function checkViewerToken(
  secret: string,
  token: string | undefined,
  room: string,
  nowMs = Date.now(),
): Promise<ViewerGrants> {
  if (token === undefined || token === '') throw new TokenError('ERR_TOKEN_MISSING', 'a token is required');
  let claims;
  try {
    claims = await verifyJwt(token, secret, nowMs);
  } catch (err) {
    if (err instanceof JwtError) throw new TokenError(err.code, err.message);
    throw err;
  }
  const rooms = claims['rooms'];
  if (typeof claims.exp !== 'number' || !Array.isArray(rooms) || !rooms.every(isValidId)) {
    throw new TokenError('ERR_TOKEN_CLAIMS', 'token needs `rooms` (room ids) and `exp`');
  }
  if (!rooms.includes(room)) throw new TokenError('ERR_TOKEN_ROOM', `token does not open room ${room}`);
  const name = claims['name'];
  if (name !== undefined && (typeof name !== 'string' || name.length === 0 || name.length > MAX_NAME_LENGTH)) {
    throw new TokenError('ERR_TOKEN_CLAIMS', `token name must be 1-${MAX_NAME_LENGTH} characters`);
  }
  return {
    publish: claims['publish'] === true,
    record: claims['record'] === true,
    ...(typeof name === 'string' ? { name } : {}),
  };
}
