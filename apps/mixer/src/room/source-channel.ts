import { FRAME_SAMPLES, msToSamples } from '../dsp/audio-format.js';
import { JitterBuffer, type JitterBufferOptions } from '../dsp/jitter-buffer.js';
import { LevelMeter } from '../dsp/levels.js';
import { applyGainRamp, fadeToSilence } from '../dsp/ramp.js';
import { OpusSourceDecoder } from '../codec/opus-source-decoder.js';
import type { MixerStats } from './mixer-stats.js';

/*
 * One source inside a room's mix: its jitter buffer, its decoder, its level
 * meter and the gain envelope that ramps it in when it starts or resumes and
 * out when it leaves, so that neither clicks.
 */

/** Length of the join/leave/resume ramps and of the concealment fade. */
export const RAMP_MS = 5;

export class SourceChannel {
  private readonly jitter: JitterBuffer;
  private readonly decoder = new OpusSourceDecoder();
  private readonly frame = new Float32Array(FRAME_SAMPLES);
  private readonly rampSamples = msToSamples(RAMP_MS);
  readonly meter = new LevelMeter();
  private decoderReady = false;
  /** The last frame was concealment or silence: the next real one fades in. */
  private silent = true;
  private lastSample = 0;
  private gain = 1;
  private leaving = false;
  private closed = false;
  /** The gain envelope reached zero after `leave()`: the room may drop this channel. */
  finished = false;

  constructor(
    readonly source: string,
    jitterOptions: JitterBufferOptions,
    private readonly stats: MixerStats,
  ) {
    this.jitter = new JitterBuffer(jitterOptions);
    void this.decoder.ready.then(() => {
      this.decoderReady = true;
    });
  }

  get jitterBuffer(): JitterBuffer {
    return this.jitter;
  }

  /** Waits until the decoder can decode (tests and the bench). */
  async ready(): Promise<void> {
    await this.decoder.ready;
    this.decoderReady = true;
  }

  push(seq: number, payload: Uint8Array, captureTimeUs: number, arrivalMs: number): void {
    if (this.closed || this.leaving) return;
    const before = this.jitter.stats.late;
    this.jitter.push(seq, payload, captureTimeUs, arrivalMs);
    if (this.jitter.stats.late !== before) this.stats.late++;
  }

  /** Starts the ramp out; the channel is `finished` after the next render. */
  leave(): void {
    this.leaving = true;
  }

  /**
   * Produces this tick's 20 ms of the source, gain applied, in a buffer that
   * is reused on the next call. Returns the capture time of the packet
   * played, or null when the frame is concealment or silence.
   */
  render(): { frame: Float32Array; captureTimeUs: number | null } {
    const frame = this.frame;
    let captureTimeUs: number | null = null;
    const underrunsBefore = this.jitter.stats.underruns;
    const p = this.decoderReady && !this.leaving ? this.jitter.pop() : ({ kind: 'waiting' } as const);
    if (this.jitter.stats.underruns !== underrunsBefore) this.stats.underruns++;
    let decoded: Float32Array | null = null;
    if (p.kind === 'packet') {
      decoded = this.decoder.decode(p.payload);
      if (decoded === null) this.stats.corrupt++;
      else captureTimeUs = p.captureTimeUs;
    } else if (p.kind === 'lost') {
      this.stats.lost++;
    }
    if (decoded !== null) {
      // A packet of another duration is cut or padded to the mix frame.
      const n = Math.min(decoded.length, FRAME_SAMPLES);
      frame.set(decoded.subarray(0, n));
      frame.fill(0, n);
      if (this.silent) applyGainRamp(frame, 0, 1, this.rampSamples);
      this.silent = false;
      this.lastSample = frame[FRAME_SAMPLES - 1]!;
    } else {
      fadeToSilence(frame, this.lastSample, this.rampSamples);
      this.lastSample = 0;
      this.silent = true;
    }
    if (this.leaving) {
      this.gain = applyGainRamp(frame, this.gain, 0, this.rampSamples);
      this.finished = true;
    }
    this.meter.add(frame);
    return { frame, captureTimeUs };
  }

  /** Frees the decoder; idempotent. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.decoder.close();
  }
}
