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
import { MixBus } from '../dsp/mix-bus.js';
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
 *
 * Listeners (sources whose presence says `listens`) each get a mix-minus:
 * the same tick's sum without their own frame, limited and encoded by an
 * encoder of their own, with their own sequence numbers. A listener is
 * independent of the sources mixed: one without a microphone hears the full
 * mix. Sources that do not listen cost nothing more than their decode.
 */
export interface RoomMixOptions {
  jitter: JitterBufferOptions;
  /** Levels are published every this many mix ticks (5 ticks = 100 ms = 10 Hz). */
  levelsEveryTicks: number;
  /** Sources mixed at most; more are refused and counted. */
  maxSources: number;
  /** Listeners (mix-minus streams, one Opus encoder each) at most; more are refused and counted. */
  maxListeners: number;
  bitrate: number;
}

/** One listener's mix-minus of one tick. */
export interface MinusOutput {
  /** The listener: the stream goes to `mixMinusSubject(room, source)`. */
  source: string;
  /** The mixedAudio envelope. */
  audio: Uint8Array;
}

/** One listener's encoder and sequence numbers. */
interface MinusStream {
  encoder: MixEncoder;
  seq: number;
}

export interface TickOutput {
  /** The mixedAudio envelope of this tick. */
  audio: Uint8Array;
  /** A levels envelope, on every `levelsEveryTicks`-th tick. */
  levels: Uint8Array | null;
  /** One mix-minus per listener, in the order listeners were added. */
  minus: MinusOutput[];
}

export class RoomMix {
  private readonly channels = new Map<string, SourceChannel>();
  private readonly listeners = new Map<string, MinusStream>();
  private readonly encoder: MixEncoder;
  private readonly detector = new SpeakerDetector();
  private readonly bus = new MixBus(FRAME_SAMPLES);
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

  /** Sequence number of the next room-mix packet (stored with the room's lease). */
  get nextSeq(): number {
    return this.audioSeq;
  }

  /** Continues the room mix's sequence numbers from another mixer's (a lease takeover). */
  continueFrom(seq: number): void {
    this.audioSeq = seq >>> 0;
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

  /** Listeners that get a mix-minus. */
  get listenerIds(): string[] {
    return [...this.listeners.keys()];
  }

  get listenerCount(): number {
    return this.listeners.size;
  }

  hasListener(source: string): boolean {
    return this.listeners.has(source);
  }

  /** Starts a mix-minus for `source` (idempotent); false when the room has `maxListeners` already. */
  addListener(source: string): boolean {
    if (this.closed) return false;
    if (this.listeners.has(source)) return true;
    if (this.listeners.size >= this.opts.maxListeners) {
      this.stats.overLimit++;
      return false;
    }
    this.listeners.set(source, { encoder: createMixEncoder(this.opts.bitrate), seq: 0 });
    return true;
  }

  /** Stops the mix-minus of `source` and frees its encoder; idempotent. */
  removeListener(source: string): void {
    this.listeners.get(source)?.encoder.close();
    this.listeners.delete(source);
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

  /** Mixes one 20 ms frame at wall time `nowMs`: the room mix and every listener's mix-minus. */
  tick(nowMs: number): TickOutput {
    if (this.closed) throw new Error(`room ${this.room} is closed`);
    const bus = this.bus;
    bus.begin();
    // The newest capture time, and the source it came from, and the newest of
    // every other source: a listener's mix-minus does not carry its own audio,
    // so it is stamped with the newest capture time of the others.
    let newestUs = -1;
    let newestSource: string | null = null;
    let secondUs = -1;
    for (const [source, ch] of this.channels) {
      const { frame, captureTimeUs } = ch.render();
      // The frame stays valid after close(): the channel only frees its decoder.
      bus.add(source, frame);
      if (captureTimeUs !== null) {
        if (captureTimeUs > newestUs) {
          secondUs = newestUs;
          newestUs = captureTimeUs;
          newestSource = source;
        } else if (captureTimeUs > secondUs) {
          secondUs = captureTimeUs;
        }
      }
      if (ch.finished) {
        ch.close();
        this.channels.delete(source);
      }
    }
    const nowUs = Math.round(nowMs * 1_000);

    const minus: MinusOutput[] = [];
    for (const [source, stream] of this.listeners) {
      const captureUs = source === newestSource ? secondUs : newestUs;
      const audio = this.encodeMixed(stream.encoder, bus.minus(source), stream.seq, captureUs >= 0 ? captureUs : nowUs);
      stream.seq = (stream.seq + 1) >>> 0;
      minus.push({ source, audio });
      this.stats.minusOut++;
    }

    const audio = this.encodeMixed(this.encoder, bus.mix(), this.audioSeq, newestUs >= 0 ? newestUs : nowUs);
    this.audioSeq = (this.audioSeq + 1) >>> 0;
    this.stats.packetsOut++;

    this.ticks++;
    let levels: Uint8Array | null = null;
    if (this.ticks % this.opts.levelsEveryTicks === 0) {
      levels = encodeLevelsEnvelope(this.levels(nowMs), this.levelsSeq, nowUs);
      this.levelsSeq = (this.levelsSeq + 1) >>> 0;
      this.stats.levelsOut++;
    }
    return { audio, levels, minus };
  }

  /** Encodes one limited int16 frame into a mixedAudio envelope, timing the encode. */
  private encodeMixed(encoder: MixEncoder, pcm: Int16Array, seq: number, captureTimeUs: number): Uint8Array {
    const t0 = performance.now();
    const packet = encoder.encode(pcm);
    const encodeUs = (performance.now() - t0) * 1_000;
    this.stats.encodes++;
    this.stats.encodeTimeUsTotal += encodeUs;
    if (encodeUs > this.stats.encodeTimeUsMax) this.stats.encodeTimeUsMax = encodeUs;
    const env: MixedAudioEnvelope = {
      kind: 'mixedAudio',
      source: '',
      seq,
      captureTimeUs,
      codec: 'opus',
      sampleRate: SAMPLE_RATE,
      channels: CHANNELS,
      durationUs: FRAME_US,
      payload: packet,
    };
    return encodeEnvelope(env);
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

  /** Frees every decoder and every encoder; idempotent. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const ch of this.channels.values()) ch.close();
    this.channels.clear();
    for (const source of [...this.listeners.keys()]) this.removeListener(source);
    this.encoder.close();
  }
}
