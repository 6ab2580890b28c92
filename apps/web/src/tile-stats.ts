/** How long a frame counts towards the frame rate, ms. */
export const FPS_WINDOW_MS = 1_000;

/** Per-tile counters, read by the stats overlay and by `window.vidchat`. */
export class TileStats {
  framesReceived = 0;
  framesDrawn = 0;
  lastCaptureTimeUs = 0;
  /** `performance.now()`-independent wall-clock ms of the last draw (0 = never). */
  lastDrawnAt = 0;
  /** Last delivered latency: draw time minus capture time, ms. */
  latencyMs: number | null = null;
  private readonly drawTimes: number[] = [];

  onDrawn(captureTimeUs: number, now: number): void {
    this.framesDrawn++;
    this.lastCaptureTimeUs = captureTimeUs;
    this.lastDrawnAt = now;
    this.latencyMs = now - captureTimeUs / 1000;
    this.drawTimes.push(now);
    this.trim(now);
  }

  /** Frames drawn in the last second. */
  fps(now: number): number {
    this.trim(now);
    return (this.drawTimes.length * 1000) / FPS_WINDOW_MS;
  }

  private trim(now: number): void {
    // Bounded by the frame rate: entries older than the window are removed.
    while (this.drawTimes.length > 0 && (this.drawTimes[0] ?? 0) < now - FPS_WINDOW_MS) this.drawTimes.shift();
  }
}
