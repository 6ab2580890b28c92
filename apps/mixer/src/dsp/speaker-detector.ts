/*
 * Active-speaker choice with hysteresis, so that the highlighted tile does
 * not flicker between two people talking at similar levels:
 *  - a source counts as speaking when its RMS is at or above `thresholdDbfs`;
 *  - with nobody active, the loudest speaking source becomes active once it
 *    has been the loudest for `holdMs`;
 *  - a challenger takes over from the active speaker only after leading it
 *    by at least `leadDb` for `holdMs` without a break;
 *  - the active speaker is dropped (null) after `releaseMs` below the
 *    threshold, or at once when it leaves the room.
 */
export interface SpeakerDetectorOptions {
  thresholdDbfs: number;
  leadDb: number;
  holdMs: number;
  releaseMs: number;
}

export const DEFAULT_SPEAKER_OPTIONS: SpeakerDetectorOptions = {
  thresholdDbfs: -50,
  leadDb: 6,
  holdMs: 300,
  releaseMs: 1_000,
};

export class SpeakerDetector {
  private active: string | null = null;
  private challenger: string | null = null;
  private challengerSince = 0;
  private quietSince: number | null = null;

  constructor(private readonly opts: SpeakerDetectorOptions = DEFAULT_SPEAKER_OPTIONS) {}

  get current(): string | null {
    return this.active;
  }

  /** Feeds one levels window (RMS dBFS per source) observed at `nowMs`; returns the active speaker. */
  update(levels: ReadonlyMap<string, number>, nowMs: number): string | null {
    const o = this.opts;
    if (this.active !== null && !levels.has(this.active)) {
      this.active = null;
      this.quietSince = null;
    }
    let loudest: string | null = null;
    let loudestDb = -Infinity;
    for (const [source, db] of levels) {
      if (db >= o.thresholdDbfs && db > loudestDb) {
        loudest = source;
        loudestDb = db;
      }
    }

    if (this.active !== null) {
      const activeDb = levels.get(this.active) ?? -Infinity;
      if (activeDb >= o.thresholdDbfs) this.quietSince = null;
      else if (this.quietSince === null) this.quietSince = nowMs;
      else if (nowMs - this.quietSince >= o.releaseMs) {
        this.active = null;
        this.quietSince = null;
      }
    }

    // The candidate that would take over now, if it keeps its place long enough.
    let candidate: string | null = null;
    if (loudest !== null && loudest !== this.active) {
      const activeDb = this.active === null ? -Infinity : (levels.get(this.active) ?? -Infinity);
      if (this.active === null || loudestDb >= activeDb + o.leadDb) candidate = loudest;
    }
    if (candidate === null) {
      this.challenger = null;
      return this.active;
    }
    if (candidate !== this.challenger) {
      this.challenger = candidate;
      this.challengerSince = nowMs;
    }
    if (nowMs - this.challengerSince >= o.holdMs) {
      this.active = candidate;
      this.challenger = null;
      this.quietSince = null;
    }
    return this.active;
  }
}
