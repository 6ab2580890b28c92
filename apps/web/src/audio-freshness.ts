/*
 * Judges whether a mix packet is still worth playing when it reaches the
 * page. A page whose main thread was busy (a long task, a background tab
 * coming back) receives the packets that queued up meanwhile all at once;
 * playing them would put the listener seconds behind. A packet's transit,
 * arrival time minus capture time, includes an unknown but nearly constant
 * offset between the mixer's clock and the browser's; its smallest recent
 * value is the baseline, and a packet later than the baseline by more than
 * `maxLateMs` is stale. The baseline follows the minimum down at once and
 * creeps up slowly (`creepMsPerPacket`), so that clock drift and route
 * changes are followed while a burst of late packets barely moves it.
 */

export interface FreshnessOptions {
  /** Transit beyond the baseline above which a packet is dropped as stale. */
  maxLateMs: number;
  /** How far the baseline rises per packet when transit grows for good. */
  creepMsPerPacket: number;
}

export const DEFAULT_FRESHNESS: FreshnessOptions = { maxLateMs: 150, creepMsPerPacket: 0.05 };

export class FreshnessFilter {
  private baseline = Infinity;
  stale = 0;

  constructor(private readonly opts: FreshnessOptions = DEFAULT_FRESHNESS) {}

  /** Whether a packet captured at `captureTimeUs` and arriving at `arrivalMs` (both epoch) is fresh. */
  accept(captureTimeUs: number, arrivalMs: number): boolean {
    const transit = arrivalMs - captureTimeUs / 1000;
    this.baseline = Math.min(transit, this.baseline + this.opts.creepMsPerPacket);
    if (transit - this.baseline > this.opts.maxLateMs) {
      this.stale++;
      return false;
    }
    return true;
  }

  /** The current baseline transit (ms): clock offset plus the shortest recent network delay. */
  get baselineMs(): number {
    return this.baseline;
  }
}
