import { MAX_HOLD_MS } from './jitter-buffer.js';

/*
 * Lip sync in both directions, from capture times. The audio player knows
 * how late after capture its sound is heard (what the output plays when,
 * mapped to the wall clock); the tiles know how late after capture their
 * frames are ready to draw. Video is held back by the audio's delay in the
 * frame presenter (frame-presenter.ts). When the picture is the later one,
 * the audio is held back instead: `AudioHold` turns the video's delay and
 * the audio's own path delay into an extra playout delay for the jitter
 * buffer, at most MAX_HOLD_MS (300 ms); past it the picture trails.
 */

/** Changes of the audio hold smaller than this are not made (each rise is a short gap in the sound), ms. */
export const HOLD_DEADBAND_MS = 15;
/** The hold changes at most this often: the delays it is computed from settle in about a second, ms. */
export const HOLD_MIN_INTERVAL_MS = 1_000;

export class AudioHold {
  private hold = 0;
  private changedAt = -Infinity;

  /**
   * The extra audio delay (ms) for a video path `videoDelayMs` behind capture
   * (null: no picture to follow), given the audio's delay without any hold
   * (`audioBaseMs`: transit plus the jitter buffer's own target plus output).
   */
  update(videoDelayMs: number | null, audioBaseMs: number, now: number): number {
    const want = videoDelayMs === null ? 0 : Math.round(Math.min(MAX_HOLD_MS, Math.max(0, videoDelayMs - audioBaseMs)));
    if (Math.abs(want - this.hold) >= HOLD_DEADBAND_MS && now - this.changedAt >= HOLD_MIN_INTERVAL_MS) {
      this.hold = want;
      this.changedAt = now;
    }
    return this.hold;
  }

  get holdMs(): number {
    return this.hold;
  }
}

/** The clock pair AudioContext.getOutputTimestamp gives (both 0 or missing where the browser cannot tell). */
export interface OutputTimestamp {
  contextTime?: number;
  performanceTime?: number;
}

/**
 * Wall-clock ms (epoch) at which the sample rendered at `contextTime` leaves
 * the sound card. With an output timestamp: the sample the device plays at
 * `performanceTime` is at `ts.contextTime`, and the context clock runs at
 * real time from there. Without one: now, plus the time until that sample
 * is rendered, plus the latencies the context reports.
 */
export function heardAtMs(
  contextTime: number,
  ts: OutputTimestamp | null,
  ctx: { currentTime: number; baseLatency?: number; outputLatency?: number },
  wallNow: number,
  perfNow: number,
): number {
  if (ts && ts.performanceTime && ts.contextTime) {
    return wallNow - perfNow + ts.performanceTime + (contextTime - ts.contextTime) * 1000;
  }
  return wallNow + (contextTime - ctx.currentTime + (ctx.baseLatency ?? 0) + (ctx.outputLatency ?? 0)) * 1000;
}
