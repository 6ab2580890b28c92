import type { WebSocket } from 'ws';
import { CloseCode, serverMessage, type ServerMessage, type SourceInfo, type ViewerErrorCode } from '@vidchat/protocol';
import { createLogger } from '@vidchat/service-kit';
import type { RoomAuthorizer } from '../auth/room-authorizer.js';
import { TokenError } from '../auth/viewer-token.js';
import { TokenBucket } from '../limits/token-bucket.js';
import type { GatewayMetrics } from '../metrics/gateway-metrics.js';
import { RoomCapError, type RoomRegistry } from '../rooms/room-registry.js';
import type { MediaFrame, RoomWatcher } from '../rooms/room-watcher.js';
import { MediaSender, type SenderLimits } from './media-sender.js';
import type { InvalidFrame } from './viewer-frames.js';

export interface SessionLimits extends SenderLimits {
  messagesPerSecond: number;
  messageBurst: number;
  rateLimitStrikes: number;
  rateLimitStrikeDecayMs: number;
}

export interface SessionDeps {
  registry: RoomRegistry;
  metrics: GatewayMetrics;
  auth: RoomAuthorizer;
  limits: SessionLimits;
}

const log = createLogger('gateway.viewer');
let nextId = 1;

/**
 * One viewer WebSocket: its rate limit, its room, its media sender. The
 * viewer gateway routes the socket's control messages here; media goes out
 * through the sender as raw `ws` frames.
 */
export class ViewerSession implements RoomWatcher {
  readonly id = nextId++;
  /** Cleared on every ping, set by the pong: false at the next ping means dead. */
  alive = true;
  private joined: { room: string; release: () => void } | null = null;
  private readonly bucket: TokenBucket;
  /**
   * Strikes (messages over the rate) as a leaky bucket: a strike spends one
   * of `rateLimitStrikes - 1` allowances, which come back at one per
   * `rateLimitStrikeDecayMs`; a strike with none left closes the viewer. So
   * `rateLimitStrikes` strikes close it only when they come within about
   * that many decay periods, never for slips spread over hours.
   */
  private readonly strikeAllowance: TokenBucket;
  private sender: MediaSender;
  private closed = false;

  constructor(
    readonly ws: WebSocket,
    private readonly deps: SessionDeps,
    private readonly onClosed: (s: ViewerSession) => void,
  ) {
    const l = deps.limits;
    this.bucket = new TokenBucket(l.messagesPerSecond, l.messageBurst);
    this.strikeAllowance = new TokenBucket(1000 / l.rateLimitStrikeDecayMs, l.rateLimitStrikes - 1);
    this.sender = new MediaSender(ws, deps.limits, deps.metrics);
    ws.on('pong', () => {
      this.alive = true;
    });
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

  /**
   * Counts one control message against the rate limit. False means "ignore
   * it": the session is closed, or the message was over the rate (answered
   * with `rate-limited`, and after too many strikes closed with 1008).
   */
  admit(): boolean {
    if (this.closed) return false;
    if (this.bucket.take()) return true;
    this.deps.metrics.reject('client-rate-limited');
    if (this.strikeAllowance.take()) {
      this.sendJson({ type: 'error', code: 'rate-limited', message: 'too many messages: this one was ignored' });
    } else {
      this.fail('rate-limited', 'too many messages: closing');
    }
    return false;
  }

  /** A text frame that is not a valid message: counted, answered, closed (1008). */
  rejectInvalid(frame: InvalidFrame): void {
    this.deps.metrics.reject(frame.code === 'bad-room' ? 'client-bad-room' : 'client-bad-message');
    this.fail(frame.code, frame.message);
  }

  /** Viewers send text only: a binary frame is counted and closed with 1003. */
  rejectBinary(): void {
    if (this.closed) return;
    this.deps.metrics.reject('client-binary');
    this.fail('binary-not-allowed', 'viewers send JSON text messages only', CloseCode.unsupportedData);
  }

  join(room: string, token: string | undefined): void {
    try {
      this.deps.auth.check(token, room);
    } catch (err) {
      if (!(err instanceof TokenError)) throw err;
      this.deps.metrics.reject('client-unauthorized');
      this.fail('unauthorized', `not allowed to watch ${room}: ${err.message}`);
      return;
    }
    this.leave();
    let watched;
    try {
      watched = this.deps.registry.watch(room, this);
    } catch (err) {
      if (!(err instanceof RoomCapError)) throw err;
      this.fail('too-many-rooms', `cannot watch ${room}: ${err.message}`, CloseCode.tryAgainLater);
      return;
    }
    const { room: r, release } = watched;
    this.joined = { room, release };
    log.debug('viewer joined', { viewer: this.id, room });
    this.sendJson({ type: 'roster', room, sources: r.roster() });
    // A late joiner gets each source's latest picture at once instead of
    // waiting for the next frame.
    for (const s of r.sources.values()) if (s.latestVideo) this.sender.video(s.info.id, s.latestVideo.bytes);
  }

  leave(): void {
    if (!this.joined) return;
    this.joined.release();
    this.joined = null;
    this.sender.close();
    // A fresh sender for the next room: nothing of the old room may leak in.
    this.sender = new MediaSender(this.ws, this.deps.limits, this.deps.metrics);
  }

  /** Releases the room and the sender; idempotent (the socket closed, or we closed it). */
  dispose(): void {
    if (this.closed) return;
    this.closed = true;
    this.joined?.release();
    this.joined = null;
    this.sender.close();
    this.onClosed(this);
  }

  private sendJson(msg: ServerMessage): void {
    if (this.ws.readyState === this.ws.OPEN) this.ws.send(serverMessage(msg));
  }
}
