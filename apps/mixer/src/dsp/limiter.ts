/*
 * The soft limiter of the mix bus. Below the knee the signal passes
 * untouched; above it, a tanh curve bends it towards full scale and never
 * past it. The curve is continuous and so is its slope at the knee (tanh
 * starts with slope 1), so a sum that crosses the knee gets no step and no
 * click. It is stateless: no attack or release to pump, no look-ahead to add
 * latency; the price is some harmonic distortion while many people shout at
 * once, which is where a mix would otherwise clip hard.
 */

/** Where the knee starts: -3 dBFS. */
export const LIMITER_KNEE_DBFS = -3;
export const LIMITER_KNEE = 10 ** (LIMITER_KNEE_DBFS / 20);

/** The limiter curve for one sample; |result| < 1 for every finite input, and <= 1 always. */
export function softLimit(x: number, knee: number = LIMITER_KNEE): number {
  if (Number.isNaN(x)) return 0;
  const a = Math.abs(x);
  if (a <= knee) return x;
  const room = 1 - knee;
  const y = Math.min(1, knee + room * Math.tanh((a - knee) / room));
  return x < 0 ? -y : y;
}

/** Applies `softLimit` to every sample of `frame` in place and returns it. */
export function limitInPlace(frame: Float32Array, knee: number = LIMITER_KNEE): Float32Array {
  for (let i = 0; i < frame.length; i++) frame[i] = softLimit(frame[i]!, knee);
  return frame;
}
