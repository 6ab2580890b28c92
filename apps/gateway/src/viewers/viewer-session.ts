import { randomBytes } from 'node:crypto';
import type { WebSocket } from 'ws';
import {
  checkChatText,
  CloseCode,
  serverMessage,
  type ChatMessage,
  type HandMessage,
  type ServerMessage,
  type SourceInfo,
  type ViewerErrorCode,
} from '@vidchat/protocol';
import { createLogger } from '@vidchat/service-kit';
import type { RoomAuthorizer } from '../auth/room-authorizer.js';
import type { ChatListener } from '../chat/chat-room-feed.js';
import type { ChatService } from '../chat/chat.service.js';
import { TokenError } from '../auth/viewer-token.js';
import { TokenBucket } from '../limits/token-bucket.js';
import type { GatewayMetrics } from '../metrics/gateway-metrics.js';
import type { RoomRegistry } from '../rooms/room-registry.js';
import type { MediaFrame, RoomWatcher } from '../rooms/room-watcher.js';
import { MediaSender, type SenderLimits } from './media-sender.js';
import type { InvalidFrame } from './viewer-frames.js';

export interface SessionLimits extends SenderLimits {
  messagesPerSecond: number;
  messageBurst: number;
  rateLimitStrikes: number;
  chatPerSecond: number;
  chatBurst: number;
}

export interface SessionDeps {
  registry: RoomRegistry;
  metrics: GatewayMetrics;
  auth: RoomAuthorizer;
  limits: SessionLimits;
  chat: ChatService;
}

const log = createLogger('gateway.viewer');
let nextId = 1;

/**
 * One viewer WebSocket: its rate limit, its room, its media sender. The
 * viewer gateway routes the socket's control messages here; media goes out
 * through the sender as raw `ws` frames.
 */
export class ViewerSession implements RoomWatcher, ChatListener {
  readonly id = nextId++;
  /** This viewer in chat and hand events when it gave no name: `viewer-` and 8 random hex digits. */
  readonly chatId = `viewer-${randomBytes(4).toString('hex')}`;
  /** The name given at join, if any. */
  private name: string | null = null;
  private readonly chatBucket: TokenBucket;
  private chatRelease: (() => void) | null = null;
  private handRaised = false;
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
    this.chatBucket = new TokenBucket(deps.limits.chatPerSecond, deps.limits.chatBurst);
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
    this.strikes++;
    if (this.strikes >= this.deps.limits.rateLimitStrikes) {
      this.fail('rate-limited', 'too many messages: closing');
    } else {
      this.sendJson({ type: 'error', code: 'rate-limited', message: 'too many messages: this one was ignored' });
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

  /** The sender name in chat: the name given at join, else a short generated one. */
  get chatName(): string {
    return this.name ?? this.chatId.slice(0, 'viewer-'.length + 4);
  }

  onChatHistory(messages: readonly ChatMessage[]): void {
    for (const m of messages) this.sendJson(m);
  }

  onChat(message: ChatMessage): void {
    this.sendJson(message);
  }

  onHand(message: HandMessage): void {
    this.sendJson(message);
  }

  /**
   * A chat message: checked (joined, 1–2,000 characters after trimming, the
   * chat rate), then stored. A refusal is an `error` to the sender, nothing
   * is published, and the socket stays open.
   */
  chat(raw: string): void {
    const room = this.room;
    if (room === null) return this.refuseChat('chat-not-joined', 'not-joined', 'join a room before chatting');
    const check = checkChatText(raw);
    if (!check.ok) return this.refuseChat(check.code, check.code, check.message);
    if (!this.chatBucket.take()) {
      return this.refuseChat('chat-rate-limited', 'chat-rate-limited', 'too many chat messages: this one was not sent');
    }
    this.deps.chat.send(room, { name: this.chatName, from: 'viewer' }, check.text).catch((err: Error) => {
      this.refuseChat('chat-unavailable', 'chat-unavailable', err.message);
    });
  }

  /** Raises or lowers this viewer's hand for everyone in the room. */
  hand(raised: boolean): void {
    const room = this.room;
    if (room === null) return this.refuseChat('chat-not-joined', 'not-joined', 'join a room before raising a hand');
    this.handRaised = raised;
    this.deps.chat.hand(room, this.chatId, this.chatName, raised);
  }

  private refuseChat(
    reason: 'chat-not-joined' | 'chat-empty' | 'chat-too-long' | 'chat-rate-limited' | 'chat-unavailable',
    code: ViewerErrorCode,
    message: string,
  ): void {
    this.deps.metrics.reject(reason);
    this.sendJson({ type: 'error', code, message });
  }

  /** Leaves the room's chat; a raised hand is lowered for the others. */
  private leaveChat(): void {
    if (this.joined && this.handRaised) this.deps.chat.hand(this.joined.room, this.chatId, this.chatName, false);
    this.handRaised = false;
    this.chatRelease?.();
    this.chatRelease = null;
  }

  join(room: string, token: string | undefined, name?: string): void {
    try {
      this.deps.auth.check(token, room);
    } catch (err) {
      if (!(err instanceof TokenError)) throw err;
      this.deps.metrics.reject('client-unauthorized');
      this.fail('unauthorized', `not allowed to watch ${room}: ${err.message}`);
      return;
    }
    this.leave();
    if (name !== undefined) this.name = name.trim();
    const { room: r, release } = this.deps.registry.watch(room, this);
    this.joined = { room, release };
    log.debug('viewer joined', { viewer: this.id, room });
    this.sendJson({ type: 'roster', room, sources: r.roster() });
    // A late joiner gets each source's latest picture at once instead of
    // waiting for the next frame.
    for (const s of r.sources.values()) if (s.latestVideo) this.sender.video(s.info.id, s.latestVideo.bytes);
    // After the roster: the room's chat history, then live chat.
    this.chatRelease = this.deps.chat.watch(room, this);
  }

  leave(): void {
    if (!this.joined) return;
    this.leaveChat();
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
    this.leaveChat();
    this.joined?.release();
    this.joined = null;
    this.sender.close();
    this.onClosed(this);
  }

  private sendJson(msg: ServerMessage): void {
    if (this.ws.readyState === this.ws.OPEN) this.ws.send(serverMessage(msg));
  }
}
