import { execFileSync } from 'node:child_process';
import { requireBinary } from './binaries.js';
import { goertzelPower } from './goertzel.js';

/*
 * Tones in, tones out: a WAV of a known tone made by the real ffmpeg (for
 * Chromium's fake microphone, or any input), and the amplitude of one
 * frequency in decoded samples (Goertzel), so that a test can say which
 * source's tone is in which mix.
 */

/**
 * Amplitude (0..1 for a full-scale sine) of the `hz` component of `samples`,
 * by the Goertzel algorithm; about 0 for a frequency that is not there.
 */
export function toneAmplitude(samples: Float32Array, sampleRate: number, hz: number): number {
  if (samples.length === 0) return 0;
  const power = goertzelPower(samples, hz, sampleRate);
  return (2 * Math.sqrt(Math.max(0, power))) / samples.length;
}

/**
 * Writes a mono 48 kHz 16-bit WAV of a `hz` tone that sounds for `onSeconds`
 * out of every second (`amplitude` of full scale), `seconds` long. A tone
 * with pauses, because a browser's noise suppression fades a steady one
 * within a second or two (STACK-NOTES.md).
 */
export function writeToneWav(
  path: string,
  hz: number,
  opts: { seconds?: number; onSeconds?: number; amplitude?: number } = {},
): void {
  const { seconds = 4, onSeconds = 0.5, amplitude = 0.5 } = opts;
  const expr = `${amplitude}*sin(2*PI*${hz}*t)*lt(mod(t\\,1)\\,${onSeconds})`;
  execFileSync(requireBinary('ffmpeg'), [
    ...['-hide_banner', '-nostdin', '-loglevel', 'error', '-y'],
    ...['-f', 'lavfi', '-i', `aevalsrc=${expr}:s=48000:d=${seconds}`],
    ...['-ac', '1', '-c:a', 'pcm_s16le', path],
  ]);
}
