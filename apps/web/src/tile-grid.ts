import type { LevelsMessage, SourceInfo } from '@vidchat/protocol';
import { el } from './dom.js';
import type { PendingFrame } from './frame-decoder.js';
import type { LayerChooser } from './layer-chooser.js';
import { defaultDecodeMethod } from './frame-decoder.js';
import type { DecodeMethod } from './render-options.js';
import { Tile, type TileSnapshot } from './tile.js';
import type { TileVolumes } from './tile-volume.js';

/** How often stall detection and the stats overlay refresh, ms. */
export const TICK_MS = 500;
/** Levels older than this are treated as silence, ms. */
const LEVELS_STALE_MS = 1_000;

/**
 * The room's tiles in a responsive grid, kept in step with the roster.
 * Clicking a tile (or Enter/Space on it) enlarges it; Escape, or another
 * click, returns to the grid.
 */
export class TileGrid {
  private readonly tiles = new Map<string, Tile>();
  private readonly empty: HTMLDivElement;
  private focused: string | null = null;
  /** The participant's own preview tile, kept first; not a source of the roster. */
  private local: HTMLElement | null = null;
  private showStats = false;
  private lastLevelsAt = 0;
  private readonly interval: ReturnType<typeof setInterval>;

  constructor(
    private readonly root: HTMLElement,
    room: string,
    /** How far behind capture time the audio is heard (lip sync); null: show frames at once. */
    private readonly audioDelayMs: () => number | null = () => null,
    /** Asks the gateway for each tile's video layer, when given. */
    private readonly layers: LayerChooser | null = null,
    /** Each tile's volume control, when given. */
    private readonly volumes: TileVolumes | null = null,
    /** How tiles decode their frames. */
    private readonly decode: DecodeMethod = defaultDecodeMethod(),
  ) {
    this.empty = el('div', 'grid-empty');
    this.empty.append(
      el('div', 'grid-empty-title', 'No cameras yet'),
      el('div', 'grid-empty-text', `Tiles appear here as soon as a camera joins room “${room}”.`),
    );
    this.root.append(this.empty);
    this.root.addEventListener('click', (ev) => this.onActivate(ev));
    this.root.addEventListener('keydown', (ev) => {
      if (ev.key === 'Enter' || ev.key === ' ') {
        if (this.onActivate(ev)) ev.preventDefault();
      }
    });
    document.addEventListener('keydown', (ev) => {
      if (ev.key === 'Escape' && this.focused !== null) this.setFocus(null);
    });
    this.interval = setInterval(() => this.tick(), TICK_MS);
    this.layout();
  }

  /** The full source list after a (re)join: adds, updates and removes tiles. */
  setRoster(sources: SourceInfo[]): void {
    const ids = new Set(sources.map((s) => s.id));
    for (const id of [...this.tiles.keys()]) if (!ids.has(id)) this.remove(id);
    for (const s of sources) this.upsert(s);
  }

  upsert(info: SourceInfo): void {
    const tile = this.tiles.get(info.id);
    if (tile) {
      tile.update(info);
      this.layers?.updateInfo(info);
      this.volumes?.updateInfo(info);
      return;
    }
    const t = new Tile(info, this.audioDelayMs, this.decode);
    this.tiles.set(info.id, t);
    this.root.append(t.root);
    this.layout();
    this.layers?.add(info, t.root);
    this.volumes?.add(info, t.root);
  }

  remove(id: string): void {
    const tile = this.tiles.get(id);
    if (!tile) return;
    tile.close();
    this.tiles.delete(id);
    this.layers?.remove(id);
    this.volumes?.remove(id);
    if (this.focused === id) this.setFocus(null);
    this.layout();
  }

  /** Shows the participant's own preview first in the grid, or removes it (null). */
  setLocalTile(tile: HTMLElement | null): void {
    if (this.local === tile) return;
    this.local?.remove();
    this.local = tile;
    if (tile) this.root.prepend(tile);
    this.layout();
  }

  /** A video frame; frames of sources not (yet) in the roster are ignored. */
  pushFrame(source: string, frame: PendingFrame): boolean {
    const tile = this.tiles.get(source);
    if (!tile) return false;
    tile.pushFrame(frame);
    return true;
  }

  setLevels(levels: LevelsMessage): void {
    this.lastLevelsAt = Date.now();
    const byId = new Map(levels.sources.map((s) => [s.source, s.dbfs]));
    for (const [id, tile] of this.tiles) tile.setLevel(byId.get(id) ?? null, levels.active === id);
  }

  setShowStats(on: boolean): void {
    this.showStats = on;
    this.tick();
  }

  get size(): number {
    return this.tiles.size;
  }

  /** The latest video path among the tiles with sound (ms after capture), null without one: the audio waits for it. */
  videoDelayMs(): number | null {
    const now = Date.now();
    let latest: number | null = null;
    for (const tile of this.tiles.values()) {
      const d = tile.videoDelayMs(now);
      if (d !== null && (latest === null || d > latest)) latest = d;
    }
    return latest;
  }

  snapshot(): Record<string, TileSnapshot & { layerAsked: number | null }> {
    const now = Date.now();
    const out: Record<string, TileSnapshot & { layerAsked: number | null }> = {};
    for (const [id, tile] of this.tiles)
      out[id] = { ...tile.snapshot(now), layerAsked: this.layers ? this.layers.asked(id) : 0 };
    return out;
  }

  private tick(): void {
    const now = Date.now();
    if (this.lastLevelsAt > 0 && now - this.lastLevelsAt > LEVELS_STALE_MS) {
      this.lastLevelsAt = 0;
      for (const tile of this.tiles.values()) tile.setLevel(null, false);
    }
    for (const tile of this.tiles.values()) tile.tick(now, this.showStats);
  }

  /** Handles a click or key on a tile; returns whether one was hit. */
  private onActivate(ev: Event): boolean {
    const target = ev.target instanceof Element ? ev.target.closest<HTMLElement>('.tile') : null;
    const id = target?.dataset['source'];
    if (id === undefined || !this.tiles.has(id)) return false;
    this.setFocus(this.focused === id ? null : id);
    return true;
  }

  private setFocus(id: string | null): void {
    this.focused = id;
    this.root.classList.toggle('has-focus', id !== null);
    for (const [tid, tile] of this.tiles) {
      const on = tid === id;
      tile.root.classList.toggle('focused', on);
      tile.root.setAttribute('aria-pressed', String(on));
      if (on) tile.root.focus();
    }
    this.layers?.setFocus(id);
  }

  /** Picks a column count that keeps tiles close to 16:9 for the count shown. */
  private layout(): void {
    const n = this.tiles.size + (this.local ? 1 : 0);
    this.empty.hidden = n > 0;
    const cols = n <= 1 ? 1 : n <= 4 ? 2 : n <= 9 ? 3 : 4;
    this.root.style.setProperty('--cols', String(cols));
    this.root.dataset['count'] = String(n);
  }
}
