import { SMALL_PICTURE_PX, type DecodeMethod } from './render-options.js';

/** One received JPEG, waiting to be decoded. */
export interface PendingFrame {
  payload: Uint8Array;
  captureTimeUs: number;
  /** The video layer it belongs to (0 when unknown). */
  layer?: number;
}

/** A decoded picture: an ImageBitmap (Blob + createImageBitmap) or a VideoFrame (ImageDecoder). */
export type DecodedImage = ImageBitmap | VideoFrame;

export type DrawFrame = (image: DecodedImage, frame: PendingFrame) => void;

/** The best method this page can use: ImageDecoder for small pictures where it exists (`auto`), else Blob. */
export function defaultDecodeMethod(): DecodeMethod {
  return typeof ImageDecoder === 'function' ? 'auto' : 'blob';
}

export function imageSize(image: DecodedImage): { width: number; height: number } {
  return 'displayWidth' in image
    ? { width: image.displayWidth, height: image.displayHeight }
    : { width: image.width, height: image.height };
}

/**
 * Latest-frame-wins JPEG decoding for one tile. At most one decode runs and
 * at most one frame waits behind it: a newer frame replaces the waiting one,
 * which is dropped and counted. A slow device therefore shows fewer frames,
 * never older ones. Both methods decode off the main thread; ImageDecoder
 * (WebCodecs; by default for small pictures where it exists, see
 * render-options.ts) skips the Blob's round trip through the browser
 * process, Blob + `createImageBitmap` works on plain-HTTP origins, where
 * WebCodecs is unavailable.
 */
export class LatestFrameDecoder {
  private busy = false;
  private pending: PendingFrame | null = null;
  private closed = false;
  /** Frames replaced before they were decoded. */
  dropped = 0;
  /** Frames the browser could not decode. */
  decodeErrors = 0;

  /** The size of the last decoded picture (0 before one): `auto` picks the method for the next by it. */
  private lastPx = 0;

  constructor(
    private readonly draw: DrawFrame,
    private method: DecodeMethod = defaultDecodeMethod(),
  ) {
    if (method !== 'blob' && typeof ImageDecoder !== 'function') this.method = 'blob';
  }

  push(frame: PendingFrame): void {
    if (this.closed) return;
    if (this.busy) {
      if (this.pending) this.dropped++;
      this.pending = frame;
      return;
    }
    void this.decode(frame);
  }

  /** Idempotent; a decode in flight finishes but is not drawn. */
  close(): void {
    this.closed = true;
    this.pending = null;
  }

  private async decode(first: PendingFrame): Promise<void> {
    this.busy = true;
    let frame: PendingFrame | null = first;
    while (frame && !this.closed) {
      try {
        const image = await this.decodeOne(frame.payload);
        const { width, height } = imageSize(image);
        this.lastPx = width * height;
        if (this.closed) image.close();
        else this.draw(image, frame);
      } catch {
        this.decodeErrors++;
      }
      frame = this.pending;
      this.pending = null;
    }
    this.busy = false;
  }

  private async decodeOne(payload: Uint8Array): Promise<DecodedImage> {
    const useImageDecoder =
      this.method === 'image-decoder' || (this.method === 'auto' && this.lastPx <= SMALL_PICTURE_PX);
    if (useImageDecoder) {
      let decoder: ImageDecoder;
      try {
        // ImageDecoder copies the bytes (the payload is a view into the WebSocket message).
        decoder = new ImageDecoder({ data: payload as Uint8Array<ArrayBuffer>, type: 'image/jpeg' });
      } catch {
        // Not supported here after all (no JPEG support): Blob from now on.
        this.method = 'blob';
        return this.decodeOne(payload);
      }
      try {
        return (await decoder.decode()).image;
      } finally {
        decoder.close();
      }
    }
    // The payload is a view into the WebSocket message; the Blob copies it.
    return createImageBitmap(new Blob([payload as Uint8Array<ArrayBuffer>], { type: 'image/jpeg' }));
  }
}
