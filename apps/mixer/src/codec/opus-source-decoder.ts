import { OpusDecoder } from 'opus-decoder';

/*
 * One source's Opus decoder (opus-decoder, wasm), 48 kHz mono out. It never
 * passes an empty packet to the decoder, which would answer with 120 ms of
 * concealment and shift the stream; loss is concealed by the caller instead.
 * A corrupt packet gives 0 samples and an error from opus-decoder rather
 * than a throw; both are reported as null.
 */
/**
 * opus-decoder writes every corrupt packet to `console.error` itself. Anyone
 * who can publish on a room's audio subject could then flood the mixer's
 * stderr, and our rule is that garbage is counted and logged at debug by the
 * caller. The decode is synchronous, so silencing the console around it
 * cannot swallow anybody else's output.
 */
function quietly<T>(fn: () => T): T {
  const original = console.error;
  console.error = () => undefined;
  try {
    return fn();
  } finally {
    console.error = original;
  }
}

export class OpusSourceDecoder {
  private decoder: OpusDecoder<48000> | null;
  readonly ready: Promise<void>;

  constructor() {
    this.decoder = new OpusDecoder({ channels: 1, sampleRate: 48000 });
    this.ready = this.decoder.ready;
  }

  /** Decoded mono samples, or null for an empty or corrupt packet. */
  decode(packet: Uint8Array): Float32Array | null {
    if (this.decoder === null || packet.length === 0) return null;
    const out = quietly(() => this.decoder!.decodeFrame(packet));
    const samples = out.channelData[0];
    if (out.errors.length > 0 || out.samplesDecoded === 0 || samples === undefined) return null;
    return samples.subarray(0, out.samplesDecoded);
  }

  /** Frees the wasm memory; idempotent. */
  close(): void {
    this.decoder?.free();
    this.decoder = null;
  }
}
