import { MIN_DBFS } from '@vidchat/protocol';

/*
 * Level metering in dBFS relative to a full-scale square wave: an RMS of
 * 1.0 is 0 dBFS, so a full-scale sine (RMS 1/sqrt 2) reads -3.01 dBFS.
 * Levels are clamped to MIN_DBFS..0, the range the levels message carries.
 */

export function toDbfs(linear: number): number {
  if (!(linear > 0)) return MIN_DBFS;
  const db = 20 * Math.log10(linear);
  return db < MIN_DBFS ? MIN_DBFS : db > 0 ? 0 : db;
}

/** Accumulates RMS and peak over a window of frames (one levels period). */
export class LevelMeter {
  private sumSquares = 0;
  private count = 0;
  private peak = 0;

  add(frame: Float32Array): void {
    let s = 0;
    let p = this.peak;
    for (let i = 0; i < frame.length; i++) {
      const v = frame[i]!;
      s += v * v;
      const a = v < 0 ? -v : v;
      if (a > p) p = a;
    }
    this.sumSquares += s;
    this.count += frame.length;
    this.peak = p;
  }

  /** RMS and peak of the window in dBFS, then starts a new window. */
  take(): { dbfs: number; peakDbfs: number } {
    const rms = this.count === 0 ? 0 : Math.sqrt(this.sumSquares / this.count);
    const out = { dbfs: toDbfs(rms), peakDbfs: toDbfs(this.peak) };
    this.sumSquares = 0;
    this.count = 0;
    this.peak = 0;
    return out;
  }
}

/** Rounds a level for the wire: 0.01 dB is finer than anyone can hear. */
export function roundDb(db: number): number {
  return Math.round(db * 100) / 100;
}
