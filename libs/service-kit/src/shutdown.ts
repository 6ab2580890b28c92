import { createLogger } from './logger.js';

/*
 * Clean stop on SIGINT/SIGTERM: handlers run once, in reverse order of
 * registration (last started, first stopped), under a deadline; a second
 * signal exits at once.
 */
export const SHUTDOWN_DEADLINE_MS = 5_000;

type Handler = () => Promise<void> | void;
const handlers: Handler[] = [];
let installed = false;
let stopping = false;
const log = createLogger('shutdown');

export function onShutdown(fn: Handler): void {
  handlers.push(fn);
  if (installed) return;
  installed = true;
  for (const sig of ['SIGINT', 'SIGTERM'] as const) {
    process.on(sig, () => {
      if (stopping) {
        log.warn('second signal: exiting now', { signal: sig });
        process.exit(130);
      }
      void shutdown(sig);
    });
  }
}

export async function shutdown(reason: string, exitCode = 0): Promise<never> {
  stopping = true;
  log.info('stopping', { reason });
  const deadline = setTimeout(() => {
    log.error('shutdown took too long: exiting', { deadlineMs: SHUTDOWN_DEADLINE_MS });
    process.exit(1);
  }, SHUTDOWN_DEADLINE_MS);
  deadline.unref();
  for (const fn of [...handlers].reverse()) {
    try {
      await fn();
    } catch (err) {
      log.warn('error while stopping', { error: (err as Error).message });
    }
  }
  process.exit(exitCode);
}
