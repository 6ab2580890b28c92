import type { Logger } from '@vidchat/service-kit';
import { RgbCanvas, scaleNearest } from './canvas.js';
import { gridLayout, type TileRect } from './grid-layout.js';
import { decodeIntoBox, renderLabel, type RgbImage } from './tile-images.js';

/*
 * Composes one recording's frames: one tile per camera in join order, laid
 * out by `gridLayout`. Every received JPEG is decoded at once (off the event
 * loop) at its tile's size and queued with its capture time; `render(t)`
 * shows, per tile, the newest frame captured at or before t. A camera that
 * stalls keeps its last frame on screen, and so does every tile when the
 * grid changes (scaled at once, redecoded at the new size soon after). Queues are bounded: the oldest
 * frame is dropped and counted.
 */
export interface CompositorOptions {
  width: number;
  height: number;
  /** Cameras drawn at most; later ones are counted as hidden. */
  maxTiles: number;
  /**
   * Decoded frames kept per camera while they wait for their time: must
   * cover the composing latency at the recording's frame rate (see
   * `queueDepthFor`), or the frames needed next are the ones dropped.
   */
  maxQueuedFrames: number;
  /**
   * Frames of one camera captured closer together than this are not decoded
   * (counted as thinned): a 30 fps camera in a 15 fps recording costs 15
   * decodes a second, not 30.
   */
  minFrameIntervalUs: number;
  /** Decodes in flight per camera; more frames are dropped and counted. */
  maxDecodesInFlight: number;
  log: Logger;
}

/** Queue depth per camera for a recording composed `latencyMs` behind real time at `fps`, with room for jitter. */
export function queueDepthFor(latencyMs: number, fps: number): number {
  return Math.ceil((latencyMs / 1_000) * fps * 1.5) + 4;
}

/** Frames closer than this fraction of the output frame interval are thinned (capture stamps jitter). */
export const THIN_FRACTION = 0.75;

export interface CompositorStats {
  decoded: number;
  thinned: number;
  badJpeg: number;
  droppedBusy: number;
  droppedQueue: number;
}

/** Name strips lower than this many pixels are not drawn. */
const MIN_LABEL_HEIGHT = 8;

interface Frame {
  captureUs: number;
  image: RgbImage;
}

interface Tile {
  source: string;
  name: string;
  queue: Frame[];
  /** What the tile shows now (held when the camera stalls). */
  shown: Frame | null;
  /** Last JPEG, kept so that a layout change can redraw the held frame at the new size. */
  lastJpeg: { captureUs: number; jpeg: Uint8Array } | null;
  /** Capture time of the last frame sent to the decoder. */
  lastAcceptedUs: number;
  inFlight: number;
  label: RgbImage | null;
  /** The tile's content must be redrawn on the next render. */
  dirty: boolean;
}

export class Compositor {
  readonly canvas: RgbCanvas;
  readonly stats: CompositorStats = { decoded: 0, thinned: 0, badJpeg: 0, droppedBusy: 0, droppedQueue: 0 };
  private readonly tiles: Tile[] = [];
  private rects: TileRect[] = [];
  /** Bumped on each layout change: decodes started for an older layout are thrown away. */
  private layoutGen = 0;
  private needsClear = true;
  private closed = false;

  constructor(private readonly o: CompositorOptions) {
    this.canvas = new RgbCanvas(o.width, o.height);
  }

  get sources(): readonly string[] {
    return this.tiles.map((t) => t.source);
  }

  /** Adds a camera (no-op if present; renames it when the name changed). */
  addSource(source: string, name: string): void {
    const t = this.tiles.find((x) => x.source === source);
    if (t) {
      if (t.name !== name) {
        t.name = name;
        void this.loadLabel(t, this.tiles.indexOf(t));
      }
      return;
    }
    if (this.tiles.length >= this.o.maxTiles) return;
    this.tiles.push({
      source,
      name,
      queue: [],
      shown: null,
      lastJpeg: null,
      lastAcceptedUs: -Infinity,
      inFlight: 0,
      label: null,
      dirty: true,
    });
    this.o.log.info('tile added', { source, tiles: this.tiles.length });
    this.relayout();
  }

  removeSource(source: string): void {
    const i = this.tiles.findIndex((x) => x.source === source);
    if (i < 0) return;
    this.tiles.splice(i, 1);
    this.o.log.info('tile removed', { source, tiles: this.tiles.length });
    this.relayout();
  }

  /** A JPEG of `source` captured at `captureUs`; ignored for sources without a tile. */
  pushJpeg(source: string, captureUs: number, jpeg: Uint8Array): void {
    const t = this.tiles.find((x) => x.source === source);
    if (!t || this.closed) return;
    t.lastJpeg = { captureUs, jpeg };
    if (captureUs >= t.lastAcceptedUs && captureUs - t.lastAcceptedUs < this.o.minFrameIntervalUs) {
      this.stats.thinned++;
      return;
    }
    t.lastAcceptedUs = captureUs;
    this.decode(t, captureUs, jpeg);
  }

  private decode(t: Tile, captureUs: number, jpeg: Uint8Array): void {
    if (t.inFlight >= this.o.maxDecodesInFlight) {
      this.stats.droppedBusy++;
      return;
    }
    const index = this.tiles.indexOf(t);
    const rect = this.rects[index];
    if (!rect) return;
    const gen = this.layoutGen;
    t.inFlight++;
    decodeIntoBox(jpeg, rect.picture.width, rect.picture.height).then(
      (image) => {
        t.inFlight--;
        if (gen !== this.layoutGen || this.closed) return;
        this.stats.decoded++;
        // Frames of one camera arrive in capture order; keep the queue sorted anyway.
        let at = t.queue.length;
        while (at > 0 && t.queue[at - 1]!.captureUs > captureUs) at--;
        t.queue.splice(at, 0, { captureUs, image });
        if (t.queue.length > this.o.maxQueuedFrames) {
          t.queue.shift();
          this.stats.droppedQueue++;
        }
      },
      (err: unknown) => {
        t.inFlight--;
        this.stats.badJpeg++;
        this.o.log.debug('bad JPEG dropped', { source: t.source, error: (err as Error).message });
      },
    );
  }

  private relayout(): void {
    this.layoutGen++;
    this.rects = gridLayout(this.tiles.length, this.o.width, this.o.height);
    this.needsClear = true;
    this.tiles.forEach((t, i) => {
      t.queue = [];
      // The held frame stays on screen at the new size (roughly scaled) until its redecode lands:
      // a tile never goes blank because the grid changed.
      const rect = this.rects[i];
      t.shown =
        t.shown && rect
          ? {
              captureUs: t.shown.captureUs,
              image: scaleNearest(t.shown.image, rect.picture.width, rect.picture.height),
            }
          : null;
      t.label = null;
      t.dirty = true;
      void this.loadLabel(t, i);
      // Redraw the held frame at the new size; newer frames will follow.
      if (t.lastJpeg) this.decode(t, t.lastJpeg.captureUs, t.lastJpeg.jpeg);
    });
  }

  private async loadLabel(t: Tile, index: number): Promise<void> {
    const rect = this.rects[index];
    // A name strip too small to read is left out.
    if (!rect || rect.label.height < MIN_LABEL_HEIGHT || rect.label.width < MIN_LABEL_HEIGHT) return;
    const gen = this.layoutGen;
    const name = t.name;
    try {
      const label = await renderLabel(name, rect.label.width, rect.label.height);
      if (gen !== this.layoutGen || t.name !== name) return;
      t.label = label;
      t.dirty = true;
    } catch (err) {
      this.o.log.warn('could not draw a name label', { source: t.source, error: (err as Error).message });
    }
  }

  /** Draws the frame for capture time `tUs` and returns the canvas (valid until the next call). */
  render(tUs: number): Buffer {
    if (this.needsClear) {
      this.canvas.clear();
      this.needsClear = false;
    }
    this.tiles.forEach((t, i) => {
      const rect = this.rects[i];
      if (!rect) return;
      let pick = -1;
      for (let k = 0; k < t.queue.length && t.queue[k]!.captureUs <= tUs; k++) pick = k;
      if (pick >= 0) {
        t.shown = t.queue[pick]!;
        t.queue.splice(0, pick + 1);
        t.dirty = true;
      } else if (!t.shown && t.queue.length > 0) {
        // Only frames newer than t so far (a camera whose clock runs ahead): show the oldest rather than nothing.
        t.shown = t.queue.shift()!;
        t.dirty = true;
      }
      if (!t.dirty) return;
      t.dirty = false;
      if (t.shown) this.canvas.draw(t.shown.image, rect.picture);
      else this.canvas.fill(rect.picture);
      if (t.label) this.canvas.draw(t.label, rect.label);
    });
    return this.canvas.data;
  }

  close(): void {
    this.closed = true;
    this.tiles.length = 0;
  }
}
