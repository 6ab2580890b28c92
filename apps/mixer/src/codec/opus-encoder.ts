import { Encoder } from '@evan/opus';
import { FRAME_SAMPLES, SAMPLE_RATE } from '../dsp/audio-format.js';

/*
 * The mix encoder, behind one small interface so that the library can be
 * swapped without touching the mixer.
 *
 * Why @evan/opus: measured on this 2-core machine, in the same run each time
 * (bench/mixer.bench.mjs, "encoders"; 20 ms mono 48 kHz frames), @evan/opus
 * encoded 23,600 / 14,100 / 9,200 frames/s where opusscript encoded 13,100 /
 * 3,200 / 4,600 (three runs on a machine shared with other builds): 1.8 to
 * 4.5 times faster, every time. @evan/opus
 * ships a prebuilt native libopus for linux-x64 inside the package (it falls
 * back to its own wasm build elsewhere), so it installs without a compiler
 * and without a download, like opusscript, and costs about half the CPU per
 * room. Each encode returns a fresh buffer, which matters because the NATS
 * client keeps a reference to a published buffer until its next flush.
 */
export const DEFAULT_MIX_BITRATE = 48_000;

export interface MixEncoder {
  /** Encodes one 20 ms frame of 48 kHz mono int16 samples into one Opus packet. */
  encode(pcm: Int16Array): Uint8Array;
  close(): void;
}

export class EncoderClosedError extends Error {
  readonly code = 'ERR_ENCODER_CLOSED';
  constructor() {
    super('the mix encoder is closed');
    this.name = 'EncoderClosedError';
  }
}

/** The loss the mix's in-band FEC is sized for, in percent (libopus spends more bits on FEC for more). */
export const MIX_EXPECTED_LOSS_PERCENT = 10;

export function createMixEncoder(bitrate: number = DEFAULT_MIX_BITRATE): MixEncoder {
  let enc: Encoder | null = new Encoder({ channels: 1, sample_rate: SAMPLE_RATE, application: 'voip' });
  enc.bitrate = bitrate;
  enc.expert_frame_duration = 20;
  // In-band FEC, as the agents send: a viewer that loses a mix packet rebuilds it from the next one (apps/web/src/audio-concealment.ts).
  enc.inband_fec = true;
  enc.packet_loss = MIX_EXPECTED_LOSS_PERCENT;
  return {
    encode(pcm) {
      if (enc === null) throw new EncoderClosedError();
      if (pcm.length !== FRAME_SAMPLES) throw new RangeError(`expected ${FRAME_SAMPLES} samples, got ${pcm.length}`);
      return enc.encode(pcm);
    },
    close() {
      // The native encoder is freed by the garbage collector; dropping the
      // reference is all that closing can do here.
      enc = null;
    },
  };
}
