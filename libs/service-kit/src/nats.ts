import { readFileSync } from 'node:fs';
import {
  AuthorizationError,
  connect,
  credsAuthenticator,
  usernamePasswordAuthenticator,
  type Authenticator,
  type NatsConnection,
} from '@nats-io/transport-node';
import { createLogger, type Logger } from './logger.js';
import { opt } from './cli.js';

/*
 * The one NATS connection of a process. It is established with capped
 * back-off (a service may start before the broker), then reconnects forever.
 * Failures are converted here, once, into `NatsConnectError` with a stable
 * code; nobody else looks at NATS error messages.
 */

export const DEFAULT_NATS_URL = 'nats://127.0.0.1:4222';
/** First retry delay while the broker is unreachable, doubled up to the cap. */
export const NATS_RETRY_INITIAL_MS = 250;
export const NATS_RETRY_MAX_MS = 5_000;
/** Delay between reconnect attempts once connected (nats.js option). */
export const NATS_RECONNECT_WAIT_MS = 500;

export type NatsErrorCode = 'ERR_NATS_AUTH' | 'ERR_NATS_UNREACHABLE' | 'ERR_NATS_CREDS_FILE';

export class NatsConnectError extends Error {
  constructor(
    readonly code: NatsErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'NatsConnectError';
  }
}

/** Connection state as the services report it in /healthz, /metrics and status lines. */
export type NatsState =
  | { state: 'connecting' }
  | { state: 'connected'; server: string; serverName?: string }
  | { state: 'reconnecting'; since: number }
  | { state: 'closed' };

/** The NATS options every CLI shares; spread into an app's option spec. */
export const natsOptions = {
  nats: opt.natsUrl('nats', 'VIDCHAT_NATS_URL', 'NATS server URL(s), comma-separated', DEFAULT_NATS_URL),
  natsUser: opt.optionalString('nats-user', 'VIDCHAT_NATS_USER', 'NATS user name', '<user>'),
  natsPass: opt.secret('nats-pass', 'VIDCHAT_NATS_PASS', 'NATS password', '<password>'),
  natsCreds: opt.optionalString('nats-creds', 'VIDCHAT_NATS_CREDS', 'NATS .creds file (JWT + nkey seed)', '<file>'),
};

export interface NatsConnectOptions {
  servers: string;
  /** Client name shown by the server (`vidchat-agent demo/cam1`). */
  name: string;
  user?: string | undefined;
  pass?: string | undefined;
  credsFile?: string | undefined;
  /** Give up on the first connection after this many ms (default: never). */
  firstConnectTimeoutMs?: number;
  log?: Logger;
  /** Called on every state change. */
  onState?: (state: NatsState) => void;
  /** Stop retrying when this aborts (shutdown during the first connect). */
  signal?: AbortSignal;
}

export interface ServiceConnection {
  nc: NatsConnection;
  state(): NatsState;
}

function authenticator(o: NatsConnectOptions): Authenticator | undefined {
  if (o.credsFile) {
    let creds: Uint8Array;
    try {
      creds = readFileSync(o.credsFile);
    } catch (cause) {
      throw new NatsConnectError('ERR_NATS_CREDS_FILE', `cannot read NATS creds file ${o.credsFile}`, { cause });
    }
    return credsAuthenticator(creds);
  }
  if (o.user) return usernamePasswordAuthenticator(o.user, o.pass ?? '');
  return undefined;
}

function isAuthError(err: unknown): boolean {
  if (err instanceof AuthorizationError) return true;
  const cause = (err as { cause?: unknown } | null)?.cause;
  return cause instanceof AuthorizationError;
}

/**
 * Waits `ms`, or less when `signal` aborts. The abort listener is removed
 * when the wait ends: a retry loop calls this once per attempt with the same
 * signal, and listeners left behind would pile up on it (Node warns with
 * MaxListenersExceededWarning after ten).
 */
export function abortableSleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const onAbort = (): void => {
      clearTimeout(t);
      resolve();
    };
    const t = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/**
 * Connects, retrying while the broker is unreachable (logged at warn with
 * what to check), failing at once with ERR_NATS_AUTH on refused credentials.
 */
export async function connectNats(o: NatsConnectOptions): Promise<ServiceConnection> {
  const log = o.log ?? createLogger('nats');
  const auth = authenticator(o);
  let current: NatsState = { state: 'connecting' };
  const setState = (s: NatsState): void => {
    current = s;
    o.onState?.(s);
  };
  setState(current);
  const servers = o.servers.split(',').map((s) => s.trim());
  const started = Date.now();
  let delay = NATS_RETRY_INITIAL_MS;
  let attempt = 0;
  for (;;) {
    attempt++;
    try {
      const nc = await connect({
        servers,
        name: o.name,
        maxReconnectAttempts: -1,
        reconnectTimeWait: NATS_RECONNECT_WAIT_MS,
        pingInterval: 10_000,
        ...(auth ? { authenticator: auth } : {}),
      });
      setState(connectedState(nc, nc.getServer()));
      log.info('connected to NATS', { server: nc.getServer(), name: nc.info?.server_name, attempts: attempt });
      void watch(nc, log, setState);
      return { nc, state: () => current };
    } catch (err) {
      if (isAuthError(err)) {
        throw new NatsConnectError(
          'ERR_NATS_AUTH',
          `NATS at ${o.servers} refused the credentials${o.user ? ` of user "${o.user}"` : ''}: check --nats-user/--nats-pass or --nats-creds`,
          { cause: err },
        );
      }
      if (o.signal?.aborted) throw new NatsConnectError('ERR_NATS_UNREACHABLE', 'aborted while connecting to NATS');
      if (o.firstConnectTimeoutMs !== undefined && Date.now() - started > o.firstConnectTimeoutMs) {
        throw new NatsConnectError(
          'ERR_NATS_UNREACHABLE',
          `cannot reach NATS at ${o.servers} (${(err as Error).message}): is nats-server running?`,
          { cause: err },
        );
      }
      log.warn('cannot reach NATS, retrying: is nats-server running and --nats right?', {
        servers: o.servers,
        error: (err as Error).message,
        retryMs: delay,
      });
      await abortableSleep(delay, o.signal);
      delay = Math.min(delay * 2, NATS_RETRY_MAX_MS);
    }
  }
}

function connectedState(nc: NatsConnection, server: string): NatsState {
  const name = nc.info?.server_name;
  return name ? { state: 'connected', server, serverName: name } : { state: 'connected', server };
}

async function watch(nc: NatsConnection, log: Logger, setState: (s: NatsState) => void): Promise<void> {
  for await (const s of nc.status()) {
    switch (s.type) {
      case 'disconnect':
        setState({ state: 'reconnecting', since: Date.now() });
        log.warn('NATS connection lost, reconnecting', { server: s.server });
        break;
      case 'reconnect':
        // With several --nats URLs (a cluster) this may be another node: say which.
        setState(connectedState(nc, s.server));
        log.info('NATS reconnected', { server: s.server, name: nc.info?.server_name });
        break;
      case 'error':
        log.warn('NATS error', { error: s.error.message });
        break;
      case 'slowConsumer':
        log.debug('NATS slow consumer', { pending: s.pending });
        break;
      case 'close':
        setState({ state: 'closed' });
        break;
      default:
        break;
    }
  }
  setState({ state: 'closed' });
}
