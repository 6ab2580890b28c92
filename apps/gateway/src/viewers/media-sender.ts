import type { DropReason } from '../metrics/gateway-metrics.js';

/*
 * Per-viewer backpressure. Video is latest-frame-wins per source: while the
 * socket has more than `videoHighWaterBytes` buffered, only the newest frame
 * of each source waits, and every frame it replaces is counted as dropped.
 * Audio (the mix and levels) goes out up to a larger `audioHighWaterBytes`,
 * then waits in a queue of `audioQueuePackets`, and only past that is the
 * oldest packet dropped. So a viewer costs at most its high-water mark plus
 * one frame per source plus the audio queue, however far behind it is.
 *
 * Draining is detected by polling `bufferedAmount` on a short timer, armed
 * only while something is pending. The alternative, a `ws.send` callback,
 * would put a closure on every frame of every viewer (the hot path) to serve
 * only the few viewers that are behind, and it never fires for a socket that
 * has stopped reading, which is exactly the case we are handling.
 */

export const WS_OPEN = 1;

/** The part of a `ws` WebSocket the sender uses. */
export interface SenderSocket {
  readonly bufferedAmount: number;
  readonly readyState: number;
  send(data: Uint8Array): void;
}

export interface SenderLimits {
  videoHighWaterBytes: number;
  audioHighWaterBytes: number;
  audioQueuePackets: number;
  drainPollMs: number;
}

export interface SenderCounters {
  sent(bytes: number): void;
  drop(reason: DropReason, n?: number): void;
}

export class MediaSender {
  private readonly pendingVideo = new Map<string, Uint8Array>();
  private readonly audioQueue: Uint8Array[] = [];
  private timer: NodeJS.Timeout | null = null;
  private closed = false;

  constructor(
    private readonly socket: SenderSocket,
    private readonly limits: SenderLimits,
    private readonly counters: SenderCounters,
  ) {}

  /** Frames and packets waiting for the socket to drain. */
  get pending(): number {
    return this.pendingVideo.size + this.audioQueue.length;
  }

  video(source: string, bytes: Uint8Array): void {
    if (!this.usable()) return;
    if (!this.pendingVideo.has(source) && this.socket.bufferedAmount <= this.limits.videoHighWaterBytes) {
      this.write(bytes);
      return;
    }
    if (this.pendingVideo.has(source)) this.counters.drop('video-superseded');
    // Delete first so that the Map's order is oldest-waiting source first.
    this.pendingVideo.delete(source);
    this.pendingVideo.set(source, bytes);
    this.arm();
  }

  audio(bytes: Uint8Array): void {
    if (!this.usable()) return;
    if (this.audioQueue.length === 0 && this.socket.bufferedAmount <= this.limits.audioHighWaterBytes) {
      this.write(bytes);
      return;
    }
    this.audioQueue.push(bytes);
    if (this.audioQueue.length > this.limits.audioQueuePackets) {
      this.audioQueue.shift();
      this.counters.drop('audio-overflow');
    }
    this.arm();
  }

  /** Sends what the socket has room for; called by the drain timer (and tests). */
  flush(): void {
    if (!this.usable()) return;
    while (this.audioQueue.length > 0 && this.socket.bufferedAmount <= this.limits.audioHighWaterBytes) {
      this.write(this.audioQueue.shift()!);
    }
    for (const [source, bytes] of this.pendingVideo) {
      if (this.socket.bufferedAmount > this.limits.videoHighWaterBytes) break;
      this.pendingVideo.delete(source);
      this.write(bytes);
    }
    if (this.pending > 0) this.arm();
  }

  /** Forgets a source's waiting frame (the source left). */
  forget(source: string): void {
    this.pendingVideo.delete(source);
  }

  close(): void {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.pendingVideo.clear();
    this.audioQueue.length = 0;
  }

  private usable(): boolean {
    if (this.closed) return false;
    if (this.socket.readyState !== WS_OPEN) {
      this.counters.drop('not-open');
      return false;
    }
    return true;
  }

  private write(bytes: Uint8Array): void {
    this.socket.send(bytes);
    this.counters.sent(bytes.length);
  }

  private arm(): void {
    if (this.timer || this.closed) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      this.flush();
    }, this.limits.drainPollMs);
    this.timer.unref();
  }
}
