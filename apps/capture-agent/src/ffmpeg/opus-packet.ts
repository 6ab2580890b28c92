/*
 * Duration of an Opus packet from its TOC byte (RFC 6716 section 3.1), so
 * each envelope states how much audio it carries without decoding it.
 */

/** Frame duration in µs for each of the 32 TOC configurations. */
const FRAME_US: readonly number[] = [
  // SILK-only, NB/MB/WB: 10, 20, 40, 60 ms.
  10_000, 20_000, 40_000, 60_000, 10_000, 20_000, 40_000, 60_000, 10_000, 20_000, 40_000, 60_000,
  // Hybrid, SWB/FB: 10, 20 ms.
  10_000, 20_000, 10_000, 20_000,
  // CELT-only, NB/WB/SWB/FB: 2.5, 5, 10, 20 ms.
  2_500, 5_000, 10_000, 20_000, 2_500, 5_000, 10_000, 20_000, 2_500, 5_000, 10_000, 20_000, 2_500, 5_000, 10_000,
  20_000,
];

/** Duration of `packet` in µs, or null when the packet is too short to say. */
export function opusPacketDurationUs(packet: Uint8Array): number | null {
  const toc = packet[0];
  if (toc === undefined) return null;
  const frameUs = FRAME_US[toc >> 3]!;
  switch (toc & 0x03) {
    case 0:
      return frameUs;
    case 1:
    case 2:
      return 2 * frameUs;
    default: {
      const count = packet[1];
      if (count === undefined) return null;
      return (count & 0x3f) * frameUs;
    }
  }
}
