import { Catch, HttpException, type ArgumentsHost, type ExceptionFilter } from '@nestjs/common';
import type { Response } from 'express';
import { RoomCapError, type RoomRegistry, type WatchOptions } from '../rooms/room-registry.js';
import type { Room } from '../rooms/room.js';
import type { RoomWatcher } from '../rooms/room-watcher.js';

/**
 * An HTTP error answered as `{"error": code, "message": text}` (the body of
 * every JSON error of the gateway), with optional headers such as
 * `WWW-Authenticate` or `Retry-After`. Controllers throw it; `ApiErrorFilter`
 * writes it.
 */
export class ApiError extends HttpException {
  constructor(
    status: number,
    readonly code: string,
    message: string,
    readonly headers: Readonly<Record<string, string>> = {},
  ) {
    super({ error: code, message }, status);
    this.name = 'ApiError';
  }
}

/**
 * Nest's default filter cannot set headers, and would answer the same status
 * with the same body otherwise; this one adds the error's headers.
 */
@Catch(ApiError)
export class ApiErrorFilter implements ExceptionFilter<ApiError> {
  catch(err: ApiError, host: ArgumentsHost): void {
    const res = host.switchToHttp().getResponse<Response>();
    if (res.headersSent) {
      res.end();
      return;
    }
    res.status(err.getStatus()).set(err.headers).json(err.getResponse());
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
