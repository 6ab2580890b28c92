/*
 * A small Ogg page parser that yields the Opus packets of one logical
 * stream (RFC 3533 pages, RFC 7845 Opus mapping), fed ffmpeg's `-f ogg`
 * output chunk by chunk.
 *
 *   page: "OggS" | version 0 | flags | granule (8, LE) | serial (4, LE)
 *         | page seq (4, LE) | CRC-32 (4, LE) | n segments | n lacing values
 *         | data
 *
 * A packet is the concatenation of lacing segments up to and including the
 * first value below 255, so packets of 255 bytes or more, and packets that
 * continue on the next page (flag 0x01), are reassembled. The first two
 * packets of the stream, OpusHead and OpusTags, are headers, not audio, and
 * are skipped. A page whose capture pattern or CRC is wrong is skipped by
 * searching for the next "OggS"; the bytes are counted, never thrown.
 */

/** Largest packet kept; Opus packets stay under 1275 × 3 bytes. */
export const DEFAULT_MAX_PACKET_BYTES = 16_384;
/** The largest possible page: 27 header bytes, 255 lacing values, 255 × 255 data bytes. */
export const MAX_OGG_PAGE_BYTES = 27 + 255 + 255 * 255;

export interface OggOpusDemuxerOptions {
  maxPacketBytes?: number;
  /** Verify each page's CRC-32 (default true). */
  checkCrc?: boolean;
}

export interface OggPacketInfo {
  /** Granule position of the page the packet ended on (48 kHz samples). */
  granule: bigint;
}

export interface OggDemuxerStats {
  pages: number;
  packets: number;
  /** Bytes skipped while looking for a capture pattern. */
  garbageBytes: number;
  badCrcPages: number;
  /** Packets dropped: too large, or cut off by a missing continuation. */
  droppedPackets: number;
}

const HEADER_BYTES = 27;
const CAPTURE = [0x4f, 0x67, 0x67, 0x53]; // "OggS"
const FLAG_CONTINUED = 0x01;
const FLAG_BOS = 0x02;

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let i = 0; i < 256; i++) {
    let r = i << 24;
    for (let j = 0; j < 8; j++) r = r & 0x80000000 ? (r << 1) ^ 0x04c11db7 : r << 1;
    t[i] = r >>> 0;
  }
  return t;
})();

/** Ogg's CRC-32 (polynomial 0x04C11DB7, not reflected, initial 0), with the CRC field read as zero. */
export function oggPageCrc(page: Uint8Array): number {
  let crc = 0;
  for (let i = 0; i < page.length; i++) {
    const b = i >= 22 && i < 26 ? 0 : page[i]!;
    crc = ((crc << 8) ^ CRC_TABLE[((crc >>> 24) ^ b) & 0xff]!) >>> 0;
  }
  return crc;
}

function startsWith(bytes: Uint8Array, at: number, ascii: string): boolean {
  if (bytes.length - at < ascii.length) return false;
  for (let i = 0; i < ascii.length; i++) if (bytes[at + i] !== ascii.charCodeAt(i)) return false;
  return true;
}

export class OggOpusDemuxer {
  readonly maxPacketBytes: number;
  readonly checkCrc: boolean;
  readonly stats: OggDemuxerStats = { pages: 0, packets: 0, garbageBytes: 0, badCrcPages: 0, droppedPackets: 0 };

  /** Unparsed bytes: `buf[start..end)`. */
  private buf = new Uint8Array(8192);
  private start = 0;
  private end = 0;

  private serial: number | null = null;
  private headersLeft = 2;
  /** Segments of a packet not yet finished. */
  private partial: Uint8Array[] = [];
  private partialLength = 0;
  private partialTooBig = false;

  constructor(
    private readonly onPacket: (packet: Uint8Array, info: OggPacketInfo) => void,
    options: OggOpusDemuxerOptions = {},
  ) {
    this.maxPacketBytes = options.maxPacketBytes ?? DEFAULT_MAX_PACKET_BYTES;
    this.checkCrc = options.checkCrc ?? true;
  }

  push(chunk: Uint8Array): void {
    this.append(chunk);
    while (this.parsePage()) {
      // Each call consumes one page or skips garbage.
    }
    // Keep the buffer small once everything is consumed.
    if (this.start === this.end) this.start = this.end = 0;
  }

  reset(): void {
    this.start = this.end = 0;
    this.serial = null;
    this.headersLeft = 2;
    this.dropPartial(false);
  }

  private append(chunk: Uint8Array): void {
    if (this.end + chunk.length > this.buf.length) {
      const live = this.end - this.start;
      if (live + chunk.length <= this.buf.length) {
        this.buf.copyWithin(0, this.start, this.end);
      } else {
        const next = new Uint8Array(Math.max(this.buf.length * 2, live + chunk.length));
        next.set(this.buf.subarray(this.start, this.end));
        this.buf = next;
      }
      this.start = 0;
      this.end = live;
    }
    this.buf.set(chunk, this.end);
    this.end += chunk.length;
  }

  /** Parses one page at `start`; returns false when more bytes are needed. */
  private parsePage(): boolean {
    const b = this.buf;
    const avail = this.end - this.start;
    if (avail < 4) return false;
    const s = this.start;
    if (b[s] !== CAPTURE[0] || b[s + 1] !== CAPTURE[1] || b[s + 2] !== CAPTURE[2] || b[s + 3] !== CAPTURE[3]) {
      this.skipToCapture(1);
      return true;
    }
    if (avail < HEADER_BYTES) return false;
    if (b[s + 4] !== 0) {
      this.skipToCapture(1); // Unknown version: not a page we can read.
      return true;
    }
    const segments = b[s + 26]!;
    if (avail < HEADER_BYTES + segments) return false;
    let dataLength = 0;
    for (let k = 0; k < segments; k++) dataLength += b[s + HEADER_BYTES + k]!;
    const pageLength = HEADER_BYTES + segments + dataLength;
    if (avail < pageLength) return false;
    const page = b.subarray(s, s + pageLength);
    const view = new DataView(b.buffer, b.byteOffset + s, pageLength);
    if (this.checkCrc && oggPageCrc(page) !== view.getUint32(22, true)) {
      this.stats.badCrcPages++;
      this.skipToCapture(1);
      return true;
    }
    this.start += pageLength;
    this.stats.pages++;
    this.readPage(page, view, segments);
    return true;
  }

  private skipToCapture(from: number): void {
    const b = this.buf;
    let i = this.start + from;
    for (; i + 3 < this.end; i++) {
      if (b[i] === 0x4f && b[i + 1] === 0x67 && b[i + 2] === 0x67 && b[i + 3] === 0x53) break;
    }
    // Keep up to three trailing bytes that might begin a capture pattern.
    if (i + 3 >= this.end) i = Math.max(this.start + from, this.end - 3);
    this.stats.garbageBytes += i - this.start;
    this.start = i;
  }

  private readPage(page: Uint8Array, view: DataView, segments: number): void {
    const flags = view.getUint8(5);
    const granule = view.getBigInt64(6, true);
    const serial = view.getUint32(14, true);
    const dataStart = HEADER_BYTES + segments;
    if (flags & FLAG_BOS) {
      if (!startsWith(page, dataStart, 'OpusHead')) return; // Another codec's stream.
      this.serial = serial;
      this.headersLeft = 2;
      this.dropPartial(false);
    }
    if (this.serial !== serial) return;
    if (!(flags & FLAG_CONTINUED) && this.partialLength > 0) this.dropPartial(true);
    if (flags & FLAG_CONTINUED && this.partialLength === 0 && !this.partialTooBig) {
      // Continuation of a packet whose start we never saw: skip its tail.
      let k = 0;
      let p = dataStart;
      while (k < segments) {
        const lace = page[HEADER_BYTES + k]!;
        p += lace;
        k++;
        if (lace < 255) break;
      }
      if (k > 0 && page[HEADER_BYTES + k - 1]! < 255) this.stats.droppedPackets++;
      this.readSegments(page, p, k, segments, granule);
      return;
    }
    this.readSegments(page, dataStart, 0, segments, granule);
  }

  private readSegments(page: Uint8Array, p: number, k: number, segments: number, granule: bigint): void {
    for (; k < segments; k++) {
      const lace = page[HEADER_BYTES + k]!;
      if (this.partialLength + lace > this.maxPacketBytes) this.partialTooBig = true;
      if (!this.partialTooBig && lace > 0) {
        this.partial.push(page.subarray(p, p + lace));
        this.partialLength += lace;
      }
      p += lace;
      if (lace < 255) this.finishPacket(granule);
    }
    if (this.partialLength > 0) {
      // The packet continues on the next page. Its segments are views into the
      // parse buffer, which the next append may overwrite: keep a copy.
      this.partial = [this.joinPartial()];
    }
  }

  private joinPartial(): Uint8Array {
    const out = new Uint8Array(this.partialLength);
    let o = 0;
    for (const part of this.partial) {
      out.set(part, o);
      o += part.length;
    }
    return out;
  }

  private finishPacket(granule: bigint): void {
    if (this.partialTooBig) {
      this.dropPartial(true);
      return;
    }
    const length = this.partialLength;
    // Copy out: the page bytes live in the reusable parse buffer.
    const packet = this.joinPartial();
    this.partial = [];
    this.partialLength = 0;
    if (length === 0) return; // An empty packet would decode as concealment: never emit one.
    if (this.headersLeft > 0) {
      this.headersLeft--;
      return;
    }
    this.stats.packets++;
    this.onPacket(packet, { granule });
  }

  private dropPartial(count: boolean): void {
    if (count && (this.partialLength > 0 || this.partialTooBig)) this.stats.droppedPackets++;
    this.partial = [];
    this.partialLength = 0;
    this.partialTooBig = false;
  }
}
