/*
 * One clock for every room of the process. Ticks are scheduled on absolute
 * time (start + n × period), not by chaining setTimeout delays, so timer
 * lateness does not accumulate into drift. When the process falls behind it
 * runs the missed ticks at once, up to `maxCatchUpTicks`; beyond that it
 * skips ahead (counted) rather than bursting seconds of audio.
 */
export interface MixClockOptions {
  periodMs: number;
  maxCatchUpTicks: number;
  /** Monotonic time in ms; performance.now() unless a test passes its own. */
  now?: () => number;
}

export class MixClock {
  private timer: ReturnType<typeof setTimeout> | null = null;
  private startMs = 0;
  private n = 0;
  private readonly now: () => number;
  skipped = 0;

  constructor(
    private readonly opts: MixClockOptions,
    private readonly onTick: (tickIndex: number) => void,
  ) {
    this.now = opts.now ?? (() => performance.now());
  }

  get running(): boolean {
    return this.timer !== null;
  }

  start(): void {
    if (this.timer !== null) return;
    this.startMs = this.now();
    this.n = 0;
    this.schedule();
  }

  stop(): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
  }

  private schedule(): void {
    const due = this.startMs + (this.n + 1) * this.opts.periodMs;
    this.timer = setTimeout(() => this.fire(), Math.max(0, due - this.now()));
  }

  private fire(): void {
    const p = this.opts.periodMs;
    const behind = Math.floor((this.now() - this.startMs) / p) - this.n;
    if (behind > this.opts.maxCatchUpTicks) {
      this.skipped += behind - 1;
      this.n += behind - 1;
    }
    while (this.timer !== null && this.startMs + (this.n + 1) * p <= this.now()) {
      this.n++;
      this.onTick(this.n);
    }
    if (this.timer !== null) this.schedule();
  }
}
