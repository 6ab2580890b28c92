import {
  createParamDecorator,
  Injectable,
  type ArgumentMetadata,
  type ExecutionContext,
  type PipeTransform,
} from '@nestjs/common';
import type { Request } from 'express';
import { assertValidId, ProtocolError } from '@vidchat/protocol';
import type { RoomAuthorizer } from '../auth/room-authorizer.js';
import { TokenError } from '../auth/viewer-token.js';
import { RoomCapError, type RoomRegistry, type WatchOptions } from '../rooms/room-registry.js';
import type { Room } from '../rooms/room.js';
import type { RoomWatcher } from '../rooms/room-watcher.js';
import { ApiError } from './api-error.js';

/** The token of an HTTP request: `?token=` or `Authorization: Bearer …`. */
export function requestToken(req: Request): string | undefined {
  const q = req.query['token'];
  if (typeof q === 'string' && q !== '') return q;
  const h = req.headers.authorization;
  if (h && /^Bearer\s+/i.test(h)) return h.replace(/^Bearer\s+/i, '').trim();
  return undefined;
}

/** Handler parameter: the request's viewer token (see `requestToken`), or undefined. */
export const RequestToken = createParamDecorator((_data: unknown, ctx: ExecutionContext) =>
  requestToken(ctx.switchToHttp().getRequest<Request>()),
);

/**
 * Validates a room or source id from the path (`@Param('room', ValidIdPipe)`):
 * a bad one is answered 400 `bad-id`, before it can reach a NATS subject.
 */
@Injectable()
export class ValidIdPipe implements PipeTransform<string, string> {
  transform(value: string, meta: ArgumentMetadata): string {
    try {
      return assertValidId(meta.data === 'source' ? 'source' : 'room', value);
    } catch (err) {
      if (!(err instanceof ProtocolError)) throw err;
      throw new ApiError(400, 'bad-id', err.message);
    }
  }
}

/** Throws 401 `unauthorized` unless `token` opens `room`. */
export async function authorize(auth: RoomAuthorizer, token: string | undefined, room: string): Promise<void> {
  try {
    await auth.check(token, room);
  } catch (err) {
    if (!(err instanceof TokenError)) throw err;
    throw new ApiError(401, 'unauthorized', `not allowed to watch ${room}: ${err.message}`, {
      'WWW-Authenticate': 'Bearer',
    });
  }
}

/** `registry.watch` for an HTTP route: over `--max-rooms` it is 503 `too-many-rooms`. */
export function watchOrRefuse(
  registry: RoomRegistry,
  room: string,
  watcher: RoomWatcher,
  opts?: WatchOptions,
): { room: Room; release: () => void } {
  try {
    return registry.watch(room, watcher, opts);
  } catch (err) {
    if (!(err instanceof RoomCapError)) throw err;
    throw new ApiError(503, 'too-many-rooms', `cannot watch ${room}: ${err.message}`, { 'Retry-After': '5' });
  }
}
