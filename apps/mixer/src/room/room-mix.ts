import {
  encodeEnvelope,
  encodeLevelsEnvelope,
  MAX_LEVEL_SOURCES,
  type LevelsMessage,
  type MixedAudioEnvelope,
} from '@vidchat/protocol';
import { CHANNELS, FRAME_SAMPLES, FRAME_US, SAMPLE_RATE } from '../dsp/audio-format.js';
import type { JitterBufferOptions } from '../dsp/jitter-buffer.js';
import { roundDb } from '../dsp/levels.js';
import { limitInPlace } from '../dsp/limiter.js';
import { addInto, floatToInt16 } from '../dsp/mix.js';
import { SpeakerDetector } from '../dsp/speaker-detector.js';
import { createMixEncoder, type MixEncoder } from '../codec/opus-encoder.js';
import type { MixerStats } from './mixer-stats.js';
import { SourceChannel } from './source-channel.js';

/*
 * One room's mix, free of I/O: sources in (Opus packets), one mixed Opus
 * envelope out per 20 ms tick, and a levels envelope every `levelsEveryTicks`
 * ticks. The service owns the NATS side and the clock; the bench drives this
 * class directly.
 *
 * The capture time of a mixed packet is the newest capture time among the
 * source packets mixed into it (the tick's wall time when every source was
 * silent or concealed), so a receiver can measure capture-to-mix latency.
 */
export interface RoomMixOptions {
  jitter: JitterBufferOptions;
  /** Levels are published every this many mix ticks (5 ticks = 100 ms = 10 Hz). */
  levelsEveryTicks: number;
  /** Sources mixed at most; more are refused and counted. */
  maxSources: number;
  bitrate: number;
}

export interface TickOutput {
  /** The mixedAudio envelope of this tick. */
  audio: Uint8Array;
  /** A levels envelope, on every `levelsEveryTicks`-th tick. */
  levels: Uint8Array | null;
}

export class RoomMix {
  private readonly channels = new Map<string, SourceChannel>();
  private readonly encoder: MixEncoder;
  private readonly detector = new SpeakerDetector();
  private readonly acc = new Float32Array(FRAME_SAMPLES);
  private readonly pcm = new Int16Array(FRAME_SAMPLES);
  private audioSeq = 0;
  private levelsSeq = 0;
  private ticks = 0;
  private closed = false;

  constructor(
    readonly room: string,
    private readonly opts: RoomMixOptions,
    private readonly stats: MixerStats,
  ) {
    this.encoder = createMixEncoder(opts.bitrate);
  }

  /** Sources currently mixed (including ones ramping out). */
  get sources(): string[] {
    return [...this.channels.keys()];
  }

  get sourceCount(): number {
    return this.channels.size;
  }

  has(source: string): boolean {
    const ch = this.channels.get(source);
    return ch !== undefined && !ch.finished;
  }

  channel(source: string): SourceChannel | undefined {
    return this.channels.get(source);
  }

  /** Adds a source; false when the room is full. A source that is ramping out is replaced. */
  addSource(source: string): boolean {
    const existing = this.channels.get(source);
    if (existing !== undefined) {
      existing.close();
      this.channels.delete(source);
    }
    if (this.channels.size >= Math.min(this.opts.maxSources, MAX_LEVEL_SOURCES)) {
      this.stats.overLimit++;
      return false;
    }
    this.channels.set(source, new SourceChannel(source, this.opts.jitter, this.stats));
    return true;
  }

  /** Ramps a source out over the next tick, then frees it. */
  removeSource(source: string): void {
    this.channels.get(source)?.leave();
  }

  /** Offers one source packet; false when the source is not in the mix. */
  push(source: string, seq: number, payload: Uint8Array, captureTimeUs: number, arrivalMs: number): boolean {
    const ch = this.channels.get(source);
    if (ch === undefined || ch.finished) return false;
    ch.push(seq, payload, captureTimeUs, arrivalMs);
    return true;
  }

  /** Mixes one 20 ms frame at wall time `nowMs`. */
  tick(nowMs: number): TickOutput {
    if (this.closed) throw new Error(`room ${this.room} is closed`);
    const acc = this.acc;
    acc.fill(0);
    let newestCaptureUs = -1;
    for (const [source, ch] of this.channels) {
      const { frame, captureTimeUs } = ch.render();
      addInto(acc, frame);
      if (captureTimeUs !== null && captureTimeUs > newestCaptureUs) newestCaptureUs = captureTimeUs;
      if (ch.finished) {
        ch.close();
        this.channels.delete(source);
      }
    }
    limitInPlace(acc);
    floatToInt16(acc, this.pcm);
    const t0 = performance.now();
    const packet = this.encoder.encode(this.pcm);
    const encodeUs = (performance.now() - t0) * 1_000;
    this.stats.encodeTimeUsTotal += encodeUs;
    if (encodeUs > this.stats.encodeTimeUsMax) this.stats.encodeTimeUsMax = encodeUs;

    const env: MixedAudioEnvelope = {
      kind: 'mixedAudio',
      source: '',
      seq: this.audioSeq,
      captureTimeUs: newestCaptureUs >= 0 ? newestCaptureUs : Math.round(nowMs * 1_000),
      codec: 'opus',
      sampleRate: SAMPLE_RATE,
      channels: CHANNELS,
      durationUs: FRAME_US,
      payload: packet,
    };
    this.audioSeq = (this.audioSeq + 1) >>> 0;
    const audio = encodeEnvelope(env);
    this.stats.packetsOut++;

    this.ticks++;
    let levels: Uint8Array | null = null;
    if (this.ticks % this.opts.levelsEveryTicks === 0) {
      levels = encodeLevelsEnvelope(this.levels(nowMs), this.levelsSeq, Math.round(nowMs * 1_000));
      this.levelsSeq = (this.levelsSeq + 1) >>> 0;
      this.stats.levelsOut++;
    }
    return { audio, levels };
  }

  private levels(nowMs: number): LevelsMessage {
    const sources: LevelsMessage['sources'] = [];
    const rms = new Map<string, number>();
    for (const [source, ch] of this.channels) {
      const { dbfs, peakDbfs } = ch.meter.take();
      sources.push({ source, dbfs: roundDb(dbfs), peakDbfs: roundDb(peakDbfs) });
      rms.set(source, dbfs);
    }
    return { room: this.room, sources, active: this.detector.update(rms, nowMs) };
  }

  /** Frees every decoder and the encoder; idempotent. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const ch of this.channels.values()) ch.close();
    this.channels.clear();
    this.encoder.close();
  }
}
