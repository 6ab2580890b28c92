import type { WebSocket } from 'ws';
import { CloseCode, serverMessage, type ServerMessage, type SourceInfo, type ViewerErrorCode } from '@vidchat/protocol';
import { createLogger } from '@vidchat/service-kit';
import type { RoomAuthorizer } from '../auth/room-authorizer.js';
import { TokenError } from '../auth/viewer-token.js';
import { TokenBucket } from '../limits/token-bucket.js';
import type { GatewayMetrics } from '../metrics/gateway-metrics.js';
import type { RoomRegistry } from '../rooms/room-registry.js';
import type { Room } from '../rooms/room.js';
import type { MediaFrame, RoomWatcher } from '../rooms/room-watcher.js';
import { MediaSender, type SenderLimits } from './media-sender.js';
import type { InvalidFrame } from './viewer-frames.js';
import { ViewerLayers } from './viewer-layers.js';

export interface SessionLimits extends SenderLimits {
  /** Also the most sources one viewer may choose a layer for. */
  maxSourcesPerRoom: number;
  messagesPerSecond: number;
  messageBurst: number;
  layerMessagesPerSecond: number;
  layerMessageBurst: number;
  rateLimitStrikes: number;
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
  private joined: { room: string; roster: Room; release: () => void } | null = null;
  /** The video layer wanted of each source (`layer` messages). */
  private readonly layers: ViewerLayers;
  private readonly bucket: TokenBucket;
  /** `layer` messages have their own budget: a re-laid-out grid sends one per tile at once. */
  private readonly layerBucket: TokenBucket;
  private strikes = 0;
  private sender: MediaSender;
  private closed = false;

  constructor(
    readonly ws: WebSocket,
    private readonly deps: SessionDeps,
    private readonly onClosed: (s: ViewerSession) => void,
  ) {
    this.bucket = new TokenBucket(deps.limits.messagesPerSecond, deps.limits.messageBurst);
    this.layerBucket = new TokenBucket(deps.limits.layerMessagesPerSecond, deps.limits.layerMessageBurst);
    this.sender = new MediaSender(ws, deps.limits, deps.metrics);
    this.layers = new ViewerLayers(deps.registry, deps.limits.maxSourcesPerRoom);
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
    if (frame.kind === 'video') {
      // Latest-frame-wins per source in the sender; here only the layer this viewer wants passes.
      if (frame.layer === this.layerOf(frame.source)) this.sender.video(frame.source, frame.bytes);
    } else this.sender.audio(frame.bytes);
  }

  /**
   * `{"type":"layer"}`: which layer of `source` this viewer gets from now
   * on; null pauses it. A change sends the new layer's latest frame at once,
   * so a tile shown again (or made larger) does not wait for the next one.
   */
  setLayer(source: string, layer: number | null): void {
    const before = this.joined ? this.layerOf(source) : this.layers.asked(source);
    if (!this.layers.set(source, layer)) {
      this.deps.metrics.reject('client-layer-cap');
      this.sendJson({ type: 'error', code: 'bad-message', message: 'layer: too many sources chosen' });
      return;
    }
    if (!this.joined) return;
    const now = this.layerOf(source);
    if (now === before) return;
    // A frame of the old layer still waiting for the socket must not be sent after the switch.
    this.sender.forget(source);
    if (now === null) return;
    const latest = this.deps.registry.latestVideo(this.joined.room, source, now);
    if (latest) this.sender.video(source, latest.bytes);
  }

  /** The layer this viewer gets of `source` now (null: paused). */
  private layerOf(source: string): number | null {
    return this.layers.layerOf(source, this.joined?.roster.sources.get(source)?.info);
  }

  /**
   * Counts one control message against the rate limit. False means "ignore
   * it": the session is closed, or the message was over the rate (answered
   * with `rate-limited`, and after too many strikes closed with 1008).
   */
  admit(kind: 'control' | 'layer' = 'control'): boolean {
    if (this.closed) return false;
    if ((kind === 'layer' ? this.layerBucket : this.bucket).take()) return true;
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
    const { room: r, release } = this.deps.registry.watch(room, this);
    this.joined = { room, roster: r, release };
    this.layers.attach(room);
    log.debug('viewer joined', { viewer: this.id, room });
    this.sendJson({ type: 'roster', room, sources: r.roster() });
    // A late joiner gets each source's latest picture at once instead of
    // waiting for the next frame.
    for (const s of r.sources.values()) {
      const layer = this.layerOf(s.info.id);
      const latest = layer === null ? null : this.deps.registry.latestVideo(room, s.info.id, layer);
      if (latest) this.sender.video(s.info.id, latest.bytes);
    }
  }

  leave(): void {
    if (!this.joined) return;
    this.layers.detach();
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
    this.layers.detach();
    this.joined?.release();
    this.joined = null;
    this.sender.close();
    this.onClosed(this);
  }

  private sendJson(msg: ServerMessage): void {
    if (this.ws.readyState === this.ws.OPEN) this.ws.send(serverMessage(msg));
  }
}
