import type { SourceInfo } from '@vidchat/protocol';
import { el } from './dom.js';
import {
  defaultDecodeMethod,
  imageSize,
  LatestFrameDecoder,
  type DecodedImage,
  type PendingFrame,
} from './frame-decoder.js';
import { FramePresenter, type HeldFrame } from './frame-presenter.js';
import type { DecodeMethod } from './render-options.js';
import { TileStats } from './tile-stats.js';

/** A tile whose frames stop for this long is marked stalled, ms. */
export const STALL_AFTER_MS = 2_000;
/** Levels at or below this show an empty meter, dBFS. */
const METER_FLOOR_DBFS = -60;

/** Per-source snapshot exposed to tests and benches through `window.vidchat`. */
export interface TileSnapshot {
  name: string;
  framesDrawn: number;
  framesReceived: number;
  lastCaptureTimeUs: number;
  lastDrawnAt: number;
  latencyMs: number | null;
  fps: number;
  drops: number;
  decodeErrors: number;
  stalled: boolean;
  /** The layer of the frame drawn last (null before the first). */
  layer: number | null;
  /** The size of the frame drawn last. */
  width: number;
  height: number;
}

/**
 * One source on screen: a canvas with the latest frame, the source's name,
 * an audio level meter, a "stalled" badge and an optional stats overlay.
 */
export class Tile {
  readonly root: HTMLDivElement;
  private readonly canvas: HTMLCanvasElement;
  private readonly ctx: CanvasRenderingContext2D | null;
  private readonly label: HTMLSpanElement;
  private readonly badge: HTMLDivElement;
  private readonly meterFill: HTMLDivElement;
  private readonly statsBox: HTMLDivElement;
  private readonly decoder: LatestFrameDecoder;
  private readonly presenter: FramePresenter<HeldFrame & { image: DecodedImage; frame: PendingFrame }>;
  readonly stats = new TileStats();
  private info: SourceInfo;
  private stalled = false;
  private drawnLayer: number | null = null;

  private hasVideo = false;
  /** The meter's last transform and speaking state: levels come several times a second, the DOM is written on change only. */
  private meterTransform = '';
  private speaking = false;

  constructor(
    info: SourceInfo,
    audioDelayMs: () => number | null = () => null,
    decode: DecodeMethod = defaultDecodeMethod(),
  ) {
    this.info = info;
    this.root = el('div', 'tile');
    this.root.tabIndex = 0;
    this.root.setAttribute('role', 'button');
    this.root.dataset['source'] = info.id;

    this.canvas = el('canvas', 'tile-video');
    this.canvas.width = info.video?.width ?? 640;
    this.canvas.height = info.video?.height ?? 360;
    this.ctx = this.canvas.getContext('2d', { alpha: false });

    this.badge = el('div', 'tile-badge');
    const caption = el('div', 'tile-caption');
    const dot = el('span', 'tile-dot');
    this.label = el('span', 'tile-name');
    const meter = el('div', 'tile-meter');
    this.meterFill = el('div', 'tile-meter-fill');
    meter.append(this.meterFill);
    caption.append(dot, this.label, meter);
    this.statsBox = el('div', 'tile-stats');
    this.statsBox.hidden = true;

    this.root.append(this.canvas, this.badge, this.statsBox, caption);
    // Decoded frames wait in the presenter until the audio of their instant is heard (lip sync).
    this.presenter = new FramePresenter((f) => this.draw(f.image, f.frame), audioDelayMs);
    this.decoder = new LatestFrameDecoder(
      (image, frame) =>
        this.presenter.push({ image, frame, captureTimeUs: frame.captureTimeUs, discard: () => image.close() }),
      decode,
    );
    this.update(info);
    this.setBadge(info.video ? 'Waiting for video…' : 'Audio only');
  }

  get id(): string {
    return this.info.id;
  }

  /**
   * How late after capture this tile's frames are ready (ms), for the audio
   * to wait for; null for a source without sound in the mix, or whose frames
   * stopped coming.
   */
  videoDelayMs(now: number): number | null {
    if (this.info.audio === null || now - this.presenter.lastPushAt > STALL_AFTER_MS) return null;
    return this.presenter.readyDelayMs;
  }

  /** New metadata for the same source (a re-join or a roster refresh). */
  update(info: SourceInfo): void {
    this.info = info;
    // textContent, never innerHTML: a name is whatever a person typed.
    this.label.textContent = info.name || info.id;
    this.root.setAttribute('aria-label', `${info.name || info.id}: press Enter to enlarge`);
    this.root.title = info.name || info.id;
  }

  pushFrame(frame: PendingFrame): void {
    this.stats.framesReceived++;
    this.decoder.push(frame);
  }

  /** RMS level in dBFS (null: no level known), and whether this source is the active speaker. */
  setLevel(dbfs: number | null, active: boolean): void {
    const v = dbfs === null ? 0 : Math.max(0, Math.min(1, (dbfs - METER_FLOOR_DBFS) / -METER_FLOOR_DBFS));
    const transform = `scaleX(${v.toFixed(2)})`;
    if (transform !== this.meterTransform) {
      this.meterTransform = transform;
      this.meterFill.style.setProperty('transform', transform);
    }
    if (active !== this.speaking) {
      this.speaking = active;
      this.root.classList.toggle('speaking', active);
    }
  }

  /** Called about twice a second: stall detection and the stats overlay. */
  tick(now: number, showStats: boolean): void {
    const last = this.stats.lastDrawnAt;
    const stalled = this.info.video !== null && last > 0 && now - last > STALL_AFTER_MS;
    if (stalled !== this.stalled) {
      this.stalled = stalled;
      this.root.classList.toggle('stalled', stalled);
      this.setBadge(stalled ? 'Stalled — no frames' : null);
    }
    this.statsBox.hidden = !showStats;
    if (showStats) {
      const s = this.stats;
      const latency = s.latencyMs === null ? '–' : `${Math.round(s.latencyMs)} ms`;
      this.statsBox.textContent =
        `${s.fps(now).toFixed(0)} fps · ${latency}\n` +
        `${this.canvas.width}×${this.canvas.height} · drops ${this.decoder.dropped + this.presenter.dropped}`;
    }
  }

  snapshot(now: number): TileSnapshot {
    const s = this.stats;
    return {
      name: this.info.name,
      framesDrawn: s.framesDrawn,
      framesReceived: s.framesReceived,
      lastCaptureTimeUs: s.lastCaptureTimeUs,
      lastDrawnAt: s.lastDrawnAt,
      latencyMs: s.latencyMs,
      fps: s.fps(now),
      drops: this.decoder.dropped + this.presenter.dropped,
      decodeErrors: this.decoder.decodeErrors,
      stalled: this.stalled,
      layer: this.drawnLayer,
      width: this.canvas.width,
      height: this.canvas.height,
    };
  }

  /** Idempotent. */
  close(): void {
    this.decoder.close();
    this.presenter.close();
    this.root.remove();
  }

  private draw(image: DecodedImage, frame: PendingFrame): void {
    this.drawnLayer = frame.layer ?? 0;
    const { width, height } = imageSize(image);
    // Another layer's size: resizing clears the canvas, and the new frame is
    // drawn in the same task, so the tile never shows blank.
    if (this.canvas.width !== width || this.canvas.height !== height) {
      this.canvas.width = width;
      this.canvas.height = height;
    }
    this.ctx?.drawImage(image, 0, 0);
    image.close();
    const first = this.stats.framesDrawn === 0;
    this.stats.onDrawn(frame.captureTimeUs, Date.now());
    if (first || this.stalled) {
      this.stalled = false;
      this.root.classList.remove('stalled');
      this.setBadge(null);
    }
    // Class changes only when they change something (not a style recalc per frame).
    if (!this.hasVideo) {
      this.hasVideo = true;
      this.root.classList.add('has-video');
    }
  }

  private setBadge(text: string | null): void {
    this.badge.textContent = text ?? '';
    this.badge.hidden = text === null;
  }
}
