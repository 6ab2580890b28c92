import type { RawData, WebSocket } from 'ws';
import {
  CloseCode,
  isValidId,
  parseClientMessage,
  ProtocolError,
  serverMessage,
  type ServerMessage,
  type SourceInfo,
  type ViewerErrorCode,
} from '@vidchat/protocol';
import { createLogger } from '@vidchat/service-kit';
import { TokenError, type RoomAuthorizer } from '../auth/viewer-token.js';
import { TokenBucket } from '../limits/token-bucket.js';
import type { GatewayMetrics } from '../metrics/gateway-metrics.js';
import type { RoomRegistry } from '../rooms/room-registry.js';
import type { MediaFrame, RoomWatcher } from '../rooms/room-watcher.js';
import { MediaSender, type SenderLimits } from './media-sender.js';

export interface SessionLimits extends SenderLimits {
  messagesPerSecond: number;
  messageBurst: number;
  rateLimitStrikes: number;
}

export interface SessionDeps {
  registry: RoomRegistry;
  metrics: GatewayMetrics;
  auth: RoomAuthorizer;
  limits: SessionLimits;
}

const log = createLogger('gateway.viewer');

/**
 * Tells a join whose room is not a valid id (`bad-room`) from any other
 * malformed message (`bad-message`), by structure rather than by error text.
 */
function isBadRoomJoin(text: string): boolean {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return false;
  }
  if (typeof value !== 'object' || value === null) return false;
  const o = value as Record<string, unknown>;
  return o['type'] === 'join' && 'room' in o && !isValidId(o['room']);
}
let nextId = 1;

/** One viewer WebSocket: its control messages, its room, its media sender. */
export class ViewerSession implements RoomWatcher {
  readonly id = nextId++;
  /** Cleared on every ping, set by the pong: false at the next ping means dead. */
  alive = true;
  private joined: { room: string; release: () => void } | null = null;
  private readonly bucket: TokenBucket;
  private strikes = 0;
  private sender: MediaSender;
  private closed = false;

  constructor(
    readonly ws: WebSocket,
    private readonly deps: SessionDeps,
    private readonly onClosed: (s: ViewerSession) => void,
  ) {
    this.bucket = new TokenBucket(deps.limits.messagesPerSecond, deps.limits.messageBurst);
    this.sender = new MediaSender(ws, deps.limits, deps.metrics);
    ws.on('message', (data, isBinary) => this.onMessage(data, isBinary));
    ws.on('pong', () => {
      this.alive = true;
    });
    ws.on('close', () => this.dispose());
    ws.on('error', (err) => log.debug('viewer socket error', { viewer: this.id, error: err.message }));
  }

  get room(): string | null {
    return this.joined?.room ?? null;
  }

  /** Sends an `error` event then closes with `code`. */
  fail(code: ViewerErrorCode, message: string, closeCode: number = CloseCode.policyViolation): void {
    log.debug('closing viewer', { viewer: this.id, code, closeCode });
    this.sendJson({ type: 'error', code, message });
    this.close(closeCode, code);
  }

  close(code: number, reason = ''): void {
    if (this.ws.readyState === this.ws.OPEN || this.ws.readyState === this.ws.CONNECTING) this.ws.close(code, reason);
    this.dispose();
  }

  onSourceJoined(room: string, source: SourceInfo): void {
    this.sendJson({ type: 'source-joined', room, source });
  }

  onSourceLeft(room: string, source: string): void {
    this.sender.forget(source);
    this.sendJson({ type: 'source-left', room, source });
  }

  onMedia(frame: MediaFrame): void {
    if (frame.kind === 'video') this.sender.video(frame.source, frame.bytes);
    else this.sender.audio(frame.bytes);
  }

  private sendJson(msg: ServerMessage): void {
    if (this.ws.readyState === this.ws.OPEN) this.ws.send(serverMessage(msg));
  }

  private onMessage(data: RawData, isBinary: boolean): void {
    if (this.closed) return;
    const m = this.deps.metrics;
    if (isBinary) {
      m.reject('client-binary');
      this.fail('binary-not-allowed', 'viewers send JSON text messages only', CloseCode.unsupportedData);
      return;
    }
    if (!this.bucket.take()) {
      m.reject('client-rate-limited');
      this.strikes++;
      if (this.strikes >= this.deps.limits.rateLimitStrikes) {
        this.fail('rate-limited', 'too many messages: closing');
      } else {
        this.sendJson({ type: 'error', code: 'rate-limited', message: 'too many messages: this one was ignored' });
      }
      return;
    }
    const text = Array.isArray(data)
      ? Buffer.concat(data).toString('utf8')
      : Buffer.from(data as ArrayBuffer).toString('utf8');
    let msg;
    try {
      msg = parseClientMessage(text);
    } catch (err) {
      if (!(err instanceof ProtocolError)) throw err;
      if (isBadRoomJoin(text)) {
        m.reject('client-bad-room');
        this.fail('bad-room', err.message);
      } else {
        m.reject('client-bad-message');
        this.fail('bad-message', err.message);
      }
      return;
    }
    switch (msg.type) {
      case 'join':
        this.join(msg.room, msg.token);
        break;
      case 'leave':
        this.leave();
        break;
      case 'ping':
        this.sendJson({ type: 'pong', ...(msg.id === undefined ? {} : { id: msg.id }) });
        break;
    }
  }

  private join(room: string, token: string | undefined): void {
    try {
      this.deps.auth.check(token, room);
    } catch (err) {
      if (!(err instanceof TokenError)) throw err;
      this.deps.metrics.reject('client-unauthorized');
      this.fail('unauthorized', `not allowed to watch ${room}: ${err.message}`);
      return;
    }
    this.leave();
    const { room: r, release } = this.deps.registry.watch(room, this);
    this.joined = { room, release };
    log.debug('viewer joined', { viewer: this.id, room });
    this.sendJson({ type: 'roster', room, sources: r.roster() });
    // A late joiner gets each source's latest picture at once instead of
    // waiting for the next frame.
    for (const s of r.sources.values()) if (s.latestVideo) this.sender.video(s.info.id, s.latestVideo.bytes);
  }

  private leave(): void {
    if (!this.joined) return;
    this.joined.release();
    this.joined = null;
    this.sender.close();
    // A fresh sender for the next room: nothing of the old room may leak in.
    this.sender = new MediaSender(this.ws, this.deps.limits, this.deps.metrics);
  }

  private dispose(): void {
    if (this.closed) return;
    this.closed = true;
    this.joined?.release();
    this.joined = null;
    this.sender.close();
    this.onClosed(this);
  }
}
