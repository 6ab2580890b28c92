/*
 * Gain ramps that keep joins, leaves and packet loss free of clicks: a
 * sudden step from one sample value to another is heard as a click, so every
 * change of gain is spread over a few milliseconds.
 */

/**
 * Multiplies `frame` by a gain moving linearly from `from` to `to` over the
 * first `length` samples, then holding `to`. Returns the gain reached (`to`).
 * Sample i (0-based) of the ramp gets from + (to - from) * (i + 1) / length,
 * so the last ramp sample is exactly at `to`.
 */
export function applyGainRamp(frame: Float32Array, from: number, to: number, length: number): number {
  const n = Math.max(1, Math.floor(length));
  for (let i = 0; i < frame.length; i++) {
    const g = i < n ? from + ((to - from) * (i + 1)) / n : to;
    frame[i] = frame[i]! * g;
  }
  return to;
}

/**
 * Writes the concealment of a missing frame: a straight line from the last
 * sample played (`last`) down to zero over `length` samples, then silence.
 * It continues the waveform from where it stopped, so the gap does not
 * click; it does not try to guess the missing sound.
 */
export function fadeToSilence(out: Float32Array, last: number, length: number): Float32Array {
  const n = Math.max(1, Math.floor(length));
  for (let i = 0; i < out.length; i++) out[i] = i < n ? last * (1 - (i + 1) / n) : 0;
  return out;
}
