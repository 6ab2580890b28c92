import type { AudioEnvelope, AudioMode } from '@vidchat/protocol';

/*
 * Per-tile volume. By default the page plays the room's mix: one stream,
 * decoded once, and the gateway sends nothing else. Once a tile's volume is
 * not 100% or it is muted, the page asks for per-source audio
 * (`{"type":"audio","mode":"sources"}`): the gateway then sends each other
 * source's own Opus packets instead of the mix, and each source plays
 * through its own stream (an AudioPlayer on the mix player's AudioContext:
 * the same decoder, loss concealment, freshness filter and jitter buffer)
 * at its own gain into the same output. When every tile is back at 100% and
 * unmuted, the page goes back to the mix.
 *
 * No Web Audio here: the players come in through the interfaces below, so
 * that this logic runs under Node's test runner too.
 */

/** A tile's volume as the person set it: 0–200 percent, and muted or not. */
export interface VolumeSetting {
  percent: number;
  muted: boolean;
}

export const MAX_VOLUME_PERCENT = 200;
export const DEFAULT_VOLUME: Readonly<VolumeSetting> = Object.freeze({ percent: 100, muted: false });

export function isDefaultVolume(v: VolumeSetting): boolean {
  return v.percent === DEFAULT_VOLUME.percent && v.muted === DEFAULT_VOLUME.muted;
}

/** The gain a setting plays at. */
export function gainOf(v: VolumeSetting): number {
  return v.muted ? 0 : v.percent / 100;
}

/** A stored setting, or null for anything that is not one (another version, a hand edit). */
export function parseVolume(raw: string | null): VolumeSetting | null {
  if (raw === null) return null;
  let v: unknown;
  try {
    v = JSON.parse(raw);
  } catch {
    return null;
  }
  if (typeof v !== 'object' || v === null) return null;
  const { percent, muted } = v as Record<string, unknown>;
  if (typeof percent !== 'number' || !Number.isInteger(percent) || percent < 0 || percent > MAX_VOLUME_PERCENT) {
    return null;
  }
  if (typeof muted !== 'boolean') return null;
  return { percent, muted };
}

/** What this needs of the mix player (an AudioPlayer): `bus` is where other streams can play. */
export interface MixPlayer<H> {
  readonly enabled: boolean;
  readonly bus: H | null;
  lipSyncDelayMs(): number | null;
}

/** What this needs of one source's stream (an AudioPlayer hosted on the mix player's bus). */
export interface StreamPlayer<S> {
  enable(): Promise<void>;
  push(env: AudioEnvelope): void;
  setGain(gain: number): void;
  close(): void;
  lipSyncDelayMs(): number | null;
  snapshot(): S;
}

export interface SourceAudioSnapshot<S> {
  /** What the gateway was asked for on the current socket. */
  mode: AudioMode;
  /** Per-source streams playing now (sources mode only), with their settings. */
  sources: Record<string, S & VolumeSetting>;
}

export class SourceAudio<H, S> {
  /** Each tile's setting (tiles of the roster, never the participant's own). */
  private readonly settings = new Map<string, VolumeSetting>();
  private readonly streams = new Map<string, StreamPlayer<S>>();
  /** What the gateway was told on this socket; a new socket starts at `mix`. */
  private modeSent: AudioMode = 'mix';

  constructor(
    /** The mix player: it owns the AudioContext that the per-source streams join. */
    private readonly main: MixPlayer<H>,
    /** Sends `{"type":"audio","mode"}` on the current socket; false when there is none. */
    private readonly send: (mode: AudioMode) => boolean,
    /** Builds one source's stream on the mix player's bus. */
    private readonly createStream: (bus: H) => StreamPlayer<S>,
  ) {}

  /** What the gateway sends this page now. */
  get mode(): AudioMode {
    return this.modeSent;
  }

  /** Whether some tile is not at 100% or is muted (what a reset would undo). */
  get anyChanged(): boolean {
    for (const v of this.settings.values()) if (!isDefaultVolume(v)) return true;
    return false;
  }

  /** A tile's setting, on its arrival (the remembered one) or when the person changes it. */
  set(source: string, v: VolumeSetting): void {
    this.settings.set(source, { ...v });
    this.streams.get(source)?.setGain(gainOf(v));
    this.sync();
  }

  /** The tile left: its stream stops. */
  remove(source: string): void {
    this.settings.delete(source);
    this.closeStream(source);
    this.sync();
  }

  /** After a roster (a new socket, where the gateway's mode is `mix` again), or once audio started. */
  resync(): void {
    this.modeSent = 'mix';
    this.sync();
  }

  /** A source's own audio packet (sources mode). */
  push(env: AudioEnvelope): void {
    // Packets still in flight after a switch back to the mix, or of a source with no tile.
    if (this.modeSent !== 'sources') return;
    const setting = this.settings.get(env.source);
    if (!setting) return;
    let stream = this.streams.get(env.source);
    if (!stream) {
      const bus = this.main.bus;
      if (!bus) return;
      const s = this.createStream(bus);
      stream = s;
      s.setGain(gainOf(setting));
      this.streams.set(env.source, s);
      // A stream that failed to start stays, counting packets, so that it is not retried 50 times a second.
      s.enable().then(
        () => {
          if (this.streams.get(env.source) !== s) s.close();
        },
        () => undefined,
      );
    }
    stream.push(env);
  }

  /**
   * How far behind capture time the audio is heard (lip sync): the mix's
   * delay, or in sources mode the longest of the sources' (so that no tile's
   * video runs ahead of its sound).
   */
  lipSyncDelayMs(): number | null {
    if (this.modeSent === 'sources') {
      let longest: number | null = null;
      for (const s of this.streams.values()) {
        const d = s.lipSyncDelayMs();
        if (d !== null && (longest === null || d > longest)) longest = d;
      }
      if (longest !== null) return longest;
    }
    return this.main.lipSyncDelayMs();
  }

  snapshot(): SourceAudioSnapshot<S> {
    const sources: Record<string, S & VolumeSetting> = {};
    for (const [id, s] of this.streams) {
      sources[id] = { ...s.snapshot(), ...(this.settings.get(id) ?? DEFAULT_VOLUME) };
    }
    return { mode: this.modeSent, sources };
  }

  /** Asks for what the settings need: sources while audio plays and some tile is changed, else the mix. */
  private sync(): void {
    const want: AudioMode = this.main.enabled && this.anyChanged ? 'sources' : 'mix';
    if (want !== this.modeSent && this.send(want)) this.modeSent = want;
    if (this.modeSent === 'mix') for (const id of [...this.streams.keys()]) this.closeStream(id);
  }

  private closeStream(source: string): void {
    const s = this.streams.get(source);
    if (!s) return;
    this.streams.delete(source);
    s.close();
  }
}
