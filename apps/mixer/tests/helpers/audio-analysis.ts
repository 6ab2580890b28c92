import { OpusDecoder } from 'opus-decoder';

/*
 * What the mixer's tests measure in decoded audio: Opus packets back to
 * samples, and the power of one frequency in them.
 */

/** Power of `hz` in `x` sampled at 48 kHz (Goertzel), normalised by the length. */
export function goertzel(x: Float32Array, hz: number): number {
  const w = (2 * Math.PI * hz) / 48_000;
  const c = 2 * Math.cos(w);
  let s1 = 0;
  let s2 = 0;
  for (let i = 0; i < x.length; i++) {
    const s0 = x[i]! + c * s1 - s2;
    s2 = s1;
    s1 = s0;
  }
  return (s1 * s1 + s2 * s2 - c * s1 * s2) / (x.length * x.length);
}

/** Decodes consecutive mono Opus packets of one stream, in order: one run of samples per packet. */
export async function decodeOpusFrames(packets: readonly Uint8Array[]): Promise<Float32Array[]> {
  const dec = new OpusDecoder({ channels: 1 });
  await dec.ready;
  const parts = packets.map((p) => Float32Array.from(dec.decodeFrame(p).channelData[0] ?? []));
  dec.free();
  return parts;
}

/** Joins runs of samples into one. */
export function joinFrames(parts: readonly Float32Array[]): Float32Array {
  const pcm = new Float32Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    pcm.set(p, o);
    o += p.length;
  }
  return pcm;
}

/** Decodes consecutive mono Opus packets of one stream, in order, into one run of samples. */
export async function decodeOpusPackets(packets: readonly Uint8Array[]): Promise<Float32Array> {
  return joinFrames(await decodeOpusFrames(packets));
}
