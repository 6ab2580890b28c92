/**
 * The Goertzel algorithm: the power of one frequency in a run of samples,
 * unnormalised (|X(hz)|² of the run). One loop for every tone check in the
 * tests: `goertzel` (power per sample², for comparing tones in one run) and
 * `toneAmplitude` (tone-analysis.ts, the amplitude of a sine).
 */
export function goertzelPower(x: Float32Array, hz: number, sampleRate: number): number {
  const w = (2 * Math.PI * hz) / sampleRate;
  const c = 2 * Math.cos(w);
  let s1 = 0;
  let s2 = 0;
  for (let i = 0; i < x.length; i++) {
    const s0 = x[i]! + c * s1 - s2;
    s2 = s1;
    s1 = s0;
  }
  return s1 * s1 + s2 * s2 - c * s1 * s2;
}

/**
 * Power of `hz` in `x` (the Goertzel algorithm), normalised by the length:
 * how tests tell which tones a decoded stream holds.
 */
export function goertzel(x: Float32Array, hz: number, sampleRate = 48_000): number {
  return goertzelPower(x, hz, sampleRate) / (x.length * x.length);
}
