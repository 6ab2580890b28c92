/*
 * Frame rate and frame size for the camera: pure arithmetic, tested in Node.
 */

/**
 * Keeps at most `fps` frames a second from a camera that may deliver more
 * (many give 30 whatever the constraint asked). A frame is taken when it is
 * due, or early by at most a quarter interval (camera timestamps jitter);
 * every take moves the due time one interval on, so the long-run rate never
 * exceeds `fps`. After a gap (camera paused, tab in the background) the
 * schedule restarts from the next frame instead of bursting to catch up.
 */
export class FramePacer {
  private readonly intervalUs: number;
  private dueUs: number | null = null;

  constructor(fps: number) {
    if (!(fps > 0)) throw new RangeError(`fps must be > 0, got ${fps}`);
    this.intervalUs = 1_000_000 / fps;
  }

  /** Whether to send the frame stamped `timestampUs` (µs, the camera's clock). */
  take(timestampUs: number): boolean {
    if (this.dueUs === null || timestampUs < this.dueUs - 2 * this.intervalUs) {
      // First frame, or a clock that went backwards (a new track): start over.
      this.dueUs = timestampUs + this.intervalUs;
      return true;
    }
    if (timestampUs < this.dueUs - this.intervalUs / 4) return false;
    this.dueUs += this.intervalUs;
    if (this.dueUs <= timestampUs) this.dueUs = timestampUs + this.intervalUs;
    return true;
  }
}

export interface Size {
  width: number;
  height: number;
}

/**
 * The largest size inside `box` with the aspect ratio of `source`, never
 * larger than the source (no upscaling), in even pixels (what JPEG's chroma
 * subsampling and most decoders like best), at least 2x2.
 */
export function fitInside(source: Size, box: Size): Size {
  const scale = Math.min(1, box.width / source.width, box.height / source.height);
  const even = (v: number): number => Math.max(2, 2 * Math.floor(v / 2));
  return { width: even(source.width * scale), height: even(source.height * scale) };
}

/** Layer 1's size: half of layer 0 in even pixels, or null when layer 0 is narrower than `minWidth` (or it is 0). */
export function layer1Size(layer0: Size, minWidth: number): Size | null {
  if (minWidth <= 0 || layer0.width < minWidth) return null;
  return fitInside(layer0, { width: layer0.width / 2, height: layer0.height / 2 });
}
