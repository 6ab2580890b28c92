import { FRAME_MS } from './audio-format.js';
import { seqAdd, seqDiff } from './sequence.js';

/*
 * Per-source jitter buffer for 20 ms Opus packets, keyed by sequence number.
 *
 * It absorbs network jitter by holding `targetMs` of audio before playing,
 * puts packets back in order, and tells the caller which sequence number is
 * due on each mix tick: the packet, or "lost" (with the following packet
 * when it is held, for FEC recovery; otherwise conceal it), or "waiting"
 * (nothing to play yet). A packet whose turn has passed is late: dropped and
 * counted. The buffer is bounded: it never holds more than `maxMs` ahead.
 *
 * Depth adapts to the jitter observed from capture times: the transit time
 * of a packet (arrival minus capture, which carries an unknown but constant
 * clock offset) varies by the jitter; an RFC 3550 style estimate J of that
 * variation sets the target to one frame plus `jitterFactor` × J, rounded up
 * to whole frames and kept within [minMs, maxMs]. An underrun stops playout
 * until the target is buffered again (the depth grows by waiting); a buffer
 * that holds more than the target plus `excessFrames` skips its oldest
 * packet (the depth shrinks, counted as `trimmed`).
 *
 * It is pure: the caller passes the arrival time, so tests drive it exactly.
 */
export interface JitterBufferOptions {
  /** Lowest target depth, ms. */
  minMs: number;
  /** Highest target depth, ms; also bounds what the buffer holds. */
  maxMs: number;
  /** Target depth before any jitter has been observed, ms. */
  startMs: number;
  /** Multiplier of the jitter estimate in the target depth. */
  jitterFactor: number;
  /** Frames above the target tolerated before the oldest packet is skipped. */
  excessFrames: number;
  /** Packets this far before the playout point (or beyond `maxMs` ahead) mean the source restarted its numbering. */
  resetFrames: number;
  /** Packets needed before the jitter estimate replaces `startMs`. */
  warmupPackets: number;
}

export const DEFAULT_JITTER_OPTIONS: JitterBufferOptions = {
  minMs: 40,
  maxMs: 200,
  startMs: 60,
  jitterFactor: 4,
  excessFrames: 2,
  resetFrames: 50,
  warmupPackets: 25,
};

export type Playout =
  | { kind: 'packet'; seq: number; payload: Uint8Array; captureTimeUs: number }
  /** `next` is the following packet when it is already held: its in-band FEC may rebuild this one. */
  | { kind: 'lost'; seq: number; next?: Uint8Array }
  | { kind: 'waiting' };

export interface JitterStats {
  received: number;
  played: number;
  lost: number;
  late: number;
  duplicate: number;
  trimmed: number;
  underruns: number;
  resets: number;
}

interface Slot {
  payload: Uint8Array;
  captureTimeUs: number;
}

export class JitterBuffer {
  private readonly slots = new Map<number, Slot>();
  /** The sequence number due next; null before the first packet. */
  private next: number | null = null;
  /** Highest sequence number held or played, for the span. */
  private highest = 0;
  private playing = false;
  private jitterMs = 0;
  private lastTransitMs: number | null = null;
  private observed = 0;
  readonly stats: JitterStats = {
    received: 0,
    played: 0,
    lost: 0,
    late: 0,
    duplicate: 0,
    trimmed: 0,
    underruns: 0,
    resets: 0,
  };

  constructor(private readonly opts: JitterBufferOptions = DEFAULT_JITTER_OPTIONS) {
    if (!(opts.minMs <= opts.startMs && opts.startMs <= opts.maxMs)) {
      throw new RangeError(
        `jitter bounds must satisfy min <= start <= max, got ${opts.minMs}/${opts.startMs}/${opts.maxMs}`,
      );
    }
  }

  /** Current jitter estimate, ms. */
  get jitter(): number {
    return this.jitterMs;
  }

  /** Depth the buffer fills to before playing, ms (a whole number of frames). */
  get targetMs(): number {
    const o = this.opts;
    const wanted = this.observed < o.warmupPackets ? o.startMs : FRAME_MS + o.jitterFactor * this.jitterMs;
    const frames = Math.ceil(wanted / FRAME_MS - 1e-9);
    return Math.min(o.maxMs, Math.max(o.minMs, frames * FRAME_MS));
  }

  /** Audio held from the playout point to the newest packet, ms. */
  get depthMs(): number {
    if (this.next === null || this.slots.size === 0) return 0;
    return (seqDiff(this.highest, this.next) + 1) * FRAME_MS;
  }

  get size(): number {
    return this.slots.size;
  }

  private get capacityFrames(): number {
    return Math.ceil(this.opts.maxMs / FRAME_MS) + this.opts.excessFrames;
  }

  /** Offers a packet that arrived at `arrivalMs`; returns false when it was dropped (late, duplicate). */
  push(seq: number, payload: Uint8Array, captureTimeUs: number, arrivalMs: number): boolean {
    this.stats.received++;
    this.observe(captureTimeUs, arrivalMs);
    if (this.next === null) {
      this.next = seq;
      this.highest = seq;
    }
    const behind = seqDiff(this.next, seq);
    const ahead = seqDiff(seq, this.next);
    if (behind > this.opts.resetFrames || ahead > this.capacityFrames + this.opts.resetFrames) {
      // The source restarted (new agent, new numbering): start over from this packet.
      this.reset(seq);
    } else if (behind > 0) {
      if (this.playing) {
        this.stats.late++;
        return false;
      }
      // Still buffering: an earlier packet moves the playout point back.
      this.next = seq;
    }
    if (this.slots.has(seq)) {
      this.stats.duplicate++;
      return false;
    }
    this.slots.set(seq, { payload, captureTimeUs });
    if (seqDiff(seq, this.highest) > 0) this.highest = seq;
    // Bounded: never hold more than the capacity; the oldest audio goes first.
    while (seqDiff(this.highest, this.next) + 1 > this.capacityFrames) this.skipOldest();
    return true;
  }

  /** What to play on this mix tick; advances the playout point except while waiting. */
  pop(): Playout {
    if (this.next === null) return { kind: 'waiting' };
    if (!this.playing) {
      if (this.slots.size === 0 || this.depthMs < this.targetMs) return { kind: 'waiting' };
      this.playing = true;
    } else if (this.slots.size === 0) {
      // Underrun: nothing at all to play. Wait for the target depth again
      // rather than declaring the late packet lost, so the depth grows.
      this.playing = false;
      this.stats.underruns++;
      return { kind: 'waiting' };
    }
    const excess = this.opts.excessFrames * FRAME_MS;
    while (this.depthMs > this.targetMs + excess) this.skipOldest();
    const seq = this.next;
    this.next = seqAdd(seq, 1);
    const slot = this.slots.get(seq);
    if (slot === undefined) {
      this.stats.lost++;
      const next = this.slots.get(this.next);
      return next === undefined ? { kind: 'lost', seq } : { kind: 'lost', seq, next: next.payload };
    }
    this.slots.delete(seq);
    this.stats.played++;
    return { kind: 'packet', seq, payload: slot.payload, captureTimeUs: slot.captureTimeUs };
  }

  private skipOldest(): void {
    if (this.next === null) return;
    if (this.slots.delete(this.next)) this.stats.trimmed++;
    this.next = seqAdd(this.next, 1);
  }

  private reset(seq: number): void {
    this.slots.clear();
    this.next = seq;
    this.highest = seq;
    this.playing = false;
    this.stats.resets++;
  }

  private observe(captureTimeUs: number, arrivalMs: number): void {
    const transit = arrivalMs - captureTimeUs / 1_000;
    if (this.lastTransitMs !== null) {
      const d = Math.abs(transit - this.lastTransitMs);
      // A jump of seconds is a clock step or a restart, not jitter.
      if (d < 1_000) this.jitterMs += (d - this.jitterMs) / 16;
    }
    this.lastTransitMs = transit;
    this.observed++;
  }
}
