import {
  CloseCode,
  parseServerMessage,
  type ClientMessage,
  type JoinMedia,
  type JoinMessage,
  type ServerMessage,
  type ViewerErrorCode,
} from '@vidchat/protocol';
import { backoffDelay, DEFAULT_BACKOFF, type BackoffOptions } from './backoff.js';

/** Connection status, as the status indicator shows it. */
export type ConnectionStatus =
  | { state: 'connecting'; attempt: number }
  | { state: 'live' }
  | { state: 'reconnecting'; attempt: number; retryAt: number; reason: string }
  | { state: 'failed'; code: ViewerErrorCode | 'bad-page'; message: string }
  | { state: 'closed' };

export interface ConnectionHandlers {
  onStatus(status: ConnectionStatus): void;
  /** A parsed JSON message from the gateway. */
  onMessage(msg: ServerMessage): void;
  /** A binary media envelope, undecoded. */
  onBinary(bytes: Uint8Array): void;
  /** A server `error` message, to be shown to the person. */
  onServerError(code: ViewerErrorCode, message: string): void;
  /** A text frame that did not parse (counted, not fatal). */
  onBadMessage(err: unknown): void;
}

export interface ConnectionOptions {
  url: string;
  room: string;
  token: string | null;
  /** Join as a participant with this name and media (the gateway answers with `self`). */
  publish?: { name: string; media: JoinMedia };
  /** Hear this source's mix-minus instead of the room's mix (`?as=`). */
  as?: string;
  backoff?: BackoffOptions;
}

/*
 * Errors after which reconnecting cannot help: the same join would be
 * refused again. Everything else (server restart, overload, network) is
 * retried with back-off.
 */
const FATAL_CODES: ReadonlySet<string> = new Set([
  'bad-room',
  'unauthorized',
  'bad-message',
  'binary-not-allowed',
  'bad-media',
]);

/**
 * One viewer WebSocket that joins a room and keeps re-joining it: on every
 * (re)connect it sends `join`, so the gateway answers with a fresh roster.
 */
export class ViewerConnection {
  private ws: WebSocket | null = null;
  private attempt = 0;
  private timer: ReturnType<typeof setTimeout> | null = null;
  private closed = false;
  private lastError: { code: ViewerErrorCode; message: string } | null = null;
  private selfId: string | null = null;

  constructor(
    private readonly opts: ConnectionOptions,
    private readonly handlers: ConnectionHandlers,
  ) {}

  /** The participant's source id on the current socket; null before its roster and while reconnecting. */
  get self(): string | null {
    return this.selfId;
  }

  /** Bytes queued on the current socket (0 without one). */
  get bufferedAmount(): number {
    return this.ws?.bufferedAmount ?? 0;
  }

  /**
   * Sends a media envelope built for `source`, only if that is still this
   * socket's `self`: after a reconnect the gateway may assign another id,
   * and an envelope naming another source closes the socket (1008).
   */
  sendMedia(source: string, envelope: Uint8Array): boolean {
    const ws = this.ws;
    if (!ws || ws.readyState !== WebSocket.OPEN || this.selfId === null || source !== this.selfId) return false;
    ws.send(envelope);
    return true;
  }

  start(): void {
    if (this.closed || this.ws) return;
    this.open();
  }

  /** Sends a control message (chat, hand) on the open socket; false when there is none. */
  send(msg: ClientMessage): boolean {
    const ws = this.ws;
    if (!ws || ws.readyState !== WebSocket.OPEN) return false;
    ws.send(JSON.stringify(msg));
    return true;
  }

  /** Idempotent: stops reconnecting and closes the socket. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.ws?.close(CloseCode.normal);
    this.ws = null;
    this.selfId = null;
    this.handlers.onStatus({ state: 'closed' });
  }

  private open(): void {
    this.handlers.onStatus({ state: 'connecting', attempt: this.attempt });
    this.lastError = null;
    this.selfId = null;
    const ws = new WebSocket(this.opts.url);
    ws.binaryType = 'arraybuffer';
    this.ws = ws;
    ws.onopen = () => ws.send(JSON.stringify(this.joinMessage()));
    ws.onmessage = (ev: MessageEvent<ArrayBuffer | string>) => {
      if (typeof ev.data !== 'string') {
        this.handlers.onBinary(new Uint8Array(ev.data));
        return;
      }
      let msg: ServerMessage;
      try {
        msg = parseServerMessage(ev.data);
      } catch (err) {
        this.handlers.onBadMessage(err);
        return;
      }
      if (msg.type === 'roster') {
        // The join was accepted: the back-off starts over.
        this.attempt = 0;
        this.selfId = msg.self ?? null;
        this.handlers.onStatus({ state: 'live' });
      } else if (msg.type === 'error') {
        this.lastError = { code: msg.code, message: msg.message };
        this.handlers.onServerError(msg.code, msg.message);
      }
      this.handlers.onMessage(msg);
    };
    ws.onclose = (ev) => {
      if (this.ws !== ws) return;
      this.ws = null;
      this.selfId = null;
      if (this.closed) return;
      const err = this.lastError;
      if (err && FATAL_CODES.has(err.code)) {
        this.handlers.onStatus({ state: 'failed', code: err.code, message: err.message });
        return;
      }
      const reason = err ? err.message : closeReason(ev);
      const delay = backoffDelay(this.attempt, this.opts.backoff ?? DEFAULT_BACKOFF);
      this.attempt++;
      this.handlers.onStatus({ state: 'reconnecting', attempt: this.attempt, retryAt: Date.now() + delay, reason });
      this.timer = setTimeout(() => {
        this.timer = null;
        if (!this.closed) this.open();
      }, delay);
    };
    // An error event is always followed by a close event, which decides.
    ws.onerror = () => undefined;
  }

  private joinMessage(): JoinMessage {
    const join: JoinMessage = { type: 'join', room: this.opts.room };
    if (this.opts.token) join.token = this.opts.token;
    const publish = this.opts.publish;
    if (publish) Object.assign(join, { publish: true, name: publish.name }, publish.media);
    else if (this.opts.as) join.as = this.opts.as;
    return join;
  }
}

function closeReason(ev: CloseEvent): string {
  if (ev.code === CloseCode.tryAgainLater) return 'the server is busy';
  if (ev.code === CloseCode.goingAway) return 'the server is restarting';
  if (ev.code === 1006) return 'the connection was lost';
  return ev.reason || `the connection closed (${ev.code})`;
}
