/*
 * The one audio format inside the mixer: 48 kHz mono, 20 ms frames. Every
 * source is decoded to it and the mix is encoded from it, so the DSP code
 * never resamples or re-frames.
 */
export const SAMPLE_RATE = 48_000;
export const CHANNELS = 1;
export const FRAME_MS = 20;
export const FRAME_US = FRAME_MS * 1_000;
export const FRAME_SAMPLES = (SAMPLE_RATE / 1_000) * FRAME_MS;

/** Samples in `ms` milliseconds at the mixer's rate, at least 1. */
export function msToSamples(ms: number): number {
  return Math.max(1, Math.round((SAMPLE_RATE / 1_000) * ms));
}
