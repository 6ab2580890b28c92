/*
 * Lip sync on the viewer side: a tile's decoded frames are held back so
 * that each is shown when the audio captured at the same instant is heard.
 * The audio player knows how late its audio runs behind capture time (the
 * packets' transit plus its playout delay, in the browser's clock); a frame
 * captured at T is due at T + that delay. A frame that is already later than
 * that (video slower than audio) is shown at once; the presenter measures
 * how late frames come (`readyDelayMs`), and the audio player holds the
 * sound back by the difference (lip-sync.ts), so that the next frames are
 * due again. Without audio playing, frames are shown at once.
 */

/** Longest a frame is held: beyond it the delay estimate is not trusted, and the frame is shown. */
export const MAX_HOLD_MS = 1_000;
/** Frames waiting at most per tile; past it the oldest is dropped (30 fps × 0.27 s). */
export const MAX_HELD_FRAMES = 8;
/** The ready delay is this percentile of the frames of the last READY_WINDOW_MS: most frames are ready by then. */
const READY_PERCENTILE = 0.8;
const READY_WINDOW_MS = 2_000;

export interface HeldFrame {
  captureTimeUs: number;
  /** Frees the frame's memory (ImageBitmap.close) when it is dropped unshown. */
  discard(): void;
}

export interface PresenterClock {
  now(): number;
  setTimer(fn: () => void, ms: number): unknown;
  clearTimer(handle: unknown): void;
}

const browserClock: PresenterClock = {
  now: () => Date.now(),
  setTimer: (fn, ms) => setTimeout(fn, ms),
  clearTimer: (h) => clearTimeout(h as ReturnType<typeof setTimeout>),
};

export class FramePresenter<F extends HeldFrame> {
  private readonly held: F[] = [];
  private timer: unknown = null;
  /** Frames dropped while held (a newer one was due first, or too many waited). */
  dropped = 0;
  /** Capture → ready (decoded) delays of the recent frames, with when each came, oldest first. */
  private readonly ready: { at: number; ms: number }[] = [];
  /** When the last frame came (browser ms), 0 before one. */
  lastPushAt = 0;

  constructor(
    private readonly show: (frame: F) => void,
    /** How far behind capture time the audio is heard now, in ms; null when no audio plays. */
    private readonly audioDelayMs: () => number | null,
    private readonly clock: PresenterClock = browserClock,
  ) {}

  /** Frames arrive in capture order (the decoder is latest-frame-wins). */
  push(frame: F): void {
    const now = this.clock.now();
    this.ready.push({ at: now, ms: now - frame.captureTimeUs / 1000 });
    while ((this.ready[0]?.at ?? now) < now - READY_WINDOW_MS) this.ready.shift();
    this.lastPushAt = now;
    this.held.push(frame);
    if (this.held.length > MAX_HELD_FRAMES) {
      this.held.shift()?.discard();
      this.dropped++;
    }
    this.run();
  }

  /**
   * How late after capture frames are ready to show (decoded), ms in the
   * browser's clock: the 80th percentile over the last two seconds; null
   * before a frame.
   */
  get readyDelayMs(): number | null {
    if (this.ready.length === 0) return null;
    const sorted = this.ready.map((r) => r.ms).sort((a, b) => a - b);
    return sorted[Math.min(sorted.length - 1, Math.floor(READY_PERCENTILE * sorted.length))] ?? null;
  }

  close(): void {
    if (this.timer !== null) this.clock.clearTimer(this.timer);
    this.timer = null;
    for (const f of this.held.splice(0)) f.discard();
  }

  /** Shows the newest due frame (dropping older due ones) and arms a timer for the next. */
  private run(): void {
    if (this.timer !== null) this.clock.clearTimer(this.timer);
    this.timer = null;
    const now = this.clock.now();
    const delay = this.audioDelayMs();
    const due = (f: F): number =>
      delay === null ? -Infinity : f.captureTimeUs / 1000 + Math.min(Math.max(0, delay), MAX_HOLD_MS);
    let latestDue = -1;
    for (let i = 0; i < this.held.length; i++) {
      const f = this.held[i];
      if (f && due(f) <= now) latestDue = i;
    }
    if (latestDue >= 0) {
      const shown = this.held.splice(0, latestDue + 1);
      const last = shown.pop();
      for (const f of shown) {
        f.discard();
        this.dropped++;
      }
      if (last) this.show(last);
    }
    const next = this.held[0];
    if (next) this.timer = this.clock.setTimer(() => this.run(), Math.max(1, due(next) - now));
  }
}
