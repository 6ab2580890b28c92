import type { SourceInfo } from '@vidchat/protocol';
import { el } from './dom.js';
import {
  DEFAULT_VOLUME,
  isDefaultVolume,
  MAX_VOLUME_PERCENT,
  parseVolume,
  type VolumeSetting,
} from './source-audio.js';

/*
 * Each tile's volume control: a mute toggle and a 0–200% slider, remembered
 * per room and source in localStorage, so that a person turned down stays
 * down after a reload or a reconnect. Changes go to a listener (the page's
 * SourceAudio), which decides between the room mix and per-source audio.
 */

/** Slider steps, percent. */
const STEP_PERCENT = 5;

/** The remembered settings of one room; nothing is kept for a tile at 100% and unmuted. */
export class VolumeStore {
  constructor(
    private readonly storage: Storage | null,
    private readonly room: string,
  ) {}

  get(source: string): VolumeSetting {
    let raw: string | null = null;
    try {
      raw = this.storage?.getItem(this.key(source)) ?? null;
    } catch {
      return { ...DEFAULT_VOLUME };
    }
    return parseVolume(raw) ?? { ...DEFAULT_VOLUME };
  }

  set(source: string, v: VolumeSetting): void {
    try {
      if (isDefaultVolume(v)) this.storage?.removeItem(this.key(source));
      else this.storage?.setItem(this.key(source), JSON.stringify({ percent: v.percent, muted: v.muted }));
    } catch {
      // Storage full or refused: the setting holds for this page only.
    }
  }

  private key(source: string): string {
    return `vidchat.volume.${this.room}.${source}`;
  }
}

/** Who hears about the settings: the page's SourceAudio. */
export interface VolumeListener {
  set(source: string, v: VolumeSetting): void;
  remove(source: string): void;
}

interface Control {
  root: HTMLDivElement;
  mute: HTMLButtonElement;
  range: HTMLInputElement;
  value: HTMLSpanElement;
  name: string;
  setting: VolumeSetting;
}

export class TileVolumes {
  private readonly controls = new Map<string, Control>();

  constructor(
    private readonly store: VolumeStore,
    private readonly listener: VolumeListener,
    /** Called after any change (the reset button shows while some tile is changed). */
    private readonly onChange: () => void = () => undefined,
  ) {}

  /** Puts a control on a new tile, with the source's remembered setting. */
  add(info: SourceInfo, tile: HTMLElement): void {
    this.remove(info.id);
    const root = el('div', 'tile-volume');
    const mute = el('button', 'tile-mute');
    mute.type = 'button';
    const range = el('input', 'tile-volume-range');
    range.type = 'range';
    range.min = '0';
    range.max = String(MAX_VOLUME_PERCENT);
    range.step = String(STEP_PERCENT);
    const value = el('span', 'tile-volume-value');
    root.append(mute, range, value);
    // The tile behind enlarges on a click or Enter: not when the person uses the control.
    root.addEventListener('click', (ev) => ev.stopPropagation());
    root.addEventListener('keydown', (ev) => {
      if (ev.key === 'Enter' || ev.key === ' ') ev.stopPropagation();
    });
    const c: Control = { root, mute, range, value, name: info.name || info.id, setting: this.store.get(info.id) };
    mute.addEventListener('click', () => this.change(info.id, { ...c.setting, muted: !c.setting.muted }));
    range.addEventListener('input', () => {
      const percent = Math.max(0, Math.min(MAX_VOLUME_PERCENT, Math.round(range.valueAsNumber)));
      // Moving the slider is meant to be heard: it unmutes.
      this.change(info.id, { percent, muted: false });
    });
    this.controls.set(info.id, c);
    tile.append(root);
    this.show(c);
    this.listener.set(info.id, c.setting);
    this.onChange();
  }

  /** New name for the labels (a roster refresh). */
  updateInfo(info: SourceInfo): void {
    const c = this.controls.get(info.id);
    if (!c) return;
    c.name = info.name || info.id;
    this.show(c);
  }

  remove(id: string): void {
    const c = this.controls.get(id);
    if (!c) return;
    this.controls.delete(id);
    c.root.remove();
    this.listener.remove(id);
    this.onChange();
  }

  /** Sets a tile's volume as if the person had (tests, and the keyboard-free path). */
  change(id: string, v: VolumeSetting): void {
    const c = this.controls.get(id);
    if (!c) return;
    c.setting = { percent: Math.max(0, Math.min(MAX_VOLUME_PERCENT, Math.round(v.percent))), muted: v.muted };
    this.store.set(id, c.setting);
    this.show(c);
    this.listener.set(id, c.setting);
    this.onChange();
  }

  /** Every tile back to 100% and unmuted: the page goes back to the room mix. */
  resetAll(): void {
    for (const id of [...this.controls.keys()]) this.change(id, DEFAULT_VOLUME);
  }

  /** Each tile's setting, for the test hooks. */
  snapshot(): Record<string, VolumeSetting> {
    const out: Record<string, VolumeSetting> = {};
    for (const [id, c] of this.controls) out[id] = { ...c.setting };
    return out;
  }

  private show(c: Control): void {
    const { percent, muted } = c.setting;
    c.range.value = String(percent);
    c.range.setAttribute('aria-label', `Volume of ${c.name}`);
    c.range.setAttribute('aria-valuetext', muted ? `muted (${percent}%)` : `${percent}%`);
    c.value.textContent = muted ? 'muted' : `${percent}%`;
    c.mute.textContent = muted ? 'Unmute' : 'Mute';
    c.mute.setAttribute('aria-pressed', String(muted));
    c.mute.setAttribute('aria-label', `${muted ? 'Unmute' : 'Mute'} ${c.name}`);
    c.root.classList.toggle('changed', !isDefaultVolume(c.setting));
    c.root.classList.toggle('muted', muted);
  }
}
