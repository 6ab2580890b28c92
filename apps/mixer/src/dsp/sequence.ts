/*
 * u32 sequence arithmetic that survives the wrap from 0xffffffff to 0: the
 * distance between two sequence numbers is taken modulo 2^32 and read as a
 * signed 32-bit number, as RTP does with its 16-bit numbers.
 */

/** `a - b` for u32 sequence numbers, in -2^31..2^31-1. */
export function seqDiff(a: number, b: number): number {
  return (a - b) | 0;
}

/** `seq + n` wrapped to u32. */
export function seqAdd(seq: number, n: number): number {
  return (seq + n) >>> 0;
}
