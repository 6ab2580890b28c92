/*
 * Concealment of lost mix packets for the viewer. `opus-decoder` (the only
 * Opus decoder that runs on every origin here, as WebCodecs' AudioDecoder
 * needs a secure context) cannot conceal: it has no `opus_decode(NULL…)`
 * call. So a loss is covered in the sample domain instead: the first lost
 * frame is the last good frame played backwards (which continues the
 * waveform from the very sample it stopped at, so there is no step) under a
 * fade to silence; further lost frames are silence; the first good frame
 * after a loss fades in. No clicks, and the timeline keeps its length, so the
 * jitter buffer's depth is what it would have been without the loss.
 */

/** Samples over which the first good frame after a loss fades in (2.5 ms at 48 kHz). */
export const FADE_IN_SAMPLES = 120;

/** Lost frames filled in at most; a longer outage has drained the jitter buffer already. */
export const MAX_CONCEALED_FRAMES = 3;

/** A sequence step this far backwards is the mixer restarting, not a late packet. */
const RESTART_BACKWARDS = 100;

export interface ConcealmentStats {
  /** Packets missing from the sequence. */
  lost: number;
  /** Frames filled in for them. */
  concealed: number;
  /** Packets that came after a later one (or twice), dropped. */
  late: number;
}

export type SequenceVerdict =
  /** In order: decode it. `lost` frames are missing before it. */
  | { kind: 'next'; lost: number }
  /** Late or a duplicate: drop it. */
  | { kind: 'late' };

/** Tracks the mix's u32 sequence numbers and builds the frames that cover a loss. */
export class LossConcealer {
  private lastSeq: number | null = null;
  private last: Float32Array | null = null;
  private fadeIn = false;
  readonly stats: ConcealmentStats = { lost: 0, concealed: 0, late: 0 };

  /** Classifies the packet numbered `seq`; call it before decoding. */
  sequence(seq: number): SequenceVerdict {
    const prev = this.lastSeq;
    if (prev === null) {
      this.lastSeq = seq;
      return { kind: 'next', lost: 0 };
    }
    const ahead = (seq - prev) >>> 0;
    if (ahead === 0 || (ahead > 0x7fffffff && 2 ** 32 - ahead <= RESTART_BACKWARDS)) {
      this.stats.late++;
      return { kind: 'late' };
    }
    this.lastSeq = seq;
    if (ahead > 0x7fffffff) {
      // The mixer restarted (its numbering began again): no frames to fill in, but fade in.
      this.fadeIn = true;
      return { kind: 'next', lost: 0 };
    }
    this.stats.lost += ahead - 1;
    return { kind: 'next', lost: ahead - 1 };
  }

  /**
   * The frames to play for a decoded packet that follows `lost` missing ones:
   * the concealment (at most `MAX_CONCEALED_FRAMES` frames), then the frame,
   * faded in after a loss. `frame` is kept as the next loss's material.
   */
  frames(frame: Float32Array, lost: number): Float32Array[] {
    const out: Float32Array[] = [];
    const last = this.last;
    const fill = Math.min(lost, MAX_CONCEALED_FRAMES);
    if (fill > 0 && last) {
      const tail = new Float32Array(last.length);
      const n = last.length;
      for (let i = 0; i < n; i++) tail[i] = (last[n - 1 - i] ?? 0) * (1 - (i + 1) / n);
      out.push(tail);
      for (let k = 1; k < fill; k++) out.push(new Float32Array(n));
      this.stats.concealed += fill;
    }
    if (lost > 0 || this.fadeIn) {
      const ramp = Math.min(FADE_IN_SAMPLES, frame.length);
      for (let i = 0; i < ramp; i++) frame[i] = (frame[i] ?? 0) * ((i + 1) / ramp);
      this.fadeIn = false;
    }
    out.push(frame);
    this.last = frame;
    return out;
  }

  /** After a stretch of undecodable packets or a reconnect: the next frame fades in. */
  interrupt(): void {
    this.fadeIn = true;
  }
}
