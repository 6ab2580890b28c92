import { Catch, HttpException, type ArgumentsHost, type ExceptionFilter } from '@nestjs/common';
import type { Response } from 'express';
import type { HttpErrorBody, HttpErrorCode } from '@vidchat/protocol';

/**
 * An HTTP error answered as `{"error": code, "message": text}` (the body of
 * every JSON error of the gateway), with optional headers such as
 * `WWW-Authenticate` or `Retry-After`. Controllers throw it; `ApiErrorFilter`
 * writes it.
 */
export class ApiError extends HttpException {
  constructor(
    status: number,
    readonly code: HttpErrorCode,
    message: string,
    readonly headers: Readonly<Record<string, string>> = {},
  ) {
    super({ error: code, message } satisfies HttpErrorBody, status);
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
