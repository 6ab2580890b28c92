/** Jitter buffer sizes, in ms of audio. */
export interface JitterBufferOptions {
  /** Audio held before playback starts (and restarts after an underrun). */
  targetMs: number;
  /** Most audio held; beyond it the oldest samples are dropped. */
  maxMs: number;
}

export const DEFAULT_JITTER: JitterBufferOptions = { targetMs: 60, maxMs: 200 };

export interface JitterStats {
  /** Render quanta that found too little audio and played silence. */
  underruns: number;
  /** Samples dropped because the buffer was full. */
  droppedSamples: number;
  /** Samples held right now. */
  buffered: number;
}

/**
 * A bounded ring of mono samples between the network and the audio clock.
 * It starts playing once `targetMs` is buffered; an underrun plays silence
 * and waits for `targetMs` again; an overrun drops the oldest samples, so
 * latency never grows past `maxMs`. Pure: no Web Audio, testable anywhere.
 */
export class JitterBuffer {
  private readonly ring: Float32Array;
  private readonly target: number;
  private read = 0;
  private size = 0;
  private playing = false;
  underruns = 0;
  droppedSamples = 0;

  constructor(sampleRate: number, opts: JitterBufferOptions = DEFAULT_JITTER) {
    this.target = Math.max(1, Math.round((sampleRate * opts.targetMs) / 1000));
    this.ring = new Float32Array(Math.max(this.target, Math.round((sampleRate * opts.maxMs) / 1000)));
  }

  get buffered(): number {
    return this.size;
  }

  push(samples: Float32Array): void {
    const cap = this.ring.length;
    let src = samples;
    if (src.length > cap) {
      this.droppedSamples += src.length - cap;
      src = src.subarray(src.length - cap);
    }
    const overflow = this.size + src.length - cap;
    if (overflow > 0) {
      this.read = (this.read + overflow) % cap;
      this.size -= overflow;
      this.droppedSamples += overflow;
    }
    let write = (this.read + this.size) % cap;
    for (let i = 0; i < src.length; i++) {
      this.ring[write] = src[i] ?? 0;
      write = write + 1 === cap ? 0 : write + 1;
    }
    this.size += src.length;
  }

  /** Fills `out` with the next samples, or silence; returns whether audio played. */
  pull(out: Float32Array): boolean {
    if (!this.playing) {
      if (this.size < this.target) {
        out.fill(0);
        return false;
      }
      this.playing = true;
    }
    if (this.size < out.length) {
      this.underruns++;
      this.playing = false;
      out.fill(0);
      return false;
    }
    const cap = this.ring.length;
    for (let i = 0; i < out.length; i++) {
      out[i] = this.ring[this.read] ?? 0;
      this.read = this.read + 1 === cap ? 0 : this.read + 1;
    }
    this.size -= out.length;
    return true;
  }

  stats(): JitterStats {
    return { underruns: this.underruns, droppedSamples: this.droppedSamples, buffered: this.size };
  }
}
