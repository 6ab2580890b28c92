/*
 * Summing and sample conversion. The sum is kept in float so that many loud
 * sources never wrap around as int16 addition would; the limiter brings the
 * sum back into range before conversion.
 */

/** Adds `src` into `acc` sample by sample (acc[i] += src[i]). Lengths must match. */
export function addInto(acc: Float32Array, src: Float32Array): void {
  if (acc.length !== src.length) throw new RangeError(`frame lengths differ: ${acc.length} vs ${src.length}`);
  for (let i = 0; i < acc.length; i++) acc[i] = acc[i]! + src[i]!;
}

/**
 * Writes one listener's mix-minus before the limiter: out[i] = sum[i] - own[i],
 * or a copy of `sum` when the listener has no audio in the mix (`own` null).
 * The room is summed once and each listener's own frame taken back out, so a
 * listener costs one subtraction and one encode, not a sum of everyone else.
 * In float32 the difference can differ from the sum of the others by a
 * rounding of the sum (about 6e-8 of full scale), far below int16's step.
 */
export function mixMinusInto(out: Float32Array, sum: Float32Array, own: Float32Array | null): Float32Array {
  if (out.length !== sum.length) throw new RangeError(`frame lengths differ: ${sum.length} vs ${out.length}`);
  if (own === null) {
    out.set(sum);
    return out;
  }
  if (own.length !== sum.length) throw new RangeError(`frame lengths differ: ${sum.length} vs ${own.length}`);
  for (let i = 0; i < sum.length; i++) out[i] = sum[i]! - own[i]!;
  return out;
}

/** Sums equal-length frames into a new frame (an all-zero frame when there are none). */
export function sumFrames(frames: readonly Float32Array[], length: number): Float32Array {
  const acc = new Float32Array(length);
  for (const f of frames) addInto(acc, f);
  return acc;
}

/**
 * Float [-1, 1] to int16, rounding to nearest and clamping as a last guard:
 * a value the limiter already bounded is never changed by the clamp.
 * +1.0 maps to 32767 and -1.0 to -32767, so the scale is symmetric.
 */
export function floatToInt16(src: Float32Array, out: Int16Array = new Int16Array(src.length)): Int16Array {
  if (out.length !== src.length) throw new RangeError(`frame lengths differ: ${src.length} vs ${out.length}`);
  for (let i = 0; i < src.length; i++) {
    const v = Math.round(src[i]! * 32767);
    out[i] = v > 32767 ? 32767 : v < -32767 ? -32767 : v;
  }
  return out;
}

/** int16 to float [-1, 1] with the same scale as `floatToInt16`. */
export function int16ToFloat(src: Int16Array, out: Float32Array = new Float32Array(src.length)): Float32Array {
  for (let i = 0; i < src.length; i++) out[i] = src[i]! / 32767;
  return out;
}
