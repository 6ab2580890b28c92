import type { DropReason } from '../metrics/gateway-metrics.js';

/*
 * Per-viewer backpressure, bounded by age for audio. The sender keeps a log
 * of when each byte still in the socket's buffer was written, so it knows
 * the age of the oldest unsent byte: the backlog age. Audio (the mix and
 * levels) goes out at once while that age is within `audioMaxAgeMs`; past
 * it, audio waits in a short queue where a packet older than `audioMaxAgeMs`
 * is dropped (`audio-stale`), so a viewer that falls behind gets the newest
 * audio, never a seconds-long backlog. Video is latest-frame-wins per
 * source: while the socket has more than `videoHighWaterBytes` buffered, or
 * a backlog older than audio's limit (so that video never pushes the audio
 * behind), only the newest frame of each source waits, and every frame it
 * replaces is counted as dropped. `audioHighWaterBytes` and
 * `audioQueuePackets` are hard caps behind the age limit: a viewer costs at
 * most its high-water mark plus one frame per source plus the audio queue,
 * however far behind it is.
 *
 * The age is the sender's view (bytes handed to `ws` but not yet to the
 * kernel); what the kernel buffers is out of sight, which is why the page's
 * player also drops packets that arrive too late (apps/web audio-freshness).
 * `bufferedAmount` counts frame headers too, so the age errs on the old side
 * by a few bytes per frame.
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
  audioMaxAgeMs: number;
  drainPollMs: number;
}

export interface SenderCounters {
  sent(bytes: number): void;
  drop(reason: DropReason, n?: number): void;
}

interface QueuedAudio {
  bytes: Uint8Array;
  /** When it reached the sender (the clock's ms). */
  at: number;
}

/** Compact the write log once this many entries have been read past. */
const WRITE_LOG_COMPACT = 1_024;

export class MediaSender {
  private readonly pendingVideo = new Map<string, Uint8Array>();
  private readonly audioQueue: QueuedAudio[] = [];
  /** Write log: the stream offset each unsent write ends at, and when it was written; read from `logHead`. */
  private readonly logEnd: number[] = [];
  private readonly logAt: number[] = [];
  private logHead = 0;
  private written = 0;
  private timer: NodeJS.Timeout | null = null;
  private closed = false;

  constructor(
    private readonly socket: SenderSocket,
    private readonly limits: SenderLimits,
    private readonly counters: SenderCounters,
    private readonly now: () => number = () => performance.now(),
  ) {}

  /** Frames and packets waiting for the socket to drain. */
  get pending(): number {
    return this.pendingVideo.size + this.audioQueue.length;
  }

  video(source: string, bytes: Uint8Array): void {
    if (!this.usable()) return;
    if (!this.pendingVideo.has(source)) {
      // The hot path (every frame, every viewer): one read of the buffered
      // amount and one of the clock, whatever the checks need.
      const buffered = this.socket.bufferedAmount;
      const now = this.now();
      if (
        buffered === 0 ||
        (buffered <= this.limits.videoHighWaterBytes && this.ageOf(buffered, now) <= this.limits.audioMaxAgeMs)
      ) {
        this.write(bytes, now, buffered);
        return;
      }
    }
    if (this.pendingVideo.has(source)) this.counters.drop('video-superseded');
    // Delete first so that the Map's order is oldest-waiting source first.
    this.pendingVideo.delete(source);
    this.pendingVideo.set(source, bytes);
    this.arm();
  }

  audio(bytes: Uint8Array): void {
    if (!this.usable()) return;
    const now = this.now();
    if (this.audioQueue.length === 0) {
      const buffered = this.socket.bufferedAmount;
      if (
        buffered === 0 ||
        (buffered <= this.limits.audioHighWaterBytes && this.ageOf(buffered, now) <= this.limits.audioMaxAgeMs)
      ) {
        this.write(bytes, now, buffered);
        return;
      }
    }
    this.audioQueue.push({ bytes, at: now });
    if (this.audioQueue.length > this.limits.audioQueuePackets) {
      this.audioQueue.shift();
      this.counters.drop('audio-overflow');
    }
    this.arm();
  }

  /** Sends what the socket has room for; called by the drain timer (and tests). */
  flush(): void {
    if (!this.usable()) return;
    const now = this.now();
    let stale = 0;
    while (this.audioQueue.length > 0 && now - this.audioQueue[0]!.at > this.limits.audioMaxAgeMs) {
      this.audioQueue.shift();
      stale++;
    }
    if (stale > 0) this.counters.drop('audio-stale', stale);
    while (this.audioQueue.length > 0 && this.audioFits(now)) {
      this.write(this.audioQueue.shift()!.bytes, now);
    }
    for (const [source, bytes] of this.pendingVideo) {
      if (!this.videoFits(now)) break;
      this.pendingVideo.delete(source);
      this.write(bytes, now);
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
    this.logEnd.length = 0;
    this.logAt.length = 0;
  }

  /**
   * How long the oldest byte still in the socket's buffer has waited, in ms:
   * 0 when the buffer is empty (or holds nothing this sender wrote).
   */
  backlogAgeMs(now = this.now()): number {
    return this.ageOf(this.socket.bufferedAmount, now);
  }

  private ageOf(buffered: number, now: number): number {
    if (buffered === 0) {
      this.clearLog();
      return 0;
    }
    const drainedTo = this.written - buffered;
    while (this.logHead < this.logEnd.length && this.logEnd[this.logHead]! <= drainedTo) this.logHead++;
    if (this.logHead >= WRITE_LOG_COMPACT) {
      this.logEnd.splice(0, this.logHead);
      this.logAt.splice(0, this.logHead);
      this.logHead = 0;
    }
    const at = this.logAt[this.logHead];
    return at === undefined ? 0 : now - at;
  }

  private audioFits(now: number): boolean {
    return (
      this.socket.bufferedAmount <= this.limits.audioHighWaterBytes &&
      this.backlogAgeMs(now) <= this.limits.audioMaxAgeMs
    );
  }

  private videoFits(now: number): boolean {
    return (
      this.socket.bufferedAmount <= this.limits.videoHighWaterBytes &&
      this.backlogAgeMs(now) <= this.limits.audioMaxAgeMs
    );
  }

  private clearLog(): void {
    this.logEnd.length = 0;
    this.logAt.length = 0;
    this.logHead = 0;
  }

  private usable(): boolean {
    if (this.closed) return false;
    if (this.socket.readyState !== WS_OPEN) {
      this.counters.drop('not-open');
      return false;
    }
    return true;
  }

  private write(bytes: Uint8Array, now = this.now(), buffered = this.socket.bufferedAmount): void {
    // An empty buffer means every earlier write has left: the log starts over.
    if (buffered === 0) this.clearLog();
    this.written += bytes.length;
    this.logEnd.push(this.written);
    this.logAt.push(now);
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
