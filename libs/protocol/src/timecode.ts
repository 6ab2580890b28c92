/*
 * The test pattern's machine-readable timecode: a row of black and white
 * blocks at the top left of each frame, drawn by the capture agent's ffmpeg
 * at capture, that encodes the frame's capture time (wall-clock ms, its low
 * TIMECODE_BITS bits, least significant bit first, white = 1). Reading it
 * back from a painted canvas gives a capture-to-paint latency that includes
 * every step: ffmpeg, JPEG, NATS, the gateway, the socket, decode and paint.
 * Blocks scale with the frame, so the half-width layer keeps a readable code.
 */

/** Bits of the capture time (ms) in the code: 2^32 ms is about 49 days. */
export const TIMECODE_BITS = 32;

/** Width of one block for a frame `frameWidth` wide: 1/40 of it (16 px at 640), at least 4 px, even. */
export function timecodeBlockWidth(frameWidth: number): number {
  return Math.max(4, 2 * Math.floor(frameWidth / 80));
}

/** Height of the row of blocks: half a block width, at least 4 px. */
export function timecodeBlockHeight(frameWidth: number): number {
  return Math.max(4, timecodeBlockWidth(frameWidth) / 2);
}

/**
 * Reads the code from a frame `frameWidth` wide; `luma(x, y)` gives a
 * pixel's brightness 0-255. Each block is sampled at its centre, 128 and
 * up is white. Returns the low TIMECODE_BITS bits of the capture time, ms.
 */
export function readTimecode(luma: (x: number, y: number) => number, frameWidth: number): number {
  const bw = timecodeBlockWidth(frameWidth);
  const y = Math.floor(timecodeBlockHeight(frameWidth) / 2);
  let value = 0;
  for (let bit = 0; bit < TIMECODE_BITS; bit++) {
    if (luma(bit * bw + bw / 2, y) >= 128) value += 2 ** bit;
  }
  return value;
}

/** The full epoch ms of a code read at `nowMs`: the nearest such time at or before now. */
export function unwrapTimecode(low: number, nowMs: number): number {
  const span = 2 ** TIMECODE_BITS;
  const base = Math.floor(nowMs / span) * span;
  const t = base + low;
  return t > nowMs ? t - span : t;
}
