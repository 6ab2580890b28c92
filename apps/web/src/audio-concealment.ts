import type { OpusPacketDecoder } from './libopus.js';

/*
 * Lost packets of one Opus stream (the mix, or one source), for the viewer.
 * Packets are decoded as they arrive, ahead of the jitter buffer, so a loss
 * is seen when the packet after it arrives, while the jitter buffer still
 * plays what it holds; that packet is then at hand, and:
 *
 * - the lost packet right before it is rebuilt from its in-band FEC data
 *   (libopus `decode_fec`), or concealed by libopus when it carries none;
 * - further lost packets before that one are concealed by libopus (PLC:
 *   pitch-continued audio that fades by itself over a longer loss);
 * - a long outage (more than `MAX_CONCEALED_FRAMES` lost) is concealed for
 *   that many frames, the last of which fades to silence, and the first
 *   decoded frame after it fades in: the jitter buffer has run dry by then,
 *   and filling the whole outage would only add its length to the latency.
 *
 * The timeline keeps its length for losses up to the cap, so the jitter
 * buffer's depth is what it would have been without them.
 */

/** Samples over which the first good frame after an interruption fades in (2.5 ms at 48 kHz). */
export const FADE_IN_SAMPLES = 120;

/** Lost frames filled in at most (100 ms); a longer outage has drained the jitter buffer already. */
export const MAX_CONCEALED_FRAMES = 5;

/** Samples of one lost packet when nothing better is known: 20 ms at 48 kHz. */
export const DEFAULT_FRAME_SAMPLES = 960;

/** A sequence step this far backwards is the mixer restarting, not a late packet. */
const RESTART_BACKWARDS = 100;

export interface ConcealmentStats {
  /** Packets missing from the sequence. */
  lost: number;
  /** Lost packets rebuilt from the next packet's FEC data. */
  fecRecovered: number;
  /** Lost packets concealed by the decoder (PLC). */
  concealed: number;
  /** Packets that came after a later one (or twice), dropped. */
  late: number;
  /** Packets decoded, and packets that did not decode. */
  decoded: number;
  decodeErrors: number;
}

export type SequenceVerdict =
  /** In order: decode it. `lost` frames are missing before it. */
  | { kind: 'next'; lost: number }
  /** Late or a duplicate: drop it. */
  | { kind: 'late' };

/** Tracks a stream's u32 sequence numbers. */
export class SequenceTracker {
  private lastSeq: number | null = null;
  late = 0;
  lost = 0;
  /** Set when the numbering began again (a restarted mixer). */
  restarted = false;

  /** Classifies the packet numbered `seq`; call it before decoding. */
  sequence(seq: number): SequenceVerdict {
    const prev = this.lastSeq;
    if (prev === null) {
      this.lastSeq = seq;
      return { kind: 'next', lost: 0 };
    }
    const ahead = (seq - prev) >>> 0;
    if (ahead === 0 || (ahead > 0x7fffffff && 2 ** 32 - ahead <= RESTART_BACKWARDS)) {
      this.late++;
      return { kind: 'late' };
    }
    this.lastSeq = seq;
    if (ahead > 0x7fffffff) {
      this.restarted = true;
      return { kind: 'next', lost: 0 };
    }
    this.lost += ahead - 1;
    return { kind: 'next', lost: ahead - 1 };
  }
}

/**
 * One stream's decoding with loss handling: packets in (sequence number and
 * payload), the frames to play out. Written against `OpusPacketDecoder`, so
 * the mix and per-source streams share it.
 */
export class ConcealingDecoder {
  private readonly seq = new SequenceTracker();
  private fadeIn = false;
  private frameSamples = DEFAULT_FRAME_SAMPLES;
  private fecRecovered = 0;
  private concealed = 0;
  private decoded = 0;
  private decodeErrors = 0;

  constructor(private readonly decoder: OpusPacketDecoder) {}

  get stats(): ConcealmentStats {
    return {
      lost: this.seq.lost,
      fecRecovered: this.fecRecovered,
      concealed: this.concealed,
      late: this.seq.late,
      decoded: this.decoded,
      decodeErrors: this.decodeErrors,
    };
  }

  /** Classifies a packet without decoding it (to drop it before decoding, e.g. as too old to play). */
  sequence(seq: number): SequenceVerdict {
    return this.seq.sequence(seq);
  }

  /**
   * The frames to play for the packet `payload` whose verdict `sequence()`
   * gave: the fill for the `lost` packets before it, then the packet's own
   * audio. Empty when the packet does not decode (counted; the next frame
   * fades in).
   */
  frames(payload: Uint8Array, lost: number): Float32Array[] {
    const out: Float32Array[] = [];
    if (this.seq.restarted) {
      this.seq.restarted = false;
      this.fadeIn = true;
    }
    if (lost > 0 && this.decoded > 0) {
      const long = lost > MAX_CONCEALED_FRAMES;
      const fill = Math.min(lost, MAX_CONCEALED_FRAMES);
      for (let k = 0; k < fill; k++) {
        // The FEC copy of a lost packet is in the packet right after it: only the last lost one, and only when adjacent.
        const next = !long && k === fill - 1 ? payload : undefined;
        const r = this.decoder.recover(next, this.frameSamples);
        if (!r) break;
        if (r.origin === 'fec') this.fecRecovered++;
        else this.concealed++;
        out.push(r.samples);
      }
      const last = out[out.length - 1];
      if (long && last) {
        for (let i = 0; i < last.length; i++) last[i] = last[i]! * (1 - (i + 1) / last.length);
        this.fadeIn = true;
      }
    }
    const frame = this.decoder.decode(payload);
    if (!frame || frame.length === 0) {
      this.decodeErrors++;
      this.fadeIn = true;
      return out;
    }
    this.decoded++;
    this.frameSamples = frame.length;
    if (this.fadeIn) {
      const ramp = Math.min(FADE_IN_SAMPLES, frame.length);
      for (let i = 0; i < ramp; i++) frame[i] = frame[i]! * ((i + 1) / ramp);
      this.fadeIn = false;
    }
    out.push(frame);
    return out;
  }

  /** After packets were dropped on purpose (too old to play) or a reconnect: no fill, the next frame fades in. */
  interrupt(): void {
    this.fadeIn = true;
  }

  close(): void {
    this.decoder.close();
  }
}
