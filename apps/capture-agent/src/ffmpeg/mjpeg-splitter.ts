/*
 * Splits a stream of concatenated JPEGs (ffmpeg `-f mjpeg`, or a camera's own
 * frames passed through with `-c:v copy`) into one buffer per frame.
 *
 * It walks the JPEG marker structure instead of searching for SOI/EOI byte
 * pairs: every marker segment before the scan is skipped by its declared
 * length, so an EXIF APP1 segment that carries a whole thumbnail JPEG (with
 * its own SOI and EOI) cannot cut the frame. Only the entropy-coded data after
 * SOS is scanned, for 0xFF followed by a byte that is not a stuffed 0x00, a
 * restart marker RSTn or a fill byte. The state machine is resumable at every
 * byte, so markers split across chunks are handled; bytes outside a frame are
 * skipped and counted, and a frame that breaks the structure is dropped and
 * the splitter resynchronises on the next SOI.
 *
 * Copies: a frame that lies wholly inside one incoming chunk is emitted as a
 * view of that chunk (ffmpeg's pipe reads arrive as fresh buffers that nobody
 * reuses); a frame spread over chunks is gathered once into its own buffer,
 * which is handed out and never written again.
 */

/** Largest frame accepted by default: 4 MiB, far above a 1080p q2 JPEG. */
export const DEFAULT_MAX_FRAME_BYTES = 4 * 1024 * 1024;

export interface MjpegSplitterOptions {
  /** Frames larger than this are dropped and counted in `stats.oversizeFrames`. */
  maxFrameBytes?: number;
}

export interface JpegFrameInfo {
  /** From the SOF segment; 0 when the frame had none. */
  width: number;
  height: number;
}

export interface MjpegSplitterStats {
  frames: number;
  /** Frames dropped because they grew over `maxFrameBytes`. */
  oversizeFrames: number;
  /** Frames dropped because their marker structure was broken. */
  corruptFrames: number;
  /** Bytes seen outside any frame (before an SOI). */
  garbageBytes: number;
}

const enum State {
  /** Outside a frame: looking for 0xFF 0xD8. */
  SeekSoi,
  /** Inside a frame, expecting 0xFF that starts a marker. */
  MarkerFf,
  /** Seen 0xFF, expecting the marker code (more 0xFF are fill bytes). */
  MarkerCode,
  LengthHi,
  LengthLo,
  /** Skipping the rest of a segment's payload. */
  Segment,
  /** Inside entropy-coded data after SOS. */
  Entropy,
  /** Entropy data: seen 0xFF, deciding what it is. */
  EntropyFf,
}

const SOI = 0xd8;
const EOI = 0xd9;
const SOS = 0xda;
const FF = new Uint8Array([0xff]);

/** SOFn markers (C0-CF except DHT C4, JPG C8 and DAC CC) carry the frame size. */
function isSof(code: number): boolean {
  return code >= 0xc0 && code <= 0xcf && code !== 0xc4 && code !== 0xc8 && code !== 0xcc;
}

/** Markers without a length field: TEM and RST0-7 (SOI/EOI are handled apart). */
function isStandalone(code: number): boolean {
  return code === 0x01 || (code >= 0xd0 && code <= 0xd7);
}

export class MjpegSplitter {
  readonly maxFrameBytes: number;
  readonly stats: MjpegSplitterStats = { frames: 0, oversizeFrames: 0, corruptFrames: 0, garbageBytes: 0 };

  private state = State.SeekSoi;
  /** In SeekSoi: the previous byte was 0xFF. */
  private seekFf = false;
  private marker = 0;
  private segmentLeft = 0;
  /** Bytes of the current segment consumed so far (for reading SOF fields). */
  private segmentPos = 0;
  private sofMarker = false;
  private width = 0;
  private height = 0;
  private sizeBytes = [0, 0, 0, 0];
  private afterSos = false;

  /** Parts of the current frame from earlier chunks, gathered in `acc`. */
  private acc: Uint8Array | null = null;
  private accLength = 0;

  constructor(
    private readonly onFrame: (frame: Uint8Array, info: JpegFrameInfo) => void,
    options: MjpegSplitterOptions = {},
  ) {
    this.maxFrameBytes = options.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES;
  }

  /** True while bytes of an unfinished frame are held. */
  get inFrame(): boolean {
    return this.state !== State.SeekSoi;
  }

  /** Feeds the next chunk of the stream; calls `onFrame` for every frame it completes. */
  push(chunk: Uint8Array): void {
    const n = chunk.length;
    // Start of the current frame's bytes within this chunk (0 when the frame began earlier).
    let frameStart = this.inFrame ? 0 : -1;
    let i = 0;
    while (i < n) {
      switch (this.state) {
        case State.SeekSoi: {
          const b = chunk[i]!;
          if (this.seekFf && b === SOI) {
            this.stats.garbageBytes--; // The 0xFF counted just before was the SOI's.
            frameStart = this.beginFrame(i + 1);
            this.state = State.MarkerFf;
          } else {
            this.seekFf = b === 0xff;
            this.stats.garbageBytes++;
          }
          i++;
          break;
        }
        case State.MarkerFf: {
          if (chunk[i] !== 0xff) {
            frameStart = this.corrupt();
            continue; // Re-read this byte while seeking an SOI.
          }
          this.state = State.MarkerCode;
          i++;
          break;
        }
        case State.MarkerCode: {
          const code = chunk[i]!;
          i++;
          if (code === 0xff) break; // Fill byte.
          if (code === EOI) {
            frameStart = this.endFrame(chunk, frameStart, i);
          } else if (code === SOI) {
            // A new SOI inside a frame: the frame before it was cut short.
            this.stats.corruptFrames++;
            frameStart = this.beginFrame(i);
          } else if (code === 0x00) {
            frameStart = this.corrupt();
          } else if (isStandalone(code)) {
            this.state = this.afterSos ? State.Entropy : State.MarkerFf;
          } else {
            this.marker = code;
            this.state = State.LengthHi;
          }
          break;
        }
        case State.LengthHi:
          this.segmentLeft = chunk[i]! << 8;
          this.state = State.LengthLo;
          i++;
          break;
        case State.LengthLo: {
          this.segmentLeft |= chunk[i]!;
          i++;
          if (this.segmentLeft < 2) {
            frameStart = this.corrupt();
            break;
          }
          this.segmentLeft -= 2;
          this.segmentPos = 0;
          this.sofMarker = isSof(this.marker);
          this.state = State.Segment;
          if (this.segmentLeft === 0) this.segmentDone();
          break;
        }
        case State.Segment: {
          if (this.sofMarker && this.segmentPos < 5) {
            // SOF payload: precision (1), height (2), width (2).
            if (this.segmentPos >= 1) this.sizeBytes[this.segmentPos - 1] = chunk[i]!;
            this.segmentPos++;
            this.segmentLeft--;
            i++;
          } else {
            const take = Math.min(this.segmentLeft, n - i);
            this.segmentPos += take;
            this.segmentLeft -= take;
            i += take;
          }
          if (this.segmentLeft === 0) this.segmentDone();
          break;
        }
        case State.Entropy: {
          const ff = chunk.indexOf(0xff, i);
          if (ff === -1) {
            i = n;
          } else {
            i = ff + 1;
            this.state = State.EntropyFf;
          }
          break;
        }
        case State.EntropyFf: {
          const code = chunk[i]!;
          if (code === 0x00 || (code >= 0xd0 && code <= 0xd7)) {
            // Stuffed 0xFF data byte or a restart marker: still entropy data.
            this.state = State.Entropy;
            i++;
          } else if (code === 0xff) {
            i++; // Fill byte before a marker.
          } else {
            // A real marker: EOI, or a table/scan between progressive scans.
            this.state = State.MarkerCode;
          }
          break;
        }
      }
      if (frameStart !== -1 && this.inFrame && this.accLength + (i - frameStart) > this.maxFrameBytes) {
        this.stats.oversizeFrames++;
        this.reset();
        frameStart = -1;
      }
    }
    if (frameStart !== -1 && this.inFrame) this.append(chunk.subarray(frameStart, n));
  }

  /** Forgets any partial frame (after ffmpeg restarted, for example). */
  reset(): void {
    this.state = State.SeekSoi;
    this.seekFf = false;
    this.acc = null;
    this.accLength = 0;
  }

  /**
   * Starts a frame whose SOI ends just before index `afterSoi` of the chunk
   * being read; returns where the frame starts in that chunk. When the SOI's
   * 0xFF ended the previous chunk, it is put in the gathering buffer.
   */
  private beginFrame(afterSoi: number): number {
    this.width = 0;
    this.height = 0;
    this.afterSos = false;
    this.acc = null;
    this.accLength = 0;
    this.state = State.MarkerFf;
    if (afterSoi >= 2) return afterSoi - 2;
    this.append(FF);
    return 0;
  }

  private segmentDone(): void {
    if (this.sofMarker && this.segmentPos >= 5) {
      const [h1, h2, w1, w2] = this.sizeBytes as [number, number, number, number];
      this.height = (h1 << 8) | h2;
      this.width = (w1 << 8) | w2;
    }
    if (this.marker === SOS) {
      this.afterSos = true;
      this.state = State.Entropy;
    } else {
      this.state = State.MarkerFf;
    }
  }

  /** Emits the frame that ends just before `end`; returns the new frameStart (-1). */
  private endFrame(chunk: Uint8Array, frameStart: number, end: number): number {
    let frame: Uint8Array;
    if (this.accLength === 0) {
      frame = chunk.subarray(frameStart, end);
    } else {
      this.append(chunk.subarray(frameStart, end));
      frame = this.acc!.subarray(0, this.accLength);
    }
    const info = { width: this.width, height: this.height };
    this.acc = null;
    this.accLength = 0;
    this.state = State.SeekSoi;
    this.seekFf = false;
    if (frame.length > this.maxFrameBytes) {
      this.stats.oversizeFrames++;
      return -1;
    }
    this.stats.frames++;
    this.onFrame(frame, info);
    return -1;
  }

  private corrupt(): number {
    this.stats.corruptFrames++;
    this.reset();
    return -1;
  }

  private append(part: Uint8Array): void {
    const need = this.accLength + part.length;
    if (!this.acc || this.acc.length < need) {
      const grown = new Uint8Array(Math.max(need, (this.acc?.length ?? 0) * 2, 1024));
      if (this.acc) grown.set(this.acc.subarray(0, this.accLength));
      this.acc = grown;
    }
    this.acc.set(part, this.accLength);
    this.accLength = need;
  }
}
