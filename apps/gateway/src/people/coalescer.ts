/**
 * Runs a task at most once per `intervalMs`, however often it is poked: the
 * first poke runs it on the next turn of the event loop (so a burst of pokes
 * in one turn is one run), a poke within the interval of the last run runs
 * it once when the interval is over. The task reads the state it sends when
 * it runs, so nothing poked is lost, only merged.
 */
export class Coalescer {
  private timer: NodeJS.Timeout | null = null;
  private last = -Infinity;
  private stopped = false;

  constructor(
    private readonly intervalMs: number,
    private readonly task: () => void,
  ) {}

  poke(): void {
    if (this.timer || this.stopped) return;
    const wait = Math.max(0, this.last + this.intervalMs - performance.now());
    this.timer = setTimeout(() => {
      this.timer = null;
      this.last = performance.now();
      this.task();
    }, wait);
    this.timer.unref();
  }

  /** The task ran by other means (a heartbeat): the interval starts again from now. */
  ran(): void {
    this.last = performance.now();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }
}
