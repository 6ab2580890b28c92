/*
 * Places the room mix on the recording's timeline by capture time. Each
 * decoded packet has an ideal position, (captureTime − start) × rate. A
 * packet that lands within `snapSamples` of where the previous one ended is
 * appended right there (the mixer's capture stamps wobble by a few ms from
 * packet to packet, and following them exactly would cut clicks into the
 * sound); one further off re-anchors the stream at its ideal position: a gap
 * becomes silence, an overlap is cut off. Packets entirely behind what was
 * already written, or too far ahead to hold, are dropped and counted. Pure
 * (no timers, no I/O), so it is unit-tested with exact samples.
 */
export interface AudioTimelineOptions {
  sampleRate: number;
  /** Capture time of sample 0, µs since the Unix epoch. */
  startUs: number;
  /** Samples held ahead of the read position at most (bounded memory). */
  capacitySamples: number;
  /** Distance from the running end within which a packet is appended contiguously. */
  snapSamples: number;
}

export interface AudioTimelineStats {
  placed: number;
  late: number;
  tooEarly: number;
  reanchored: number;
}

export class AudioTimeline {
  /** Samples [readPos, readPos + capacity) live in `ring`, indexed modulo capacity. */
  private readonly ring: Float32Array;
  private readPos = 0;
  /** Where the last placed packet ended, or -1 before the first. */
  private endPos = -1;
  readonly stats: AudioTimelineStats = { placed: 0, late: 0, tooEarly: 0, reanchored: 0 };

  constructor(private readonly o: AudioTimelineOptions) {
    this.ring = new Float32Array(o.capacitySamples);
  }

  /** Samples already handed out by `read`. */
  get position(): number {
    return this.readPos;
  }

  /** Puts one decoded packet at its capture time. */
  place(captureUs: number, samples: Float32Array): void {
    const ideal = Math.round(((captureUs - this.o.startUs) * this.o.sampleRate) / 1e6);
    let at = ideal;
    if (this.endPos >= 0 && Math.abs(ideal - this.endPos) <= this.o.snapSamples) at = this.endPos;
    else if (this.endPos >= 0) this.stats.reanchored++;
    let from = 0;
    if (at < this.readPos) {
      from = this.readPos - at;
      if (from >= samples.length) {
        this.stats.late++;
        return;
      }
      at = this.readPos;
    }
    const end = at + samples.length - from;
    if (end > this.readPos + this.ring.length) {
      this.stats.tooEarly++;
      return;
    }
    const cap = this.ring.length;
    for (let i = from, p = at; i < samples.length; i++, p++) this.ring[p % cap] = samples[i]!;
    this.endPos = end;
    this.stats.placed++;
  }

  /** The next `n` samples as 16-bit little-endian PCM; silence where nothing was placed. */
  read(n: number): Buffer {
    const out = Buffer.allocUnsafe(n * 2);
    const cap = this.ring.length;
    for (let i = 0; i < n; i++) {
      const p = (this.readPos + i) % cap;
      const v = this.ring[p]!;
      this.ring[p] = 0;
      const s = Math.max(-1, Math.min(1, v));
      out.writeInt16LE(Math.round(s * 32767), i * 2);
    }
    this.readPos += n;
    return out;
  }
}
