import { FRAME_MS, FRAME_SAMPLES, msToSamples } from '../dsp/audio-format.js';
import { JitterBuffer, type JitterBufferOptions } from '../dsp/jitter-buffer.js';
import { LevelMeter } from '../dsp/levels.js';
import { applyGainRamp, fadeToSilence } from '../dsp/ramp.js';
import { OpusSourceDecoder } from '../codec/opus-source-decoder.js';
import type { MixerStats } from './mixer-stats.js';

/*
 * One source inside a room's mix: its jitter buffer, its decoder, its level
 * meter and the gain envelope that ramps it in when it starts or resumes and
 * out when it leaves, so that neither clicks. A lost packet is rebuilt from
 * the next packet's in-band FEC when that one has arrived, otherwise
 * concealed by libopus, for up to MAX_CONCEAL_MS; after that it fades.
 */

/** Length of the join/leave/resume ramps and of the fade when nothing can be concealed. */
export const RAMP_MS = 5;

/**
 * Longest run of packet-loss concealment, ms. libopus extrapolates the last
 * sound convincingly for a few frames (a lost packet or two at 10% loss is
 * inaudible), but a longer outage is a source that stopped: its
 * concealment fades out over the last frame allowed, and the channel is
 * silent until packets come back. Frames rebuilt from FEC do not count.
 */
export const MAX_CONCEAL_MS = 100;
const MAX_CONCEALED_FRAMES = Math.max(1, Math.round(MAX_CONCEAL_MS / FRAME_MS));
/** Across a loss, frames are held at least at this fraction of the RMS before it… */
export const CONCEAL_LEVEL = 0.7;
/** …boosting by at most this factor (12 dB)… */
export const MAX_CONCEAL_GAIN = 4;
/** …until this many frames after the last concealed one (libopus takes about that long to come back up). */
export const HOLD_FRAMES = 4;

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
  /** Consecutive frames made by concealment (not FEC) since the last real packet. */
  private concealedRun = 0;
  /** Gain applied to hold the level across a loss; 1 outside that window. */
  private holdGain = 1;
  /** Frames left in the level-hold window after the last concealed frame. */
  private holdFrames = 0;
  /** RMS of the last frame played before the current loss. */
  private levelBeforeLoss = 0;
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
    // A gap in audio that was playing: a lost or corrupt packet, or an
    // underrun. Before the first packet, after a fade, or while leaving,
    // there is nothing to continue.
    const gap = decoded === null && !this.silent && !this.leaving;
    if (decoded !== null) {
      // A packet of another duration is cut or padded to the mix frame.
      this.put(decoded);
      if (this.silent) {
        applyGainRamp(frame, 0, 1, this.rampSamples);
        this.holdFrames = 0;
        this.holdGain = 1;
      }
      this.holdLevel(false);
      this.silent = false;
      this.concealedRun = 0;
    } else if (
      gap &&
      this.concealedRun < MAX_CONCEALED_FRAMES &&
      this.recover(p.kind === 'lost' ? p.next : undefined)
    ) {
      // Recovered or concealed: the frame holds real or extrapolated audio.
    } else {
      fadeToSilence(frame, this.lastSample, this.rampSamples);
      this.silent = true;
    }
    this.lastSample = frame[FRAME_SAMPLES - 1]!;
    if (this.leaving) {
      this.gain = applyGainRamp(frame, this.gain, 0, this.rampSamples);
      this.finished = true;
    }
    this.meter.add(frame);
    return { frame, captureTimeUs };
  }

  /**
   * Fills the frame for a missing packet: from the next packet's FEC data
   * when it is held and carries some, else with libopus's concealment. The
   * last frame of concealment allowed fades out over its whole length, so a
   * long outage ends in silence without a click. False when nothing could be
   * made (the caller fades from the last sample instead).
   */
  private recover(next: Uint8Array | undefined): boolean {
    const r = this.decoder.recover(next);
    if (r === null) return false;
    this.put(r.samples);
    if (r.origin === 'fec') {
      // FEC is the lost packet itself, coarser: it does not use up the concealment budget.
      this.stats.fecRecovered++;
      this.concealedRun = 0;
      this.holdLevel(true);
      return true;
    }
    this.stats.concealed++;
    this.concealedRun++;
    this.holdLevel(true);
    if (this.concealedRun === MAX_CONCEALED_FRAMES) {
      applyGainRamp(this.frame, 1, 0, FRAME_SAMPLES);
      this.holdGain = 1;
      this.holdFrames = 0;
      this.silent = true;
    }
    return true;
  }

  /**
   * Holds the level across a loss. libopus attenuates each further frame of
   * concealment, and after a loss it brings the next decoded frames back up
   * gently from the concealment's level (SILK's "glue" frames), so two or
   * three losses in a row, common at 10% loss, dip audibly for up to 80 ms.
   * From the first concealed frame until HOLD_FRAMES frames after the last
   * one, each frame is raised to at least CONCEAL_LEVEL of the level of the
   * last frame before the loss, by at most MAX_CONCEAL_GAIN, the gain ramped
   * from frame to frame so that it never steps. Outside that window the
   * gain returns to unity and the reference follows the signal.
   */
  private holdLevel(concealed: boolean): void {
    if (concealed) this.holdFrames = HOLD_FRAMES + 1;
    let target = 1;
    if (this.holdFrames > 0) {
      this.holdFrames--;
      const level = rms(this.frame);
      const wanted = level > 0 ? (CONCEAL_LEVEL * this.levelBeforeLoss) / level : 1;
      target = Math.min(MAX_CONCEAL_GAIN, Math.max(1, wanted));
    }
    if (target !== 1 || this.holdGain !== 1) {
      this.holdGain = applyGainRamp(this.frame, this.holdGain, target, this.rampSamples);
    }
    if (!concealed && this.holdFrames === 0) this.levelBeforeLoss = rms(this.frame);
  }

  private put(samples: Float32Array): void {
    const n = Math.min(samples.length, FRAME_SAMPLES);
    this.frame.set(samples.subarray(0, n));
    this.frame.fill(0, n);
  }

  /** Frees the decoder; idempotent. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.decoder.close();
  }
}

function rms(frame: Float32Array): number {
  let s = 0;
  for (let i = 0; i < frame.length; i++) s += frame[i]! * frame[i]!;
  return Math.sqrt(s / frame.length);
}
