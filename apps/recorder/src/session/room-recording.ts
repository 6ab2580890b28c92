import { rm, stat, writeFile } from 'node:fs/promises';
import type { NatsConnection, Subscription } from '@nats-io/transport-node';
import {
  decodeEnvelope,
  decodePresence,
  mixAudioSubject,
  PRESENCE_TIMEOUT_MS,
  ProtocolError,
  smallestFittingLayer,
  tryParseSubject,
  videoLayerSubject,
  wildcards,
  type RecordingInfo,
  type RecordingState,
  type VideoLayerInfo,
} from '@vidchat/protocol';
import { OpusSourceDecoder } from '@vidchat/mixer';
import type { Logger } from '@vidchat/service-kit';
import { AudioTimeline } from '../audio/audio-timeline.js';
import { Compositor, queueDepthFor, THIN_FRACTION } from '../compose/compositor.js';
import { gridLayout } from '../compose/grid-layout.js';
import { AUDIO_RATE, type EncoderSettings } from '../ffmpeg/encoder-args.js';
import type { EncoderError } from '../ffmpeg/encoder-errors.js';
import { EncoderProcess } from '../ffmpeg/encoder-process.js';
import { partFile, segmentFiles, sidecarFile, type Sidecar } from './work-files.js';

/*
 * One recording of one room. It follows the room on NATS (presence for who
 * is there and their names, every camera's JPEGs, the room mix), and on a
 * clock of its own composes a frame every 1/fps s for the capture time
 * `now − latency`, with exactly that frame's share of mix audio, and hands
 * both to its ffmpeg. Frames are placed by their capture times, so a camera
 * that stalls holds its last frame and the mix stays in step with the
 * pictures. Ends on `stop()`, at `--max-duration`, or when ffmpeg cannot be
 * (re)started; the service then finalizes and stores the file.
 *
 * Video layers: each camera is followed on one layer subject, the smallest
 * layer that fits the grid cell (`smallestFittingLayer`, the web viewer's
 * rule), chosen again whenever the grid changes. During a switch both layers
 * are followed and the old one is drawn until the new one's first frame
 * arrives, so a tile never goes blank for a switch.
 *
 * Supervised ffmpeg: when ffmpeg dies or stalls after it has encoded, a new
 * one is started with capped exponential back-off (as the capture agent's
 * supervisor does) on a new segment file, `<id>.part<N>.mp4`; frames
 * composed meanwhile are dropped (counted as `gapFrames`). At the end the
 * segments are joined into one file (see finalize.ts).
 */
export interface RoomRecordingOptions {
  id: string;
  room: string;
  settings: EncoderSettings;
  latencyMs: number;
  maxTiles: number;
  maxDurationMs: number;
  workDir: string;
  ffmpegPath: string;
  log: Logger;
  /** Called once when the recording ends by itself (max duration, ffmpeg failure). */
  onEnded(rec: RoomRecording, reason: 'max-duration' | 'encoder-failed'): void;
  /** Restart back-off of ffmpeg (defaults: ENCODER_RESTART_*). */
  restartInitialMs?: number;
  restartMaxMs?: number;
}

/** First delay before restarting a dead ffmpeg; doubled after each failure up to the cap. */
export const ENCODER_RESTART_INITIAL_MS = 500;
export const ENCODER_RESTART_MAX_MS = 10_000;
/** A run that lasted this long resets the back-off to its first delay. */
export const ENCODER_STABLE_AFTER_MS = 10_000;
/** Failed runs in a row (none lasting ENCODER_STABLE_AFTER_MS) after which the recording gives up. */
export const ENCODER_MAX_FAILURES_IN_ROW = 6;

/** One camera's video subscriptions. */
interface SourceFeed {
  /** Layers from its presence (undefined: layer 0 only). */
  layers: VideoLayerInfo[] | undefined;
  /** The layer that fits its tile now. */
  wanted: number;
  /** The layer whose frames are drawn (null until the first frame). */
  drawn: number | null;
  subs: Map<number, Subscription>;
}

export interface RecordingCounters {
  frames: number;
  badMessages: number;
  audioLate: number;
  audioTooEarly: number;
  audioBadPackets: number;
  catchUpSkippedFrames: number;
  /** Frames composed while no ffmpeg ran (between a death and the restart). */
  gapFrames: number;
  /** Video frames received per layer (index = layer). */
  layerFrames: number[];
  /** Frames of a layer not drawn (a late frame of the layer just left). */
  layerDropped: number;
  /** Layer switches. */
  layerSwitches: number;
}

/** Largest number of frames composed in one timer turn (5 s at 15 fps); past that the recorder skips ahead (counted). */
const MAX_CATCH_UP_FRAMES = 75;
/** Mix audio held ahead of the composing clock: covers any sensible latency. */
const AUDIO_CAPACITY_S = 15;
/** A mix packet within this distance of where the previous one ended is appended contiguously, ms. */
const AUDIO_SNAP_MS = 60;

export class RoomRecording {
  state: RecordingState = 'recording';
  readonly startedAt: number;
  endedAt: number | null = null;
  error: EncoderError | null = null;
  /** Bytes and duration of the stored file, once finalized. */
  stored: { bytes: number; durationMs: number; object: string | null } | null = null;
  readonly counters: RecordingCounters = {
    frames: 0,
    badMessages: 0,
    audioLate: 0,
    audioTooEarly: 0,
    audioBadPackets: 0,
    catchUpSkippedFrames: 0,
    gapFrames: 0,
    layerFrames: [0, 0],
    layerDropped: 0,
    layerSwitches: 0,
  };
  /** ffmpeg restarts after a death or stall. */
  restarts = 0;
  private readonly t0Us: number;
  private readonly compositor: Compositor;
  private readonly timeline: AudioTimeline;
  private readonly decoder = new OpusSourceDecoder();
  private encoder: EncoderProcess | null = null;
  private readonly subs: Subscription[] = [];
  private readonly lastSeen = new Map<string, number>();
  private readonly feeds = new Map<string, SourceFeed>();
  /** Index of the segment file the current (or next) ffmpeg writes. */
  private segment = 0;
  private failuresInRow = 0;
  private restartDelayMs: number;
  private restartTimer: NodeJS.Timeout | null = null;
  private encoderStartedAt = 0;
  /** Bytes written and frames dropped by the ffmpegs of earlier segments. */
  private bytesBefore = 0;
  private droppedBefore = 0;
  private frameIndex = 0;
  private timer: NodeJS.Timeout | null = null;
  private presenceTimer: NodeJS.Timeout | null = null;
  private maxTimer: NodeJS.Timeout | null = null;
  private ending = false;

  constructor(
    private readonly nc: NatsConnection,
    private readonly o: RoomRecordingOptions,
  ) {
    this.startedAt = Date.now();
    this.t0Us = this.startedAt * 1_000;
    this.restartDelayMs = o.restartInitialMs ?? ENCODER_RESTART_INITIAL_MS;
    this.compositor = new Compositor({
      width: o.settings.width,
      height: o.settings.height,
      maxTiles: o.maxTiles,
      maxQueuedFrames: queueDepthFor(o.latencyMs, o.settings.fps),
      minFrameIntervalUs: (THIN_FRACTION * 1e6) / o.settings.fps,
      maxDecodesInFlight: 8,
      log: o.log.child('compose'),
    });
    this.timeline = new AudioTimeline({
      sampleRate: AUDIO_RATE,
      startUs: this.t0Us,
      capacitySamples: AUDIO_CAPACITY_S * AUDIO_RATE,
      snapSamples: (AUDIO_SNAP_MS * AUDIO_RATE) / 1_000,
    });
  }

  get id(): string {
    return this.o.id;
  }

  get room(): string {
    return this.o.room;
  }

  /** The segment file the current ffmpeg writes. */
  get part(): string {
    return partFile(this.o.workDir, this.o.id, this.segment);
  }

  /** The layer drawn per camera (for status and tests). */
  drawnLayers(): Record<string, number | null> {
    return Object.fromEntries([...this.feeds].map(([source, f]) => [source, f.drawn]));
  }

  get encoderPid(): number | undefined {
    return this.encoder?.pid;
  }

  get droppedFrames(): number {
    return this.droppedBefore + (this.encoder?.droppedFrames ?? 0);
  }

  info(): RecordingInfo {
    const durationMs = this.stored?.durationMs ?? Math.round((this.frameIndex * 1_000) / this.o.settings.fps);
    return {
      id: this.o.id,
      room: this.o.room,
      state: this.state,
      startedAt: this.startedAt,
      durationMs,
      bytes: this.stored?.bytes ?? this.bytesBefore + (this.encoder?.progress.totalSize ?? 0),
      object: this.stored?.object ?? null,
    };
  }

  /** Writes the sidecar, starts ffmpeg, subscribes and starts the clock. */
  async start(): Promise<void> {
    await this.writeSidecar(null);
    await this.startEncoder();
    await this.decoder.ready;
    const room = this.o.room;
    this.subs.push(
      this.follow(wildcards.roomTrack(room, 'presence'), (d, s) => this.onPresence(d, s)),
      this.follow(mixAudioSubject(room), (d) => this.onMix(d)),
    );
    this.presenceTimer = setInterval(() => this.expireSources(), 500);
    this.maxTimer = setTimeout(() => this.o.onEnded(this, 'max-duration'), this.o.maxDurationMs);
    this.schedule();
    this.o.log.info('recording', { room, id: this.o.id, part: this.part });
  }

  private follow(subject: string, handle: (data: Uint8Array, subject: string) => void): Subscription {
    return this.nc.subscribe(subject, {
      callback: (err, msg) => {
        if (!err) handle(msg.data, msg.subject);
      },
    });
  }

  /** The pid in the sidecar lets a restarted recorder wait for an orphaned ffmpeg to finish its file. */
  private async writeSidecar(ffmpegPid: number | null): Promise<void> {
    const sidecar: Sidecar = {
      v: 1,
      id: this.o.id,
      room: this.o.room,
      startedAt: this.startedAt,
      ffmpegPid,
      segments: this.segment + 1,
    };
    await writeFile(sidecarFile(this.o.workDir, this.o.id), JSON.stringify(sidecar));
  }

  /** Starts ffmpeg on the current segment file. */
  private async startEncoder(): Promise<void> {
    this.encoderStartedAt = Date.now();
    const encoder = new EncoderProcess({
      settings: this.o.settings,
      output: this.part,
      ffmpegPath: this.o.ffmpegPath,
      log: this.o.log.child('ffmpeg'),
      onFailure: (err) => this.onEncoderFailure(encoder, err),
    });
    this.encoder = encoder;
    await this.writeSidecar(encoder.pid ?? null).catch((err: unknown) =>
      this.o.log.warn('could not write the sidecar', { error: (err as Error).message }),
    );
  }

  /**
   * ffmpeg ended without being asked. Restarting cannot help when the binary
   * is missing or the very first ffmpeg never encoded (bad arguments,
   * missing encoder): the recording fails as before. Otherwise a new ffmpeg
   * starts on the next segment after a back-off, up to
   * ENCODER_MAX_FAILURES_IN_ROW failures in a row.
   */
  private onEncoderFailure(encoder: EncoderProcess, err: EncoderError): void {
    if (this.ending || encoder !== this.encoder) return;
    const ranMs = Date.now() - this.encoderStartedAt;
    const fatal =
      err.code === 'ERR_FFMPEG_NOT_FOUND' ||
      (this.segment === 0 && this.restarts === 0 && err.code === 'ERR_FFMPEG_START_FAILED');
    if (ranMs >= ENCODER_STABLE_AFTER_MS) {
      this.failuresInRow = 0;
      this.restartDelayMs = this.o.restartInitialMs ?? ENCODER_RESTART_INITIAL_MS;
    }
    this.failuresInRow++;
    if (fatal || this.failuresInRow >= ENCODER_MAX_FAILURES_IN_ROW) {
      this.error = err;
      this.o.log.error(err.message, { code: err.code, restarts: this.restarts });
      this.o.onEnded(this, 'encoder-failed');
      return;
    }
    this.bytesBefore += encoder.progress.totalSize;
    this.droppedBefore += encoder.droppedFrames;
    this.encoder = null;
    const delayMs = this.restartDelayMs;
    this.restartDelayMs = Math.min(delayMs * 2, this.o.restartMaxMs ?? ENCODER_RESTART_MAX_MS);
    this.o.log.warn('ffmpeg ended mid-recording: restarting it on a new segment', {
      code: err.code,
      error: err.message,
      segment: this.segment + 1,
      delayMs,
    });
    this.restartTimer = setTimeout(() => {
      this.restartTimer = null;
      if (this.ending) return;
      this.segment++;
      this.restarts++;
      void this.startEncoder();
    }, delayMs);
  }

  /** The source a `vidchat.src.<room>.<source>.*` subject names, or null. */
  private sourceOf(subject: string): string | null {
    const parsed = tryParseSubject(subject);
    return parsed?.scope === 'src' && parsed.room === this.o.room ? parsed.source : null;
  }

  private onPresence(data: Uint8Array, subject: string): void {
    try {
      const p = decodePresence(data);
      // Anyone may publish on a room's subjects: presence must name the source and room of its own subject.
      if (p.room !== this.o.room || p.source !== this.sourceOf(subject)) {
        throw new ProtocolError('ERR_INVALID_MESSAGE', 'presence whose room or source differs from its subject');
      }
      if (p.type === 'leave') {
        this.dropSource(p.source);
        return;
      }
      this.lastSeen.set(p.source, Date.now());
      if (!p.video) return;
      const feed = this.feeds.get(p.source);
      if (feed) {
        const changed = JSON.stringify(feed.layers) !== JSON.stringify(p.layers);
        feed.layers = p.layers;
        // A camera beyond --max-tiles gets its tile on a heartbeat once another has left.
        const tiles = this.compositor.sources.length;
        this.compositor.addSource(p.source, p.name);
        if (changed || this.compositor.sources.length !== tiles) this.chooseLayers();
        return;
      }
      this.feeds.set(p.source, { layers: p.layers, wanted: -1, drawn: null, subs: new Map() });
      this.compositor.addSource(p.source, p.name);
      this.chooseLayers();
    } catch (err) {
      this.counters.badMessages++;
      this.o.log.debug('bad presence dropped', { error: (err as Error).message });
    }
  }

  private dropSource(source: string): void {
    this.lastSeen.delete(source);
    const feed = this.feeds.get(source);
    if (feed) {
      for (const sub of feed.subs.values()) sub.unsubscribe();
      this.feeds.delete(source);
    }
    this.compositor.removeSource(source);
    this.chooseLayers();
  }

  /**
   * The layer each camera should be followed on for the grid as it is now.
   * A camera without a tile (beyond --max-tiles) is not followed at all. A
   * new layer is subscribed next to the drawn one, which is left when the
   * new layer's first frame arrives (`onVideo`).
   */
  private chooseLayers(): void {
    if (this.ending) return;
    const tiles = this.compositor.sources;
    const cell = gridLayout(tiles.length, this.o.settings.width, this.o.settings.height)[0];
    for (const [source, feed] of this.feeds) {
      if (!tiles.includes(source)) {
        for (const sub of feed.subs.values()) sub.unsubscribe();
        feed.subs.clear();
        feed.drawn = null;
        feed.wanted = -1;
        continue;
      }
      const wanted = smallestFittingLayer(feed.layers, cell?.picture.width ?? this.o.settings.width);
      if (wanted === feed.wanted) continue;
      const from = feed.wanted;
      feed.wanted = wanted;
      if (!feed.subs.has(wanted)) {
        feed.subs.set(
          wanted,
          this.follow(videoLayerSubject(this.o.room, source, wanted), (d, s) => this.onVideo(source, wanted, d, s)),
        );
      }
      // Layers neither wanted nor drawn (a switch back before the first frame came) are left now.
      for (const [layer, sub] of feed.subs) {
        if (layer !== wanted && layer !== feed.drawn) {
          sub.unsubscribe();
          feed.subs.delete(layer);
        }
      }
      this.o.log.info('video layer chosen', { source, layer: wanted, from, tiles: tiles.length });
    }
  }

  private onVideo(source: string, layer: number, data: Uint8Array, subject: string): void {
    try {
      const env = decodeEnvelope(data);
      if (env.kind !== 'video') throw new ProtocolError('ERR_INVALID_MESSAGE', `${env.kind} on a video subject`);
      if (env.source !== this.sourceOf(subject) || env.source !== source) {
        throw new ProtocolError('ERR_INVALID_MESSAGE', 'video whose source differs from its subject');
      }
      if (env.layer !== layer)
        throw new ProtocolError('ERR_INVALID_MESSAGE', 'video whose layer differs from its subject');
      const feed = this.feeds.get(source);
      if (!feed) return;
      this.counters.layerFrames[layer] = (this.counters.layerFrames[layer] ?? 0) + 1;
      if (layer === feed.wanted && feed.drawn !== layer) {
        // The new layer's first frame: draw it from now on and leave the old one.
        if (feed.drawn !== null) this.counters.layerSwitches++;
        feed.drawn = layer;
        for (const [l, sub] of feed.subs) {
          if (l !== layer) {
            sub.unsubscribe();
            feed.subs.delete(l);
          }
        }
      }
      if (layer !== feed.drawn) {
        this.counters.layerDropped++;
        return;
      }
      // The payload is a view into NATS's read buffer: copy it for the asynchronous decode.
      this.compositor.pushJpeg(env.source, env.captureTimeUs, env.payload.slice());
    } catch (err) {
      this.counters.badMessages++;
      this.o.log.debug('bad video dropped', { error: (err as Error).message });
    }
  }

  private onMix(data: Uint8Array): void {
    try {
      const env = decodeEnvelope(data);
      if (env.kind !== 'mixedAudio') throw new ProtocolError('ERR_INVALID_MESSAGE', `${env.kind} on the mix subject`);
      const pcm = this.decoder.decode(env.payload);
      if (!pcm) {
        this.counters.audioBadPackets++;
        return;
      }
      this.timeline.place(env.captureTimeUs, pcm);
    } catch (err) {
      this.counters.badMessages++;
      this.o.log.debug('bad mix packet dropped', { error: (err as Error).message });
    }
  }

  private expireSources(): void {
    const now = Date.now();
    for (const [source, seen] of this.lastSeen) {
      if (now - seen > PRESENCE_TIMEOUT_MS) this.dropSource(source);
    }
  }

  private frameTimeUs(k: number): number {
    return this.t0Us + Math.round((k * 1e6) / this.o.settings.fps);
  }

  private samplesBefore(k: number): number {
    return Math.floor((k * AUDIO_RATE) / this.o.settings.fps);
  }

  /** Timer on absolute frame times, so lateness never accumulates into drift. */
  private schedule(): void {
    if (this.ending) return;
    const dueMs = this.frameTimeUs(this.frameIndex) / 1_000 + this.o.latencyMs;
    this.timer = setTimeout(() => this.tick(), Math.max(0, dueMs - Date.now()));
  }

  private tick(): void {
    this.timer = null;
    const nowUs = (Date.now() - this.o.latencyMs) * 1_000;
    let composed = 0;
    while (!this.ending && this.frameTimeUs(this.frameIndex) <= nowUs) {
      const k = this.frameIndex;
      const pcm = this.timeline.read(this.samplesBefore(k + 1) - this.samplesBefore(k));
      if (composed < MAX_CATCH_UP_FRAMES) {
        const frame = this.compositor.render(this.frameTimeUs(k));
        if (this.encoder) this.encoder.write(frame, pcm);
        else this.counters.gapFrames++;
        this.counters.frames++;
      } else {
        this.counters.catchUpSkippedFrames++;
      }
      composed++;
      this.frameIndex++;
    }
    this.schedule();
  }

  /** Stops following the room and lets ffmpeg close the file. Idempotent. */
  async finishEncoding(): Promise<void> {
    if (!this.ending) {
      this.ending = true;
      if (this.timer) clearTimeout(this.timer);
      if (this.presenceTimer) clearInterval(this.presenceTimer);
      if (this.maxTimer) clearTimeout(this.maxTimer);
      if (this.restartTimer) clearTimeout(this.restartTimer);
      for (const s of this.subs) s.unsubscribe();
      for (const f of this.feeds.values()) for (const s of f.subs.values()) s.unsubscribe();
      this.feeds.clear();
      this.compositor.close();
      this.decoder.close();
      this.counters.audioLate = this.timeline.stats.late;
      this.counters.audioTooEarly = this.timeline.stats.tooEarly;
    }
    await this.encoder?.finish();
  }

  /** Size of the segment files so far (0 when ffmpeg wrote nothing). */
  async partBytes(): Promise<number> {
    let total = 0;
    for (const f of await segmentFiles(this.o.workDir, this.o.id)) {
      total += await stat(f).then(
        (st) => st.size,
        () => 0,
      );
    }
    return total;
  }

  async removeFiles(): Promise<void> {
    for (const f of await segmentFiles(this.o.workDir, this.o.id)) await rm(f, { force: true });
    await rm(sidecarFile(this.o.workDir, this.o.id), { force: true });
  }

  /** Status numbers for the periodic log line. */
  status(): Record<string, number | string> {
    return {
      room: this.o.room,
      id: this.o.id,
      tiles: this.compositor.sources.length,
      frames: this.counters.frames,
      encoded: this.encoder?.progress.frames ?? 0,
      bytes: this.encoder?.progress.totalSize ?? 0,
      decoded: this.compositor.stats.decoded,
      thinned: this.compositor.stats.thinned,
      droppedBusy: this.compositor.stats.droppedBusy,
      droppedQueue: this.compositor.stats.droppedQueue,
      droppedEncoder: this.droppedFrames,
      audioPlaced: this.timeline.stats.placed,
      audioLate: this.timeline.stats.late,
      bad: this.counters.badMessages,
      layers: Object.entries(this.drawnLayers())
        .map(([source, layer]) => `${source}:${layer ?? '-'}`)
        .join(','),
      layer0Frames: this.counters.layerFrames[0] ?? 0,
      layer1Frames: this.counters.layerFrames[1] ?? 0,
      layerSwitches: this.counters.layerSwitches,
      ffmpegPid: this.encoder?.pid ?? 0,
      restarts: this.restarts,
      gapFrames: this.counters.gapFrames,
    };
  }
}
