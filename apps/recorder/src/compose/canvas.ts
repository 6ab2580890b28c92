import type { Rect } from './grid-layout.js';
import type { RgbImage } from './tile-images.js';

/** A packed RGB frame the size of the recording, drawn into row by row. */
export class RgbCanvas {
  readonly data: Buffer;

  constructor(
    readonly width: number,
    readonly height: number,
  ) {
    this.data = Buffer.alloc(width * height * 3);
  }

  clear(): void {
    this.data.fill(0);
  }

  /** Copies `img` to `rect`'s corner, clipped to the canvas and to the rect. */
  draw(img: RgbImage, rect: Rect): void {
    const w = Math.min(img.width, rect.width, this.width - rect.x);
    const h = Math.min(img.height, rect.height, this.height - rect.y);
    if (w <= 0 || h <= 0 || rect.x < 0 || rect.y < 0) return;
    for (let row = 0; row < h; row++) {
      const src = row * img.width * 3;
      img.data.copy(this.data, ((rect.y + row) * this.width + rect.x) * 3, src, src + w * 3);
    }
  }

  /** Fills `rect` with black (a tile whose first frame has not been decoded yet). */
  fill(rect: Rect): void {
    for (let row = 0; row < rect.height && rect.y + row < this.height; row++) {
      const start = ((rect.y + row) * this.width + rect.x) * 3;
      this.data.fill(0, start, start + Math.min(rect.width, this.width - rect.x) * 3);
    }
  }
}

/**
 * `img` scaled to `width` × `height` by nearest neighbour: synchronous and
 * cheap (a few ms for a full canvas), used only to keep showing a held
 * frame at a new tile size until its proper (sharp) decode arrives.
 */
export function scaleNearest(img: RgbImage, width: number, height: number): RgbImage {
  const data = Buffer.alloc(width * height * 3);
  const xs = new Uint32Array(width);
  for (let x = 0; x < width; x++) xs[x] = Math.min(img.width - 1, Math.floor((x * img.width) / width)) * 3;
  for (let y = 0; y < height; y++) {
    const srcRow = Math.min(img.height - 1, Math.floor((y * img.height) / height)) * img.width * 3;
    let o = y * width * 3;
    for (let x = 0; x < width; x++) {
      const i = srcRow + xs[x]!;
      data[o++] = img.data[i]!;
      data[o++] = img.data[i + 1]!;
      data[o++] = img.data[i + 2]!;
    }
  }
  return { width, height, data };
}
