import type { MixedAudioEnvelope } from '@vidchat/protocol';
import { OpusDecoder } from 'opus-decoder';
import { PROCESSOR_NAME, WORKLET_URL } from './audio-worklet-name.js';
import { DEFAULT_JITTER, type JitterBufferOptions, type JitterStats } from './jitter-buffer.js';

/** The mixer's output rate; the decoder and the AudioContext both run at it. */
export const PLAYBACK_SAMPLE_RATE = 48_000;

export interface AudioSnapshot {
  enabled: boolean;
  packetsReceived: number;
  packetsDecoded: number;
  decodeErrors: number;
  underruns: number;
  droppedSamples: number;
  bufferedMs: number;
}

/**
 * Plays the room's mixed audio: Opus packets → opus-decoder (wasm, works on
 * plain-HTTP origins) → an AudioWorklet with a jitter buffer. It starts only
 * from a user gesture, as browsers' autoplay policy requires; until then
 * packets are counted and ignored.
 */
export class AudioPlayer {
  private ctx: AudioContext | null = null;
  private node: AudioWorkletNode | null = null;
  private decoder: OpusDecoder | null = null;
  private starting: Promise<void> | null = null;
  private packetsReceived = 0;
  private packetsDecoded = 0;
  private decodeErrors = 0;
  private worklet: JitterStats = { underruns: 0, droppedSamples: 0, buffered: 0 };

  constructor(private readonly jitter: JitterBufferOptions = DEFAULT_JITTER) {}

  get enabled(): boolean {
    return this.node !== null;
  }

  /** Must run inside a click handler: the AudioContext is created there. */
  enable(): Promise<void> {
    if (!this.starting) {
      const ctx = new AudioContext({ sampleRate: PLAYBACK_SAMPLE_RATE, latencyHint: 'interactive' });
      this.ctx = ctx;
      this.starting = this.start(ctx).catch((err: unknown) => {
        this.starting = null;
        this.ctx = null;
        void ctx.close();
        throw err;
      });
    }
    return this.starting;
  }

  async setMuted(muted: boolean): Promise<void> {
    if (!this.ctx) return;
    if (muted) await this.ctx.suspend();
    else await this.ctx.resume();
  }

  push(env: MixedAudioEnvelope): void {
    this.packetsReceived++;
    const decoder = this.decoder;
    const node = this.node;
    // opus-decoder turns an empty packet into 120 ms of concealment noise.
    if (!decoder || !node || env.payload.length === 0) return;
    const out = decoder.decodeFrame(env.payload);
    if (out.errors.length > 0 || out.samplesDecoded === 0) {
      this.decodeErrors++;
      return;
    }
    this.packetsDecoded++;
    const mono = out.channelData[0];
    if (!mono) return;
    // Copy: the decoder reuses its output memory between calls.
    const samples = mono.slice(0, out.samplesDecoded);
    node.port.postMessage(samples, [samples.buffer]);
  }

  snapshot(): AudioSnapshot {
    return {
      enabled: this.enabled,
      packetsReceived: this.packetsReceived,
      packetsDecoded: this.packetsDecoded,
      decodeErrors: this.decodeErrors,
      underruns: this.worklet.underruns,
      droppedSamples: this.worklet.droppedSamples,
      bufferedMs: (this.worklet.buffered / PLAYBACK_SAMPLE_RATE) * 1000,
    };
  }

  private async start(ctx: AudioContext): Promise<void> {
    const decoder = new OpusDecoder({ channels: 1 });
    await Promise.all([decoder.ready, ctx.audioWorklet.addModule(WORKLET_URL)]);
    const node = new AudioWorkletNode(ctx, PROCESSOR_NAME, {
      numberOfInputs: 0,
      numberOfOutputs: 1,
      outputChannelCount: [1],
      processorOptions: this.jitter,
    });
    node.port.onmessage = (ev: MessageEvent<JitterStats>) => {
      this.worklet = ev.data;
    };
    node.connect(ctx.destination);
    await ctx.resume();
    this.decoder = decoder;
    this.node = node;
  }
}
