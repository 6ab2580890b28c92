/*
 * A parser for ffmpeg's `-f smjpeg` output (Loki's SDL Motion JPEG), the one
 * JPEG stream ffmpeg writes to a pipe with a timestamp per frame:
 *
 *   header:  "\0\nSMJPEG" | version (4) | duration (4)
 *            then chunks  tag (4) | length (4, BE) | data, until "HEND"
 *   frames:  "vidD" | timestamp ms (4, BE) | length (4, BE) | one JPEG
 *            ("sndD" chunks have the same layout; "DONE" ends the stream)
 *
 * The timestamp is the frame's pts in milliseconds, cut to 32 bits by the
 * muxer; `unwrapEpochMs` restores the full epoch time against a clock that
 * is within 24 days of it. Unknown bytes where a chunk tag should be are
 * skipped up to the next "vidD" and counted; a frame over `maxFrameBytes` is
 * skipped and counted. Each frame is handed over as a view that is valid
 * only during the callback.
 */

export interface SmjpegDemuxerOptions {
  /** Frames larger than this are skipped and counted. */
  maxFrameBytes: number;
}

export interface SmjpegDemuxerStats {
  frames: number;
  oversizeFrames: number;
  garbageBytes: number;
}

const MAGIC = [0x00, 0x0a, 0x53, 0x4d, 0x4a, 0x50, 0x45, 0x47]; // "\0\nSMJPEG"
const PREAMBLE_BYTES = 16;
/** Header chunks (text, stream descriptions) are small; a bigger length means the stream is not SMJPEG. */
const MAX_HEADER_CHUNK_BYTES = 65_536;

function tagAt(b: Uint8Array, at: number): string {
  return String.fromCharCode(b[at]!, b[at + 1]!, b[at + 2]!, b[at + 3]!);
}

function u32(b: Uint8Array, at: number): number {
  return ((b[at]! << 24) | (b[at + 1]! << 16) | (b[at + 2]! << 8) | b[at + 3]!) >>> 0;
}

/** The epoch time in ms whose low 32 bits are `low32`, nearest below `nowMs` (a frame is never from the future). */
export function unwrapEpochMs(low32: number, nowMs: number): number {
  const span = 2 ** 32;
  const back = (((Math.floor(nowMs) - low32) % span) + span) % span;
  return Math.floor(nowMs) - back;
}

export class SmjpegDemuxer {
  readonly stats: SmjpegDemuxerStats = { frames: 0, oversizeFrames: 0, garbageBytes: 0 };
  private buf = new Uint8Array(0);
  private inHeader = true;
  /** Bytes of an oversize frame still to skip. */
  private skip = 0;

  constructor(
    private readonly onFrame: (jpeg: Uint8Array, timestampMs32: number) => void,
    private readonly opts: SmjpegDemuxerOptions,
  ) {}

  /** Forgets everything: a new ffmpeg starts a new stream with its own header. */
  reset(): void {
    this.buf = new Uint8Array(0);
    this.inHeader = true;
    this.skip = 0;
  }

  push(chunk: Uint8Array): void {
    if (this.skip > 0) {
      const n = Math.min(this.skip, chunk.length);
      this.skip -= n;
      chunk = chunk.subarray(n);
    }
    if (chunk.length === 0) return;
    const joined = new Uint8Array(this.buf.length + chunk.length);
    joined.set(this.buf);
    joined.set(chunk, this.buf.length);
    let p = 0;
    const b = joined;
    for (;;) {
      if (this.inHeader) {
        if (p === 0) {
          if (b.length < PREAMBLE_BYTES) break;
          if (!MAGIC.every((m, i) => b[i] === m)) {
            // Not a stream start: look for frames instead.
            this.inHeader = false;
            continue;
          }
          p = PREAMBLE_BYTES;
        }
        if (b.length - p < 4) break;
        if (tagAt(b, p) === 'HEND') {
          p += 4;
          this.inHeader = false;
          continue;
        }
        if (b.length - p < 8) break;
        const len = u32(b, p + 4);
        if (len > MAX_HEADER_CHUNK_BYTES) {
          this.inHeader = false;
          continue;
        }
        if (b.length - p < 8 + len) break;
        p += 8 + len;
        continue;
      }
      if (b.length - p < 4) break;
      const tag = tagAt(b, p);
      if (tag === 'DONE') {
        p += 4;
        continue;
      }
      if (tag !== 'vidD' && tag !== 'sndD') {
        // Lost: skip to the next frame tag, keeping a possible partial tag at the end.
        const next = indexOfVidD(b, p + 1);
        const to = next >= 0 ? next : Math.max(p + 1, b.length - 3);
        this.stats.garbageBytes += to - p;
        p = to;
        continue;
      }
      if (b.length - p < 12) break;
      const ts = u32(b, p + 4);
      const len = u32(b, p + 8);
      if (tag === 'vidD' && len > this.opts.maxFrameBytes) {
        this.stats.oversizeFrames++;
        const have = b.length - (p + 12);
        if (have < len) {
          this.skip = len - have;
          p = b.length;
          break;
        }
        p += 12 + len;
        continue;
      }
      if (b.length - p < 12 + len) break;
      if (tag === 'vidD') {
        this.stats.frames++;
        this.onFrame(b.subarray(p + 12, p + 12 + len), ts);
      }
      p += 12 + len;
    }
    // Keep the unparsed tail; the header state restarts at offset 0 of it.
    if (this.inHeader && p > 0) {
      // Mid-header: keep the remaining header chunks with a synthetic empty preamble.
      const rest = b.subarray(p);
      this.buf = new Uint8Array(PREAMBLE_BYTES + rest.length);
      this.buf.set(MAGIC);
      this.buf.set(rest, PREAMBLE_BYTES);
    } else {
      this.buf = b.slice(p);
    }
  }
}

function indexOfVidD(b: Uint8Array, from: number): number {
  for (let i = from; i + 4 <= b.length; i++) {
    if (b[i] === 0x76 && b[i + 1] === 0x69 && b[i + 2] === 0x64 && b[i + 3] === 0x44) return i;
  }
  return -1;
}
