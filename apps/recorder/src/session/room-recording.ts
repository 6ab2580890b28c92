import { rm, stat, writeFile } from 'node:fs/promises';
import type { NatsConnection, Subscription } from '@nats-io/transport-node';
import {
  decodeEnvelope,
  decodePresence,
  mixAudioSubject,
  PRESENCE_TIMEOUT_MS,
  ProtocolError,
  tryParseSubject,
  wildcards,
  type RecordingInfo,
  type RecordingState,
} from '@vidchat/protocol';
import { OpusSourceDecoder } from '@vidchat/mixer';
import type { Logger } from '@vidchat/service-kit';
import { AudioTimeline } from '../audio/audio-timeline.js';
import { Compositor, queueDepthFor, THIN_FRACTION } from '../compose/compositor.js';
import { AUDIO_RATE, type EncoderSettings } from '../ffmpeg/encoder-args.js';
import type { EncoderError } from '../ffmpeg/encoder-errors.js';
import { EncoderProcess } from '../ffmpeg/encoder-process.js';
import { partFile, sidecarFile, type Sidecar } from './work-files.js';

/*
 * One recording of one room. It follows the room on NATS (presence for who
 * is there and their names, every camera's JPEGs, the room mix), and on a
 * clock of its own composes a frame every 1/fps s for the capture time
 * `now − latency`, with exactly that frame's share of mix audio, and hands
 * both to its ffmpeg. Frames are placed by their capture times, so a camera
 * that stalls holds its last frame and the mix stays in step with the
 * pictures. Ends on `stop()`, at `--max-duration`, or when ffmpeg dies; the
 * service then finalizes and stores the file.
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
}

export interface RecordingCounters {
  frames: number;
  badMessages: number;
  audioLate: number;
  audioTooEarly: number;
  audioBadPackets: number;
  catchUpSkippedFrames: number;
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
  };
  private readonly t0Us: number;
  private readonly compositor: Compositor;
  private readonly timeline: AudioTimeline;
  private readonly decoder = new OpusSourceDecoder();
  private encoder: EncoderProcess | null = null;
  private readonly subs: Subscription[] = [];
  private readonly lastSeen = new Map<string, number>();
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

  get part(): string {
    return partFile(this.o.workDir, this.o.id);
  }

  get encoderPid(): number | undefined {
    return this.encoder?.pid;
  }

  get droppedFrames(): number {
    return this.encoder?.droppedFrames ?? 0;
  }

  info(): RecordingInfo {
    const durationMs = this.stored?.durationMs ?? Math.round((this.frameIndex * 1_000) / this.o.settings.fps);
    return {
      id: this.o.id,
      room: this.o.room,
      state: this.state,
      startedAt: this.startedAt,
      durationMs,
      bytes: this.stored?.bytes ?? this.encoder?.progress.totalSize ?? 0,
      object: this.stored?.object ?? null,
    };
  }

  /** Writes the sidecar, starts ffmpeg, subscribes and starts the clock. */
  async start(): Promise<void> {
    const sidecar: Sidecar = { v: 1, id: this.o.id, room: this.o.room, startedAt: this.startedAt, ffmpegPid: null };
    await writeFile(sidecarFile(this.o.workDir, this.o.id), JSON.stringify(sidecar));
    this.encoder = new EncoderProcess({
      settings: this.o.settings,
      output: this.part,
      ffmpegPath: this.o.ffmpegPath,
      log: this.o.log.child('ffmpeg'),
      onFailure: (err) => {
        this.error = err;
        this.o.log.error(err.message, { code: err.code });
        this.o.onEnded(this, 'encoder-failed');
      },
    });
    // The pid in the sidecar lets a restarted recorder wait for an orphaned ffmpeg to finish its file.
    await writeFile(
      sidecarFile(this.o.workDir, this.o.id),
      JSON.stringify({ ...sidecar, ffmpegPid: this.encoder.pid ?? null }),
    );
    await this.decoder.ready;
    const room = this.o.room;
    const follow = (subject: string, handle: (data: Uint8Array, subject: string) => void): Subscription =>
      this.nc.subscribe(subject, {
        callback: (err, msg) => {
          if (!err) handle(msg.data, msg.subject);
        },
      });
    this.subs.push(
      follow(wildcards.roomTrack(room, 'presence'), (d, s) => this.onPresence(d, s)),
      follow(wildcards.roomTrack(room, 'video'), (d, s) => this.onVideo(d, s)),
      follow(mixAudioSubject(room), (d) => this.onMix(d)),
    );
    this.presenceTimer = setInterval(() => this.expireSources(), 500);
    this.maxTimer = setTimeout(() => this.o.onEnded(this, 'max-duration'), this.o.maxDurationMs);
    this.schedule();
    this.o.log.info('recording', { room, id: this.o.id, part: this.part });
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
        this.lastSeen.delete(p.source);
        this.compositor.removeSource(p.source);
        return;
      }
      this.lastSeen.set(p.source, Date.now());
      if (p.video) this.compositor.addSource(p.source, p.name);
    } catch (err) {
      this.counters.badMessages++;
      this.o.log.debug('bad presence dropped', { error: (err as Error).message });
    }
  }

  private onVideo(data: Uint8Array, subject: string): void {
    try {
      const env = decodeEnvelope(data);
      if (env.kind !== 'video') throw new ProtocolError('ERR_INVALID_MESSAGE', `${env.kind} on a video subject`);
      if (env.source !== this.sourceOf(subject)) {
        throw new ProtocolError('ERR_INVALID_MESSAGE', 'video whose source differs from its subject');
      }
      if (env.layer !== 0) return;
      if (!this.lastSeen.has(env.source)) {
        // Video before presence: show it under its id until presence brings the name.
        this.lastSeen.set(env.source, Date.now());
        this.compositor.addSource(env.source, env.source);
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
      if (now - seen > PRESENCE_TIMEOUT_MS) {
        this.lastSeen.delete(source);
        this.compositor.removeSource(source);
      }
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
        this.encoder?.write(this.compositor.render(this.frameTimeUs(k)), pcm);
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
      for (const s of this.subs) s.unsubscribe();
      this.compositor.close();
      this.decoder.close();
      this.counters.audioLate = this.timeline.stats.late;
      this.counters.audioTooEarly = this.timeline.stats.tooEarly;
    }
    await this.encoder?.finish();
  }

  /** Size of the fragmented file so far (0 when ffmpeg wrote nothing). */
  async partBytes(): Promise<number> {
    try {
      return (await stat(this.part)).size;
    } catch {
      return 0;
    }
  }

  async removeFiles(): Promise<void> {
    await rm(this.part, { force: true });
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
    };
  }
}
