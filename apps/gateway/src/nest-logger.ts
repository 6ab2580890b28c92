import type { LoggerService } from '@nestjs/common';
import { createLogger } from '@vidchat/service-kit';

const logger = createLogger('gateway.nest');
const text = (message: unknown): string => (typeof message === 'string' ? message : JSON.stringify(message));

/** Nest's own messages, through our logger; its chatter (route listing) is debug. */
export class NestLogger implements LoggerService {
  /**
   * While the port is being bound, Nest logs a failed listen itself; the
   * gateway turns that failure into one typed error, so the log is muted.
   */
  quiet = false;
  log(message: unknown): void {
    logger.debug(text(message));
  }
  error(message: unknown): void {
    if (this.quiet) logger.debug(text(message));
    else logger.error(text(message));
  }
  warn(message: unknown): void {
    logger.warn(text(message));
  }
  debug(message: unknown): void {
    logger.debug(text(message));
  }
  verbose(message: unknown): void {
    logger.debug(text(message));
  }
}
