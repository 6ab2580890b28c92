import { el } from '../dom.js';

/** Levels at or below this show an empty meter, dBFS (as on the other tiles). */
const METER_FLOOR_DBFS = -60;

/**
 * The participant's own tile: the local camera stream in a `<video>`
 * element, mirrored as people expect of a self view (what others receive is
 * not mirrored), straight from the MediaStream rather than a round trip
 * through the gateway. With the camera off it shows the name instead.
 */
export class LocalPreview {
  readonly root: HTMLDivElement;
  private readonly video: HTMLVideoElement;
  private readonly placeholder: HTMLDivElement;
  private readonly label: HTMLSpanElement;
  private readonly micOff: HTMLSpanElement;
  private readonly meterFill: HTMLDivElement;
  private name = '';

  constructor() {
    this.root = el('div', 'tile local-tile');
    this.root.dataset['local'] = 'true';
    this.video = el('video', 'tile-video local-video');
    // Muted: one's own microphone must never play back (and muted video may autoplay).
    this.video.muted = true;
    this.video.autoplay = true;
    this.video.playsInline = true;
    this.placeholder = el('div', 'local-placeholder');
    const caption = el('div', 'tile-caption');
    const dot = el('span', 'tile-dot');
    this.label = el('span', 'tile-name');
    this.micOff = el('span', 'tile-mic-off', 'muted');
    this.micOff.hidden = true;
    const meter = el('div', 'tile-meter');
    this.meterFill = el('div', 'tile-meter-fill');
    meter.append(this.meterFill);
    caption.append(dot, this.label, this.micOff, meter);
    this.root.append(this.video, this.placeholder, caption);
    this.setVideoTrack(null);
  }

  setName(name: string): void {
    this.name = name;
    // textContent only: the name is whatever the person typed.
    this.label.textContent = `${name} (you)`;
    this.placeholder.textContent = name;
    this.root.setAttribute('aria-label', `${name}: your camera`);
  }

  /** The camera to show, or null for the name instead. */
  setVideoTrack(track: MediaStreamTrack | null): void {
    if (track) {
      this.video.srcObject = new MediaStream([track]);
      void this.video.play().catch(() => undefined);
    } else {
      this.video.srcObject = null;
    }
    this.root.classList.toggle('has-video', track !== null);
    this.root.classList.toggle('camera-off', track === null);
    this.placeholder.hidden = track !== null;
    this.placeholder.textContent = this.name;
  }

  setMicMuted(muted: boolean): void {
    this.micOff.hidden = !muted;
    this.root.classList.toggle('mic-muted', muted);
  }

  /** Own level from the mixer's levels (null: unknown), and whether one is the active speaker. */
  setLevel(dbfs: number | null, active: boolean): void {
    const v = dbfs === null ? 0 : Math.max(0, Math.min(1, (dbfs - METER_FLOOR_DBFS) / -METER_FLOOR_DBFS));
    this.meterFill.style.setProperty('transform', `scaleX(${v.toFixed(3)})`);
    this.root.classList.toggle('speaking', active);
  }

  /** Idempotent. */
  close(): void {
    this.video.srcObject = null;
    this.root.remove();
  }
}
