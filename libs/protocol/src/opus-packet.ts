/*
 * Whether an Opus packet carries in-band FEC (SILK's LBRR data for the
 * packet before it), read from its first bytes the way libopus 1.5's
 * `opus_packet_has_lbrr` does (RFC 6716 §3.1 and §4.2.3):
 *
 *   TOC: config (5 bits) | stereo (1) | frame count code (2)
 *   config 0–11 SILK, 12–15 hybrid (both carry SILK and can carry LBRR),
 *   16–31 CELT only (never any FEC).
 *   The SILK layer of the first frame starts with one VAD flag per SILK
 *   frame (1 for 10/20 ms, 2 for 40 ms, 3 for 60 ms), then the LBRR flag;
 *   both are coded with probability 1/2, so they are the top bits of the
 *   frame's first byte. In stereo the side channel's flags follow.
 *
 * The mixer and the viewer page count a loss as recovered by FEC only when the next packet
 * really carried it: libopus answers a FEC decode of a packet without LBRR
 * with plain concealment, silently.
 */

/** Offset of the first frame's data after the TOC and framing bytes, or -1 when the packet is malformed. */
function firstFrameOffset(packet: Uint8Array): number {
  const toc = packet[0];
  if (toc === undefined) return -1;
  switch (toc & 0x03) {
    case 0:
    case 1:
      return 1;
    case 2: {
      const b = packet[1];
      if (b === undefined) return -1;
      return b < 252 ? 2 : 3;
    }
    default: {
      const count = packet[1];
      if (count === undefined) return -1;
      let p = 2;
      if (count & 0x40) {
        // Padding length: bytes of 255 mean "254 more and another byte".
        for (;;) {
          const b = packet[p++];
          if (b === undefined) return -1;
          if (b !== 255) break;
        }
      }
      if (count & 0x80) {
        // VBR: the lengths of all frames but the last, one or two bytes each.
        for (let i = 0; i < (count & 0x3f) - 1; i++) {
          const b = packet[p];
          if (b === undefined) return -1;
          p += b < 252 ? 1 : 2;
        }
      }
      return p;
    }
  }
}

/** SILK frames in a SILK-only Opus frame of 10, 20, 40, 60 ms. */
const SILK_FRAMES = [1, 1, 2, 3] as const;

/** True when `packet` carries FEC data for the packet before it. */
export function opusPacketHasFec(packet: Uint8Array): boolean {
  const toc = packet[0];
  if (toc === undefined) return false;
  const config = toc >> 3;
  if (config >= 16) return false;
  // SILK frames per Opus frame: hybrid frames are 10 or 20 ms (one), SILK ones 10/20/40/60 ms.
  const silkFrames = config >= 12 ? 1 : (SILK_FRAMES[config & 0x03] ?? 1);
  const offset = firstFrameOffset(packet);
  const first = offset < 0 ? undefined : packet[offset];
  if (first === undefined) return false;
  const mid = (first >> (7 - silkFrames)) & 1;
  const stereo = (toc & 0x04) !== 0;
  const side = stereo ? (first >> (6 - 2 * silkFrames)) & 1 : 0;
  return mid === 1 || side === 1;
}
