/** One received JPEG, waiting to be decoded. */
export interface PendingFrame {
  payload: Uint8Array;
  captureTimeUs: number;
  /** The video layer it belongs to (0 when unknown). */
  layer?: number;
}

export type DrawFrame = (bitmap: ImageBitmap, frame: PendingFrame) => void;

/**
 * Latest-frame-wins JPEG decoding for one tile. At most one decode runs and
 * at most one frame waits behind it: a newer frame replaces the waiting one,
 * which is dropped and counted. A slow device therefore shows fewer frames,
 * never older ones. `createImageBitmap` decodes off the main thread and works
 * on plain-HTTP origins, where WebCodecs is unavailable.
 */
export class LatestFrameDecoder {
  private busy = false;
  private pending: PendingFrame | null = null;
  private closed = false;
  /** Frames replaced before they were decoded. */
  dropped = 0;
  /** Frames the browser could not decode. */
  decodeErrors = 0;

  constructor(private readonly draw: DrawFrame) {}

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
        // The payload is a view into the WebSocket message; the Blob copies it.
        const bitmap = await createImageBitmap(
          new Blob([frame.payload as Uint8Array<ArrayBuffer>], { type: 'image/jpeg' }),
        );
        if (this.closed) bitmap.close();
        else this.draw(bitmap, frame);
      } catch {
        this.decodeErrors++;
      }
      frame = this.pending;
      this.pending = null;
    }
    this.busy = false;
  }
}
