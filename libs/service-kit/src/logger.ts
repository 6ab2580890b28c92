/*
 * Named loggers. The rubric: info for lifecycle (start, stop, connect,
 * join/leave, restarts; at most about once a second), debug for anything per
 * frame or per packet, warn for something a person should look at, error for
 * a failure. One line per event: time, level, logger name, message, fields.
 */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error' | 'silent';
export const LOG_LEVELS: readonly LogLevel[] = ['debug', 'info', 'warn', 'error', 'silent'];
const RANK: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40, silent: 100 };

export type LogFields = Record<string, string | number | boolean | null | undefined>;

export interface Logger {
  readonly name: string;
  debug(msg: string, fields?: LogFields): void;
  info(msg: string, fields?: LogFields): void;
  warn(msg: string, fields?: LogFields): void;
  error(msg: string, fields?: LogFields): void;
  isDebug(): boolean;
  child(name: string): Logger;
}

let threshold = RANK.info;
let sink: (line: string) => void = (line) => process.stderr.write(line + '\n');

/** Set once from the app's config (`--log-level` / `VIDCHAT_LOG_LEVEL`). */
export function setLogLevel(level: LogLevel): void {
  threshold = RANK[level];
}

/** Redirects log lines (tests capture them). */
export function setLogSink(fn: (line: string) => void): void {
  sink = fn;
}

function format(fields: LogFields | undefined): string {
  if (!fields) return '';
  let out = '';
  for (const [k, v] of Object.entries(fields)) {
    if (v === undefined) continue;
    const s = String(v);
    out += ` ${k}=${/[\s"=]/.test(s) || s === '' ? JSON.stringify(s) : s}`;
  }
  return out;
}

export function createLogger(name: string): Logger {
  const emit = (level: LogLevel, msg: string, fields?: LogFields): void => {
    if (RANK[level] < threshold) return;
    sink(`${new Date().toISOString()} ${level.padEnd(5)} [${name}] ${msg}${format(fields)}`);
  };
  return {
    name,
    debug: (m, f) => emit('debug', m, f),
    info: (m, f) => emit('info', m, f),
    warn: (m, f) => emit('warn', m, f),
    error: (m, f) => emit('error', m, f),
    isDebug: () => threshold <= RANK.debug,
    child: (sub) => createLogger(`${name}.${sub}`),
  };
}
