/*
 * Capture times for the envelope: µs since the Unix epoch, "as close to the
 * sensor as the host can".
 *
 * A `VideoFrame` or `AudioData` from a `MediaStreamTrackProcessor` carries a
 * `timestamp` in µs, stamped at capture, but on a clock of the browser's
 * choosing: in Chromium 156 audio timestamps are on the `performance.now()`
 * clock while camera frames are on a monotonic clock with another origin
 * (about the machine's uptime). So the page does not assume a clock; it
 * learns the offset from the frames themselves:
 *
 *   offset = (wall clock when the frame is read) − frame.timestamp
 *
 * is the true capture-to-epoch offset plus the delivery delay of that frame.
 * The smallest offset seen over a window is the best estimate (the frame that
 * reached the page fastest), so the envelope's capture time is the frame's own
 * timestamp plus that minimum. The window restarts now and then, so that a
 * wall-clock step (NTP) or a suspended machine is followed within a window.
 */

/** How long one minimum is kept before a fresh one takes over, µs. */
export const CAPTURE_CLOCK_WINDOW_US = 10_000_000;

export class CaptureClock {
  private best: number | null = null;
  private candidate: number | null = null;
  private windowStart = 0;

  constructor(private readonly windowUs: number = CAPTURE_CLOCK_WINDOW_US) {}

  /**
   * Maps a media timestamp (µs, any clock) read at `nowEpochUs` to µs since
   * the Unix epoch. Never later than `nowEpochUs`.
   */
  toEpochUs(mediaTimestampUs: number, nowEpochUs: number): number {
    const offset = nowEpochUs - mediaTimestampUs;
    if (this.best === null || nowEpochUs - this.windowStart >= this.windowUs) {
      // A new window: the previous window's candidate (or this offset) leads.
      this.best = this.candidate === null ? offset : Math.min(this.candidate, offset);
      this.candidate = offset;
      this.windowStart = nowEpochUs;
    } else {
      this.candidate = this.candidate === null ? offset : Math.min(this.candidate, offset);
      this.best = Math.min(this.best, offset);
    }
    return Math.min(Math.round(mediaTimestampUs + this.best), nowEpochUs);
  }
}

/** The wall clock in µs since the Unix epoch, with the precision of `performance.now()`. */
export function epochNowUs(): number {
  return Math.round((performance.timeOrigin + performance.now()) * 1000);
}
