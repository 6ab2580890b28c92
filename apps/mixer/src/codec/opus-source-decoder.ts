import { FRAME_SAMPLES, SAMPLE_RATE } from '../dsp/audio-format.js';
import { LibopusDecoder } from './libopus-wasm.js';
import { opusPacketHasFec } from './opus-fec.js';

/*
 * One source's Opus decoder, 48 kHz mono float out, on libopus itself (the
 * WebAssembly build inside @evan/opus, see libopus-wasm.ts), because a lost
 * packet needs the two calls the other bindings here hide: FEC recovery from
 * the next packet, and packet-loss concealment.
 *
 * A corrupt packet is reported as null, never thrown: anyone who can publish
 * on a room's audio subject can send garbage, and the caller counts it.
 */

/** What filled a frame: a packet, its FEC copy in the next packet, or concealment. */
export type DecodeOrigin = 'packet' | 'fec' | 'plc';

export class OpusSourceDecoder {
  private decoder: LibopusDecoder | null = new LibopusDecoder(SAMPLE_RATE, 1);
  /** Kept for callers written against the asynchronous wasm decoder; this one is ready at once. */
  readonly ready: Promise<void> = Promise.resolve();

  /** Decoded mono samples, or null for an empty or corrupt packet. */
  decode(packet: Uint8Array): Float32Array | null {
    if (this.decoder === null || packet.length === 0) return null;
    try {
      return toFloat(this.decoder.decode(packet));
    } catch {
      return null;
    }
  }

  /**
   * Audio for a lost packet of `samples`: rebuilt from `next`'s FEC data when
   * the next packet is at hand and carries it, else concealed by libopus.
   * Null only once closed or when libopus refuses (never seen in practice).
   */
  recover(
    next: Uint8Array | undefined,
    samples: number = FRAME_SAMPLES,
  ): { samples: Float32Array; origin: Exclude<DecodeOrigin, 'packet'> } | null {
    if (this.decoder === null) return null;
    try {
      if (next !== undefined && next.length > 0 && opusPacketHasFec(next)) {
        return { samples: toFloat(this.decoder.decodeFec(next, samples)), origin: 'fec' };
      }
      return { samples: toFloat(this.decoder.conceal(samples)), origin: 'plc' };
    } catch {
      return null;
    }
  }

  /** Frees the decoder state; idempotent. */
  close(): void {
    this.decoder?.close();
    this.decoder = null;
  }
}

function toFloat(pcm: Int16Array): Float32Array {
  const out = new Float32Array(pcm.length);
  for (let i = 0; i < pcm.length; i++) out[i] = pcm[i]! / 32_768;
  return out;
}
