import { OpusDecoder } from 'opus-decoder';

/*
 * What the mixer's tests measure in decoded audio: Opus packets back to
 * samples (and, re-exported, the power of one frequency in them).
 */

/** Power of `hz` at 48 kHz, normalised by the length: the one Goertzel of libs/test-support. */
export { goertzel } from '@vidchat/test-support';

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
