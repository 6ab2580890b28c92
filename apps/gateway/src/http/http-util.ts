import type { Request, Response } from 'express';
import { assertValidId, ProtocolError, type HttpErrorBody, type HttpErrorCode } from '@vidchat/protocol';
import { TokenError, type RoomAuthorizer } from '../auth/viewer-token.js';

/** Error body of every JSON error: `{"error": code, "message": text}`. */
export function sendError(res: Response, status: number, error: HttpErrorCode, message: string): void {
  res.status(status).json({ error, message } satisfies HttpErrorBody);
}

/** The token of an HTTP request: `?token=` or `Authorization: Bearer …`. */
export function requestToken(req: Request): string | undefined {
  const q = req.query['token'];
  if (typeof q === 'string' && q !== '') return q;
  const h = req.headers.authorization;
  if (h && /^Bearer\s+/i.test(h)) return h.replace(/^Bearer\s+/i, '').trim();
  return undefined;
}

/** Validates ids from the path; answers 400 and returns null when one is bad. */
export function pathIds(res: Response, room: string, source?: string): { room: string; source: string } | null {
  try {
    return { room: assertValidId('room', room), source: source === undefined ? '' : assertValidId('source', source) };
  } catch (err) {
    if (!(err instanceof ProtocolError)) throw err;
    sendError(res, 400, 'bad-id', err.message);
    return null;
  }
}

/** Answers 401 and returns false unless the request's token opens `room`. */
export function authorized(auth: RoomAuthorizer, req: Request, res: Response, room: string): boolean {
  try {
    auth.check(requestToken(req), room);
    return true;
  } catch (err) {
    if (!(err instanceof TokenError)) throw err;
    res.setHeader('WWW-Authenticate', 'Bearer');
    sendError(res, 401, 'unauthorized', `not allowed to watch ${room}: ${err.message}`);
    return false;
  }
}
