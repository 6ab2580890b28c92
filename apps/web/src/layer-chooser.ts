import { MIN_LAYER_WIDTH_RATIO, smallestFittingLayer, type SourceInfo, type VideoLayerInfo } from '@vidchat/protocol';

/*
 * Which video layer each tile asks the gateway for. A tile asks for the
 * smallest layer at least two thirds as wide as its rendered width in device
 * pixels (a little upscaling does not show at tile size: a 3x3 grid at
 * 1280x800 has ~405 px tiles, which take a 320 px layer 1); the focused tile
 * asks for layer 0; a tile that cannot be seen (hidden tab, scrolled out of
 * view, collapsed to nothing) asks for none (`layer: null`), and the
 * gateway sends it the latest frame at once when it asks again. The canvas
 * keeps the last picture meanwhile, so a switch never shows a blank tile.
 */

export { MIN_LAYER_WIDTH_RATIO };

/**
 * The layer a tile should ask for: null when it cannot be seen, 0 when
 * focused, else the smallest fitting layer of `smallestFittingLayer`
 * (libs/protocol; the recorder uses the same rule for its grid cells).
 */
export function chooseLayer(
  layers: readonly VideoLayerInfo[] | undefined,
  tileDevicePx: number,
  focused: boolean,
  visible: boolean,
): number | null {
  if (!visible) return null;
  if (focused) return 0;
  return smallestFittingLayer(layers, tileDevicePx);
}

interface TileState {
  element: HTMLElement;
  info: SourceInfo;
  /** Rendered size in CSS pixels (0 when collapsed). */
  width: number;
  height: number;
  /** In the viewport (IntersectionObserver); true until it says otherwise. */
  inView: boolean;
}

/** Sends `{"type":"layer"}` when a tile's choice changes. */
export type SendLayer = (source: string, layer: number | null) => void;

export class LayerChooser {
  private readonly tiles = new Map<string, TileState>();
  /** What the gateway was told per source since the last join (absent: its default, 0). */
  private readonly sent = new Map<string, number | null>();
  private focused: string | null = null;
  private readonly resize: ResizeObserver;
  private readonly intersect: IntersectionObserver;
  private readonly onVisibility = (): void => this.updateAll();

  /** `forced`: the layer every visible tile asks for instead of its own choice (null: choose per tile). */
  constructor(
    private readonly send: SendLayer,
    private readonly forced: number | null = null,
  ) {
    this.resize = new ResizeObserver((entries) => {
      for (const e of entries) {
        const t = this.byElement(e.target);
        if (t) {
          t.width = e.contentRect.width;
          t.height = e.contentRect.height;
        }
      }
      this.updateAll();
    });
    this.intersect = new IntersectionObserver((entries) => {
      for (const e of entries) {
        const t = this.byElement(e.target);
        if (t) t.inView = e.isIntersecting;
      }
      this.updateAll();
    });
    document.addEventListener('visibilitychange', this.onVisibility);
  }

  add(info: SourceInfo, element: HTMLElement): void {
    const rect = element.getBoundingClientRect();
    this.tiles.set(info.id, { element, info, width: rect.width, height: rect.height, inView: true });
    this.resize.observe(element);
    this.intersect.observe(element);
    this.update(info.id);
  }

  /** New metadata (its layers may have changed). */
  updateInfo(info: SourceInfo): void {
    const t = this.tiles.get(info.id);
    if (!t) return;
    t.info = info;
    this.update(info.id);
  }

  remove(source: string): void {
    const t = this.tiles.get(source);
    if (!t) return;
    this.resize.unobserve(t.element);
    this.intersect.unobserve(t.element);
    this.tiles.delete(source);
    this.sent.delete(source);
  }

  setFocus(source: string | null): void {
    this.focused = source;
    this.updateAll();
  }

  /** A new join (a new socket): the gateway knows no choice; tell it every one that is not its default. */
  resync(): void {
    this.sent.clear();
    this.updateAll();
  }

  /** The layer asked for a source (0 before any choice). */
  asked(source: string): number | null {
    return this.sent.has(source) ? (this.sent.get(source) ?? null) : 0;
  }

  private byElement(element: Element): TileState | undefined {
    for (const t of this.tiles.values()) if (t.element === element) return t;
    return undefined;
  }

  private updateAll(): void {
    for (const id of this.tiles.keys()) this.update(id);
  }

  private update(source: string): void {
    const t = this.tiles.get(source);
    if (!t) return;
    const visible = document.visibilityState === 'visible' && t.inView && t.width > 0 && t.height > 0;
    const layer =
      visible && this.forced !== null
        ? this.forced
        : chooseLayer(t.info.layers, t.width * window.devicePixelRatio, this.focused === source, visible);
    const before = this.asked(source);
    if (layer === before) return;
    this.sent.set(source, layer);
    this.send(source, layer);
  }
}
