/** Jitter buffer sizes, in ms of audio. */
export interface JitterBufferOptions {
  /**
   * Audio held before playback starts (and restarts after an underrun); also
   * the depth drift control aims at. Adaptive: the depth until the arrival
   * jitter has been measured.
   */
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
  /**
   * Whether the target follows the measured arrival jitter (see
   * `JitterBuffer`), within [`minMs`, `maxMs` − `skipAboveMs`]; false keeps
   * `targetMs` for good.
   */
  adaptive: boolean;
  /** Lowest adaptive target, ms. */
  minMs: number;
}

/** A fixed 60 ms buffer: what the class does unless told to adapt. */
export const FIXED_JITTER: JitterBufferOptions = {
  targetMs: 60,
  maxMs: 200,
  driftBandMs: 10,
  skipAboveMs: 40,
  adaptive: false,
  minMs: 20,
};

/** What the player uses: 60 ms at first, then as deep as the measured jitter needs, 20…160 ms. */
export const DEFAULT_JITTER: JitterBufferOptions = { ...FIXED_JITTER, adaptive: true };

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

/*
 * Adaptation. Each push is stamped on the buffer's own clock, the samples
 * pulled so far (silence included: the sound card's time), against its media
 * time (its capture time, or the samples written before it when pushes carry
 * none). Their difference, the relative delay, is a constant offset plus the
 * arrival jitter. Its lowest value over the last ADAPT_BASELINE_MS of pushes
 * is the baseline (as in WebRTC's NetEq: clock drift and route changes
 * move it within seconds); how late a push is, is its delay above the
 * baseline. A histogram of those lates, older pushes forgotten
 * with a time constant of ADAPT_MEMORY_MS of audio (NetEq-like), gives the
 * ADAPT_QUANTILE late, at least one push: a lost packet is a push that
 * late (its concealment comes with the next one), and it must not run the
 * buffer dry. The target is the depth that still holds a pull's worth when
 * a push that late comes: half a push (the saw tooth of 20 ms packets
 * around the mean depth) + one pull + that late + ADAPT_MARGIN_MS,
 * plus a boost that each underrun raises by one push and that drains by
 * BOOST_DECAY_MS_PER_S. Only pushes that arrive while playing at the
 * target are judged: from (re)start until the depth is first back within
 * the drift band of the target, pushes are a refill, or a page catching up
 * after a stall (its backlog arriving at once), not the path's jitter; the
 * underrun's boost covers those. A rising target is
 * reached by playing slower (drift control); a falling one by playing
 * faster, or by a skip when the excess is large.
 */
const ADAPT_BIN_MS = 2;
const ADAPT_MEMORY_MS = 4_000;
const ADAPT_QUANTILE = 0.97;
const ADAPT_MARGIN_MS = 5;
const ADAPT_BASELINE_MS = 2_000;
/** Pushes judged before the measured target replaces `targetMs`. */
const ADAPT_WARMUP_PUSHES = 25;
const BOOST_DECAY_MS_PER_S = 2;

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
  /** The depth aimed at now, without the lip-sync hold, ms (adaptive: follows the jitter). */
  targetMs: number;
  /** The measured late of pushes at the adaptation quantile, ms (0 when fixed or not yet measured). */
  jitterMs: number;
}

/**
 * A bounded ring of mono samples between the network and the audio clock.
 * It starts playing once `targetMs` is buffered; an underrun plays silence
 * and waits for `targetMs` again; an overrun drops the oldest samples, so
 * latency never grows past `maxMs`. While playing, it keeps its smoothed
 * depth near the target: past `driftBandMs` it plays each pull from one
 * sample more (or less) than asked, linearly interpolated, until the depth
 * is back at the target; when it stays past `skipAboveMs`, it skips the
 * excess at once. Adaptive (`adaptive: true`), the target itself follows
 * the arrival jitter measured on the buffer's own clock (see ADAPT_* above):
 * small on a quiet path, deeper on a jittery one and after underruns.
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
  private baseTarget: number;
  private readonly maxSamples: number;
  private hold = 0;
  private readonly adaptive: boolean;
  private readonly minTarget: number;
  private readonly maxTarget: number;
  /** Samples pulled so far, silence included: the sound card's clock. */
  private clock = 0;
  private lastPull = 128;
  private lastPush = 0;
  /** Recent (clock ms, relative delay ms) of pushes, relative delays increasing: the baseline is the first. */
  private recent: { atMs: number; relative: number }[] = [];
  /** Lates of recent pushes (weights, older ones forgotten), ADAPT_BIN_MS per bin. */
  private readonly lates: Float64Array;
  private latesTotal = 0;
  private judged = 0;
  private boostMs = 0;
  private jitterMs = 0;
  /** Started or restarted and not yet back at the target: arrivals are not judged. */
  private settling = true;

  constructor(sampleRate: number, opts: Partial<JitterBufferOptions> = {}) {
    const o = { ...FIXED_JITTER, ...opts };
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
    this.adaptive = o.adaptive;
    this.maxTarget = Math.max(this.target, this.maxSamples - this.skipAbove);
    this.minTarget = Math.max(1, Math.min(samples(o.minMs), this.maxTarget));
    this.lates = new Float64Array(Math.ceil((this.maxTarget * 1000) / sampleRate / ADAPT_BIN_MS) + 1);
  }

  /** The depth aimed at now, without the hold, ms. */
  get targetMs(): number {
    return (this.baseTarget * 1000) / this.sampleRate;
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
    if (this.adaptive) this.observe(src.length, us);
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
    this.clock += n;
    this.lastPull = n;
    if (this.adaptive && this.boostMs > 0) {
      this.boostMs = Math.max(0, this.boostMs - (BOOST_DECAY_MS_PER_S * n) / this.sampleRate);
    }
    if (!this.playing) {
      if (this.size < this.target) {
        out.fill(0);
        return false;
      }
      this.playing = true;
      this.settling = true;
      this.smoothed = this.size;
      this.resetWindow();
    }
    if (this.settling && this.size <= this.target + this.band) this.settling = false;
    if (this.size < n) {
      this.underruns++;
      this.playing = false;
      if (this.adaptive) this.grow();
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
      targetMs: this.targetMs,
      jitterMs: this.jitterMs,
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

  /** Judges one push of `n` samples (capture time `us`, if known) and moves the target. */
  private observe(n: number, us: number | undefined): void {
    const sr = this.sampleRate;
    const pushMs = (n * 1000) / sr;
    this.lastPush = n;
    const mediaMs = us !== undefined ? us / 1000 : (this.writePos * 1000) / sr;
    const atMs = (this.clock * 1000) / sr;
    const relative = atMs - mediaMs;
    // A monotonic queue: the minimum over the window in O(1) per push.
    const recent = this.recent;
    while (recent.length > 0 && (recent[recent.length - 1]?.relative ?? -Infinity) >= relative) recent.pop();
    recent.push({ atMs, relative });
    while ((recent[0]?.atMs ?? atMs) < atMs - ADAPT_BASELINE_MS) recent.shift();
    if (!this.playing || this.settling) return;
    const late = relative - (recent[0]?.relative ?? relative);
    const forget = Math.exp(-pushMs / ADAPT_MEMORY_MS);
    const bins = this.lates;
    for (let i = 0; i < bins.length; i++) bins[i] = (bins[i] ?? 0) * forget;
    const bin = Math.min(bins.length - 1, Math.max(0, Math.floor(late / ADAPT_BIN_MS)));
    bins[bin] = (bins[bin] ?? 0) + 1;
    this.latesTotal = this.latesTotal * forget + 1;
    this.judged++;
    let seen = 0;
    const rank = ADAPT_QUANTILE * this.latesTotal;
    let q = bins.length - 1;
    for (let i = 0; i < bins.length; i++) {
      seen += bins[i] ?? 0;
      if (seen >= rank) {
        q = i;
        break;
      }
    }
    this.jitterMs = (q + 1) * ADAPT_BIN_MS;
    if (this.judged < ADAPT_WARMUP_PUSHES) return;
    const lateMs = Math.max(this.jitterMs, pushMs);
    const wantMs = pushMs / 2 + (this.lastPull * 1000) / sr + lateMs + ADAPT_MARGIN_MS + this.boostMs;
    this.setBaseTarget(Math.round((wantMs * sr) / 1000));
  }

  /** An underrun: the next push's worth deeper at once (the refill waits for it), draining slowly. */
  private grow(): void {
    const sr = this.sampleRate;
    const stepMs = (Math.max(this.lastPush, this.lastPull) * 1000) / sr;
    this.boostMs = Math.min((this.maxTarget * 1000) / sr, this.boostMs + stepMs);
    this.setBaseTarget(this.baseTarget + Math.round((stepMs * sr) / 1000));
  }

  private setBaseTarget(samples: number): void {
    this.baseTarget = Math.min(this.maxTarget, Math.max(this.minTarget, samples));
    this.target = this.baseTarget + this.hold;
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
