/** Jitter buffer sizes, in ms of audio. */
export interface JitterBufferOptions {
  /** Audio held before playback starts (and restarts after an underrun); also the depth drift control aims at. */
  targetMs: number;
  /** Most audio held; beyond it the oldest samples are dropped. */
  maxMs: number;
  /**
   * How far the smoothed depth may wander from the target before playback is
   * sped up or slowed down by `DRIFT_STEP`, to follow the clock drift between
   * the mixer and the sound card.
   */
  driftBandMs: number;
  /**
   * Depth above the target past which the excess is skipped at once (with a
   * short crossfade) rather than played out slowly, when the depth has not
   * fallen below it for `SKIP_WINDOW_S`: a page that stalled and then
   * received a burst of packets is back at its usual latency within a
   * fraction of a second, while bunched arrivals (whose excess is gone again
   * before the next bunch) are played, not skipped.
   */
  skipAboveMs: number;
}

export const DEFAULT_JITTER: JitterBufferOptions = { targetMs: 60, maxMs: 200, driftBandMs: 10, skipAboveMs: 40 };

/**
 * Most extra delay `setHoldMs` adds on top of the target (lip sync: audio
 * waits for a slower video path). Beyond it the audio would feel late in a
 * conversation; the picture then trails the sound instead.
 */
export const MAX_HOLD_MS = 300;

/**
 * How much faster or slower than real time playback runs while drift control
 * is acting: one sample in 128 (0.78%), enough for any sound card's drift
 * (typically well under 0.1%), too little to hear as a pitch change.
 */
export const DRIFT_STEP = 1 / 128;

/** How quickly the smoothed depth follows the real one: its time constant, in seconds. */
const DEPTH_SMOOTHING_S = 0.25;

/** How long the depth must stay above the skip threshold before the excess is skipped, in seconds (at least, at most twice). */
const SKIP_WINDOW_S = 0.2;

export interface JitterStats {
  /** Render quanta that found too little audio and played silence. */
  underruns: number;
  /** Samples dropped because the buffer was full. */
  droppedSamples: number;
  /** Samples skipped to come back to the target depth after a burst. */
  skippedSamples: number;
  /** Samples held right now. */
  buffered: number;
  /** Samples of audio played (silence while waiting or underrun is not counted). */
  playedSamples: number;
  /** Net samples consumed beyond real time by drift control (negative: stretched). */
  driftAdjustedSamples: number;
  /** Time from a push to the moment its first sample plays, in ms: median and 99th percentile. */
  delayP50Ms: number;
  delayP99Ms: number;
  /** Pushes the delay figures are over. */
  delayCount: number;
}

/**
 * A bounded ring of mono samples between the network and the audio clock.
 * It starts playing once `targetMs` is buffered; an underrun plays silence
 * and waits for `targetMs` again; an overrun drops the oldest samples, so
 * latency never grows past `maxMs`. While playing, it keeps its smoothed
 * depth near the target: past `driftBandMs` it plays each pull from one
 * sample more (or less) than asked, linearly interpolated, until the depth
 * is back at the target; when it stays past `skipAboveMs`, it skips the
 * excess at once.
 * Pure: no Web Audio, testable anywhere.
 */
export class JitterBuffer {
  private readonly ring: Float32Array;
  private target: number;
  private readonly band: number;
  private readonly skipAbove: number;
  private readonly smoothingSamples: number;
  private readonly skipWindow: number;
  /** Lowest depth in the current window of pulls and in the whole previous one. */
  private windowLow = Infinity;
  private previousWindowLow = Infinity;
  private windowPulled = 0;
  /** Push delays in whole ms, one bin per ms up to `maxMs`. */
  private readonly delays: Uint32Array;
  private readonly sampleRate: number;
  private read = 0;
  private size = 0;
  private playing = false;
  private smoothed = 0;
  /** -1 slowing down, 0 real time, +1 speeding up. */
  private mode: -1 | 0 | 1 = 0;
  private scratch = new Float32Array(0);
  underruns = 0;
  droppedSamples = 0;
  skippedSamples = 0;
  playedSamples = 0;
  driftAdjustedSamples = 0;
  private delayCount = 0;
  /** Samples ever written and ever consumed (played, skipped or dropped): positions in the stream. */
  private writePos = 0;
  private readPos = 0;
  /** Capture times (µs) of stream positions, one per push that gave one, oldest first. */
  private marks: { pos: number; us: number }[] = [];
  /** Capture time of the first sample of the last pull that played audio; null after silence. */
  lastPullCaptureUs: number | null = null;
  private readonly baseTarget: number;
  private readonly maxSamples: number;
  private hold = 0;

  constructor(sampleRate: number, opts: Partial<JitterBufferOptions> = {}) {
    const o = { ...DEFAULT_JITTER, ...opts };
    this.sampleRate = sampleRate;
    const samples = (ms: number): number => Math.round((sampleRate * ms) / 1000);
    this.target = Math.max(1, samples(o.targetMs));
    this.band = Math.max(1, samples(o.driftBandMs));
    this.skipAbove = samples(o.skipAboveMs);
    this.smoothingSamples = sampleRate * DEPTH_SMOOTHING_S;
    this.skipWindow = sampleRate * SKIP_WINDOW_S;
    this.baseTarget = this.target;
    this.maxSamples = Math.max(this.target, samples(o.maxMs));
    this.ring = new Float32Array(this.maxSamples + samples(MAX_HOLD_MS));
    this.delays = new Uint32Array(Math.ceil((this.ring.length * 1000) / sampleRate) + 1);
  }

  get buffered(): number {
    return this.size;
  }

  /**
   * Extra delay on top of the target, ms (0..MAX_HOLD_MS): lip sync holds the
   * audio back when the picture comes later than the sound. A rise pauses
   * playback until the deeper target is buffered (one gap of the difference,
   * the quickest way there); a fall is skipped or played out faster, as any
   * excess depth is.
   */
  setHoldMs(ms: number): void {
    const hold = Math.round((Math.min(Math.max(0, ms), MAX_HOLD_MS) * this.sampleRate) / 1000);
    if (hold === this.hold) return;
    const rise = hold - this.hold;
    this.hold = hold;
    this.target = this.baseTarget + hold;
    if (this.playing && rise > this.band) this.playing = false;
  }

  get holdMs(): number {
    return (this.hold * 1000) / this.sampleRate;
  }

  /** `captureTimeUs`: when the first of `samples` was captured, if known; pulls then say what they play. */
  push(samples: Float32Array, captureTimeUs?: number): void {
    const cap = this.maxSamples + this.hold;
    let src = samples;
    let us = captureTimeUs;
    if (src.length > cap) {
      this.droppedSamples += src.length - cap;
      if (us !== undefined) us += ((src.length - cap) * 1e6) / this.sampleRate;
      this.readPos += src.length - cap;
      this.writePos += src.length - cap;
      src = src.subarray(src.length - cap);
    }
    const overflow = this.size + src.length - cap;
    if (overflow > 0) {
      this.advance(overflow);
      this.droppedSamples += overflow;
    }
    // Until playback starts, a packet waits for the target depth, not for what is ahead of it.
    const ahead = this.playing ? this.size : Math.max(this.size, this.target - src.length);
    const bin = Math.min(this.delays.length - 1, Math.round((ahead * 1000) / this.sampleRate));
    this.delays[bin] = (this.delays[bin] ?? 0) + 1;
    this.delayCount++;
    const ringLength = this.ring.length;
    let write = (this.read + this.size) % ringLength;
    for (let i = 0; i < src.length; i++) {
      this.ring[write] = src[i] ?? 0;
      write = write + 1 === ringLength ? 0 : write + 1;
    }
    this.size += src.length;
    if (us !== undefined) this.marks.push({ pos: this.writePos, us });
    this.writePos += src.length;
  }

  /** Capture time (µs) of the next sample to play, from the newest mark at or before it; null if unknown. */
  private captureAtReadUs(): number | null {
    while (this.marks.length > 1 && (this.marks[1]?.pos ?? Infinity) <= this.readPos) this.marks.shift();
    const m = this.marks[0];
    if (!m || m.pos > this.readPos) return null;
    return m.us + ((this.readPos - m.pos) * 1e6) / this.sampleRate;
  }

  /** Fills `out` with the next samples, or silence; returns whether audio played. */
  pull(out: Float32Array): boolean {
    const n = out.length;
    this.lastPullCaptureUs = null;
    if (!this.playing) {
      if (this.size < this.target) {
        out.fill(0);
        return false;
      }
      this.playing = true;
      this.smoothed = this.size;
      this.resetWindow();
    }
    if (this.size < n) {
      this.underruns++;
      this.playing = false;
      out.fill(0);
      return false;
    }
    this.lastPullCaptureUs = this.captureAtReadUs();
    const alpha = Math.min(1, n / this.smoothingSamples);
    this.smoothed += alpha * (this.size - this.smoothed);

    const low = this.lowestRecentDepth(n);
    if (low - this.target > this.skipAbove && this.target >= n) {
      this.skipTo(out);
    } else {
      this.steer();
      const step = Math.max(1, Math.floor(n * DRIFT_STEP));
      const take = this.mode === 0 ? n : n + this.mode * step;
      if (take > this.size) this.copyOut(out, n);
      else if (take === n) this.copyOut(out, n);
      else this.resampleOut(out, take);
    }
    this.playedSamples += n;
    return true;
  }

  stats(): JitterStats {
    return {
      underruns: this.underruns,
      droppedSamples: this.droppedSamples,
      skippedSamples: this.skippedSamples,
      buffered: this.size,
      playedSamples: this.playedSamples,
      driftAdjustedSamples: this.driftAdjustedSamples,
      delayP50Ms: this.delayPercentile(0.5),
      delayP99Ms: this.delayPercentile(0.99),
      delayCount: this.delayCount,
    };
  }

  /** The push delay (ms) below which a fraction `p` of pushes fall. */
  delayPercentile(p: number): number {
    if (this.delayCount === 0) return 0;
    const rank = Math.ceil(p * this.delayCount);
    let seen = 0;
    for (let ms = 0; ms < this.delays.length; ms++) {
      seen += this.delays[ms] ?? 0;
      if (seen >= rank) return ms;
    }
    return this.delays.length - 1;
  }

  /** The lowest depth seen over the last one to two windows, counting this pull; Infinity until a window is full. */
  private lowestRecentDepth(n: number): number {
    this.windowLow = Math.min(this.windowLow, this.size);
    this.windowPulled += n;
    if (this.windowPulled >= this.skipWindow) {
      this.previousWindowLow = this.windowLow;
      this.windowLow = Infinity;
      this.windowPulled = 0;
    }
    return this.previousWindowLow === Infinity ? -Infinity : Math.min(this.previousWindowLow, this.windowLow);
  }

  private resetWindow(): void {
    this.windowLow = Infinity;
    this.previousWindowLow = Infinity;
    this.windowPulled = 0;
  }

  /** Hysteresis: start correcting past the band, stop once back at the target. */
  private steer(): void {
    const error = this.smoothed - this.target;
    if (this.mode === 0) {
      if (error > this.band) this.mode = 1;
      else if (error < -this.band) this.mode = -1;
    } else if (this.mode * error <= 0) {
      this.mode = 0;
    }
  }

  private copyOut(out: Float32Array, n: number): void {
    const cap = this.ring.length;
    for (let i = 0; i < n; i++) {
      out[i] = this.ring[this.read] ?? 0;
      this.read = this.read + 1 === cap ? 0 : this.read + 1;
    }
    this.size -= n;
    this.readPos += n;
  }

  /** Plays `take` buffered samples as `out.length` samples, linearly interpolated end to end. */
  private resampleOut(out: Float32Array, take: number): void {
    const src = this.take(take);
    const n = out.length;
    const ratio = (take - 1) / (n - 1);
    for (let i = 0; i < n; i++) {
      const x = i * ratio;
      const j = Math.floor(x);
      const f = x - j;
      const a = src[j] ?? 0;
      const b = src[Math.min(j + 1, take - 1)] ?? a;
      out[i] = a + (b - a) * f;
    }
    this.driftAdjustedSamples += take - n;
  }

  /** Skips the excess over the target, crossfading from the old position to the new one over `out`. */
  private skipTo(out: Float32Array): void {
    const n = out.length;
    const skip = this.size - this.target;
    const from = this.take(n).slice();
    this.advance(skip - n);
    this.skippedSamples += skip;
    const to = this.take(n);
    for (let i = 0; i < n; i++) {
      const w = (i + 1) / n;
      out[i] = (from[i] ?? 0) * (1 - w) + (to[i] ?? 0) * w;
    }
    this.smoothed = this.size;
    this.mode = 0;
    this.resetWindow();
  }

  /** Removes and returns the next `n` samples (a scratch view, valid until the next call). */
  private take(n: number): Float32Array {
    if (this.scratch.length < n) this.scratch = new Float32Array(n);
    const dst = this.scratch.subarray(0, n);
    this.copyOut(dst, n);
    return dst;
  }

  private advance(n: number): void {
    this.read = (this.read + n) % this.ring.length;
    this.size -= n;
    this.readPos += n;
  }
}
