import type { JoinMedia } from '@vidchat/protocol';
import { byId, el } from '../dom.js';
import { cleanName, loadName, saveName } from './display-name.js';
import { fitInside } from './frame-pacer.js';
import { listDevices, MediaAccessError, type MediaAccessCode } from './media-devices.js';
import type { MediaSink } from './media-sink.js';
import { ParticipantSession, type PublishSnapshot } from './participant-session.js';
import { OPUS_FRAME_US, OPUS_SAMPLE_RATE, type PublishOptions } from './publish-options.js';
import type { CaptureSupport } from './secure-origin.js';

/** Where the person is in joining, as the page and the test hooks show it. */
export type JoinState =
  | 'watching'
  | 'unavailable'
  | 'naming'
  | 'asking'
  | 'denied'
  | 'no-device'
  | 'in-use'
  | 'failed'
  | 'connecting'
  | 'joined';

export interface ParticipantHooks extends Partial<PublishSnapshot> {
  state: JoinState;
  self: string | null;
  name: string | null;
  /** The status text shown to the person. */
  statusText: string;
}

/** What the room view does for the controls: which connection to hold. */
export interface JoinHost {
  /** Replaces the room connection: as a participant (with what it sends), or back to watching (null). */
  connect(publish: { name: string; media: JoinMedia } | null): void;
  /** Shows or removes the local preview tile in the grid. */
  showPreview(tile: HTMLElement | null): void;
  /** Starts playing the room from inside a click, so that joining also lets one hear. */
  enableAudioFromGesture(): void;
  readonly sink: MediaSink;
}

const ACCESS_TEXT: Record<MediaAccessCode, string> = {
  denied:
    'Camera and microphone are blocked for this page. Allow them in the browser (the camera icon in the address bar, or the site settings), then press Join again.',
  'no-device': 'No camera or microphone was found. Connect one, then press Join again.',
  'in-use':
    'The camera or microphone could not be opened: another application may be using it. Close it, then press Join again.',
  failed: 'The camera and microphone could not be opened.',
};

/**
 * The Join control and the participant bar: name form, status text,
 * microphone and camera toggles, device pickers and Leave. It runs the
 * participant's `ParticipantSession` and tells the room view which
 * connection to hold.
 */
export class JoinControls {
  private state: JoinState = 'watching';
  private statusText = '';
  private session: ParticipantSession | null = null;
  private name: string | null = null;
  private self: string | null = null;
  private readonly joinButton = byId<HTMLButtonElement>('join-button');
  private readonly bar = byId('participant-bar');
  private readonly form = byId<HTMLFormElement>('name-form');
  private readonly nameInput = byId<HTMLInputElement>('name-input');
  private readonly status = byId('join-status');
  private readonly controls = byId('participant-controls');
  private readonly micButton = byId<HTMLButtonElement>('mic-button');
  private readonly cameraButton = byId<HTMLButtonElement>('camera-button');
  private readonly cameraSelect = byId<HTMLSelectElement>('camera-select');
  private readonly micSelect = byId<HTMLSelectElement>('mic-select');
  private readonly leaveButton = byId<HTMLButtonElement>('leave-button');

  constructor(
    private readonly host: JoinHost,
    private readonly support: CaptureSupport,
    private readonly opts: PublishOptions,
    private readonly storage: Storage | null,
  ) {
    this.joinButton.addEventListener('click', () => this.onJoinClick());
    this.form.addEventListener('submit', (ev) => {
      ev.preventDefault();
      const name = cleanName(this.nameInput.value);
      if (name === null) {
        this.nameInput.focus();
        this.setStatus('naming', 'Type the name others will see, then press Join.');
        return;
      }
      this.host.enableAudioFromGesture();
      void this.join(name);
    });
    byId('name-cancel').addEventListener('click', () => this.toWatching(''));
    this.micButton.addEventListener('click', () => {
      const muted = this.micButton.getAttribute('aria-pressed') !== 'true';
      this.session?.setMicMuted(muted);
      this.renderToggles();
    });
    this.cameraButton.addEventListener('click', () => void this.toggleCamera());
    this.cameraSelect.addEventListener('change', () => void this.pick('video', this.cameraSelect.value));
    this.micSelect.addEventListener('change', () => void this.pick('audio', this.micSelect.value));
    this.leaveButton.addEventListener('click', () => this.leave());
    if (!support.ok) this.showUnavailable(support);
  }

  /** `?join=1&name=N`: joins at once, asking only for a name that is missing. */
  joinFromLink(rawName: string | null): void {
    if (!this.support.ok) return;
    const name = (rawName === null ? null : cleanName(rawName)) ?? loadName(this.storage);
    if (name === null) this.askName();
    else void this.join(name);
  }

  /** The room connection's roster: `self` is set once the gateway accepted the participant. */
  onRoster(self: string | null): void {
    this.self = self;
    if (!this.session || !this.name) return;
    if (self !== null) this.setStatus('joined', this.joinedText(this.name));
    else if (this.state === 'joined') this.setStatus('connecting', `Joining as ${this.name}…`);
  }

  /** The connection lost its socket (it reconnects on its own); media keeps running. */
  onDisconnected(): void {
    this.self = null;
    if (this.session && this.name && this.state === 'joined')
      this.setStatus('connecting', `Reconnecting as ${this.name}…`);
  }

  /** The gateway refused the participant for good (a token without the publish grant, bad media): back to watching. */
  onRefused(message: string): void {
    if (!this.session) return;
    this.stopSession();
    this.setStatus('failed', `Could not join: ${message}`);
    this.host.connect(null);
  }

  /** The source id the page itself publishes as, to keep it out of the remote tiles. */
  get selfId(): string | null {
    return this.session ? this.self : null;
  }

  /** Own level from the mixer, shown on the preview. */
  setOwnLevel(dbfs: number | null, active: boolean): void {
    this.session?.preview.setLevel(dbfs, active);
  }

  snapshot(): ParticipantHooks {
    return {
      state: this.state,
      self: this.selfId,
      name: this.name,
      statusText: this.statusText,
      ...(this.session?.snapshot() ?? {}),
    };
  }

  private onJoinClick(): void {
    if (!this.support.ok || this.session) return;
    const name = loadName(this.storage);
    if (name === null) {
      this.askName();
      return;
    }
    this.host.enableAudioFromGesture();
    void this.join(name);
  }

  private askName(): void {
    this.form.hidden = false;
    this.nameInput.value = loadName(this.storage) ?? '';
    this.setStatus('naming', 'Your name, as others will see it on your tile:');
    this.nameInput.focus();
  }

  private async join(name: string): Promise<void> {
    if (this.session) return;
    saveName(this.storage, name);
    this.name = name;
    this.form.hidden = true;
    const session = new ParticipantSession(this.host.sink, this.opts);
    this.session = session;
    this.setStatus('asking', 'Asking for your camera and microphone… Allow them in the browser’s prompt.');
    try {
      await session.start(name);
    } catch (err) {
      if (this.session !== session) return;
      this.stopSession();
      const code = err instanceof MediaAccessError ? err.code : 'failed';
      const state = code === 'failed' ? 'failed' : code;
      const detail = err instanceof MediaAccessError && code === 'failed' ? ` (${err.message})` : '';
      this.setStatus(state, ACCESS_TEXT[code] + detail);
      return;
    }
    if (this.session !== session) return;
    this.host.showPreview(session.preview.root);
    this.controls.hidden = false;
    this.renderToggles();
    this.setStatus('connecting', `Joining as ${name}…`);
    this.host.connect({ name, media: this.joinMedia(session) });
    void this.refreshDevices();
    navigator.mediaDevices.addEventListener('devicechange', this.onDeviceChange);
  }

  private readonly onDeviceChange = (): void => void this.refreshDevices();

  private leave(): void {
    if (!this.session) return;
    this.stopSession();
    this.host.connect(null);
    this.toWatching('You left. You are watching again.');
  }

  private stopSession(): void {
    navigator.mediaDevices?.removeEventListener('devicechange', this.onDeviceChange);
    this.session?.stop();
    this.session = null;
    this.self = null;
    this.host.showPreview(null);
    this.controls.hidden = true;
    this.renderJoinButton();
  }

  private toWatching(text: string): void {
    this.form.hidden = true;
    this.setStatus('watching', text);
  }

  private async toggleCamera(): Promise<void> {
    const session = this.session;
    if (!session) return;
    const off = !session.snapshot().cameraOff;
    this.cameraButton.disabled = true;
    try {
      await session.setCameraOff(off);
    } catch (err) {
      this.flash(err, 'The camera could not be turned on');
    } finally {
      this.cameraButton.disabled = false;
      this.renderToggles();
    }
  }

  private async pick(kind: 'video' | 'audio', deviceId: string): Promise<void> {
    const session = this.session;
    if (!session || !deviceId) return;
    try {
      if (kind === 'video') await session.useCamera(deviceId);
      else await session.useMicrophone(deviceId);
    } catch (err) {
      this.flash(err, kind === 'video' ? 'That camera could not be opened' : 'That microphone could not be opened');
    }
    this.renderToggles();
  }

  private flash(err: unknown, what: string): void {
    const code = err instanceof MediaAccessError ? err.code : 'failed';
    this.status.textContent = `${what}: ${code === 'failed' ? String(err) : ACCESS_TEXT[code]}`;
    this.statusText = this.status.textContent;
  }

  private async refreshDevices(): Promise<void> {
    let devices;
    try {
      devices = await listDevices();
    } catch {
      return;
    }
    const snap = this.session?.snapshot();
    fillSelect(this.cameraSelect, devices.cameras, snap?.cameraId ?? null);
    fillSelect(this.micSelect, devices.microphones, snap?.microphoneId ?? null);
  }

  private renderToggles(): void {
    const snap = this.session?.snapshot();
    if (!snap) return;
    this.micButton.setAttribute('aria-pressed', String(snap.micMuted));
    this.micButton.textContent = snap.micMuted ? 'Unmute mic' : 'Mute mic';
    this.micButton.disabled = !snap.hasMicrophone;
    this.cameraButton.setAttribute('aria-pressed', String(snap.cameraOff));
    this.cameraButton.textContent = snap.cameraOff ? 'Camera on' : 'Camera off';
    this.cameraButton.disabled = !snap.hasCamera;
    this.cameraSelect.disabled = !snap.hasCamera;
    this.micSelect.disabled = !snap.hasMicrophone;
  }

  private renderJoinButton(): void {
    this.joinButton.hidden = this.session !== null;
    this.joinButton.disabled = !this.support.ok;
  }

  /** What the gateway puts in the participant's presence: sizes as they will be sent. */
  private joinMedia(session: ParticipantSession): JoinMedia {
    const snap = session.snapshot();
    const media: JoinMedia = {};
    const track = snap.hasCamera ? session.videoSettings() : null;
    if (track) {
      const size = fitInside(track, { width: this.opts.maxWidth, height: this.opts.maxHeight });
      media.video = { codec: 'jpeg', width: size.width, height: size.height, fps: this.opts.fps };
    }
    if (snap.hasMicrophone && snap.audioProblem === null) {
      media.audio = { codec: 'opus', sampleRate: OPUS_SAMPLE_RATE, channels: 1, frameDurationMs: OPUS_FRAME_US / 1000 };
    }
    return media;
  }

  private joinedText(name: string): string {
    const snap = this.session?.snapshot();
    const notes: string[] = [];
    if (snap && !snap.hasCamera) notes.push('No camera was found: others hear you but do not see you.');
    if (snap?.audioProblem === 'no microphone')
      notes.push('No microphone was found: others see you but do not hear you.');
    else if (snap?.audioProblem) notes.push(`Video only: ${snap.audioProblem}, so others cannot hear you.`);
    return [`You are live as ${name}. Use headphones if others hear an echo.`, ...notes].join(' ');
  }

  private setStatus(state: JoinState, text: string): void {
    this.state = state;
    this.statusText = text;
    this.status.textContent = text;
    this.bar.dataset['state'] = state;
    this.bar.hidden = text === '' && this.session === null && this.form.hidden;
    this.renderJoinButton();
  }

  private showUnavailable(support: Exclude<CaptureSupport, { ok: true }>): void {
    this.joinButton.disabled = true;
    this.state = 'unavailable';
    this.bar.dataset['state'] = 'unavailable';
    this.bar.hidden = false;
    this.status.replaceChildren();
    if (support.reason === 'insecure') {
      this.joinButton.title = 'Joining needs https: see the note below';
      const link = el('a', 'join-https-link', support.httpsUrl);
      link.href = support.httpsUrl;
      link.id = 'https-link';
      this.status.append(
        'To join with camera and microphone, open this page over https: browsers only allow the camera on secure pages (https, or localhost). ',
        link,
        ' — the first time, accept the server’s self-signed certificate. Here you can watch and listen.',
      );
    } else {
      this.joinButton.title = 'This browser cannot use a camera here';
      this.status.append(
        'This browser does not offer camera and microphone access to web pages; you can watch and listen.',
      );
    }
    this.statusText = this.status.textContent ?? '';
  }
}

function fillSelect(select: HTMLSelectElement, items: { id: string; label: string }[], current: string | null): void {
  select.replaceChildren(
    ...items.map((d) => {
      const opt = el('option', undefined, d.label);
      opt.value = d.id;
      opt.selected = d.id === current;
      return opt;
    }),
  );
}
