import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';

/*
 * libopus's decoder API, reached directly: `opus_decode(st, data, len, pcm,
 * frame_size, decode_fec)` with `data = NULL` for packet-loss concealment and
 * `decode_fec = 1` to rebuild a lost packet from the in-band FEC (LBRR) data
 * that the following packet carries.
 *
 * Neither binding installed here exposes those two calls: `opus-decoder`
 * decodes whole packets only, and `@evan/opus`'s `Decoder.decode(buf)`
 * always passes a packet and `decode_fec = 0`. But `@evan/opus` ships
 * libopus compiled to WebAssembly (`wasm/simd.wasm`, or `wasm/opus.wasm`
 * where SIMD is missing; its package exports every file) whose exports are
 * the plain C API. This module instantiates that build once per process and
 * hands out decoder states inside it; no download, no compiler.
 */

interface LibopusExports {
  memory: WebAssembly.Memory;
  malloc(size: number): number;
  free(ptr: number): void;
  opus_decoder_get_size(channels: number): number;
  opus_decoder_init(st: number, sampleRate: number, channels: number): number;
  opus_decode(st: number, data: number, len: number, pcm: number, frameSize: number, decodeFec: number): number;
  opus_strerror(code: number): number;
  _initialize?: () => void;
}

/** The largest Opus packet (RFC 6716: 1275 bytes per frame, up to 120 ms); bigger input is refused. */
export const MAX_OPUS_PACKET_BYTES = 1275 * 3 + 7;
/** The longest output of one decode call at 48 kHz: 120 ms. */
export const MAX_DECODE_SAMPLES = 5_760;

/** A tiny module that uses one SIMD instruction: `@evan/opus` validates the same bytes to pick its build. */
const SIMD_PROBE = Uint8Array.of(
  0,
  97,
  115,
  109,
  1,
  0,
  0,
  0,
  1,
  4,
  1,
  96,
  0,
  0,
  3,
  2,
  1,
  0,
  10,
  9,
  1,
  7,
  0,
  65,
  0,
  253,
  15,
  26,
  11,
);

let instance: Libopus | null = null;

/** One instantiated libopus: its memory, and one shared packet and sample buffer (decoding is synchronous). */
export class Libopus {
  readonly packetPtr: number;
  readonly pcmPtr: number;

  private constructor(readonly api: LibopusExports) {
    this.packetPtr = api.malloc(MAX_OPUS_PACKET_BYTES);
    this.pcmPtr = api.malloc(MAX_DECODE_SAMPLES * 2 * 2);
  }

  /** The process-wide instance, made on first use. */
  static get(): Libopus {
    if (instance === null) {
      const require = createRequire(import.meta.url);
      const file = WebAssembly.validate(SIMD_PROBE) ? 'simd.wasm' : 'opus.wasm';
      const module = new WebAssembly.Module(readFileSync(require.resolve(`@evan/opus/wasm/${file}`)));
      const noop = (): void => undefined;
      const wasm = new WebAssembly.Instance(module, {
        // The C library was built for WASI but never does I/O or exits in the decoder path.
        wasi_snapshot_preview1: { fd_seek: noop, fd_write: noop, fd_close: noop, proc_exit: noop },
        // Views are made per call from `memory.buffer`, so growth needs no bookkeeping here.
        env: { emscripten_notify_memory_growth: noop },
      });
      const api = wasm.exports as unknown as LibopusExports;
      api._initialize?.();
      instance = new Libopus(api);
    }
    return instance;
  }

  /** libopus's message for an error code. */
  errorText(code: number): string {
    const bytes = new Uint8Array(this.api.memory.buffer);
    let s = '';
    for (let p = this.api.opus_strerror(code); p < bytes.length && bytes[p] !== 0; p++)
      s += String.fromCharCode(bytes[p]!);
    return s;
  }
}

/** A libopus error (a negative return code), with libopus's own code. */
export class LibopusError extends Error {
  readonly code = 'ERR_OPUS_DECODE';
  constructor(
    readonly opusCode: number,
    message: string,
  ) {
    super(`opus: ${message} (${opusCode})`);
    this.name = 'LibopusError';
  }
}

/**
 * One mono or stereo libopus decoder state. Every call returns a fresh
 * Int16Array (interleaved when stereo) or throws a LibopusError.
 */
export class LibopusDecoder {
  private readonly lib = Libopus.get();
  private state: number;

  constructor(
    readonly sampleRate: 8_000 | 12_000 | 16_000 | 24_000 | 48_000,
    readonly channels: 1 | 2,
  ) {
    const api = this.lib.api;
    this.state = api.malloc(api.opus_decoder_get_size(channels));
    const rc = api.opus_decoder_init(this.state, sampleRate, channels);
    if (rc < 0) {
      api.free(this.state);
      this.state = 0;
      throw new LibopusError(rc, this.lib.errorText(rc));
    }
  }

  get closed(): boolean {
    return this.state === 0;
  }

  /** Decodes one packet. */
  decode(packet: Uint8Array): Int16Array {
    return this.run(packet, MAX_DECODE_SAMPLES, false);
  }

  /** Rebuilds `samples` of a lost packet from the FEC data in `next`, the packet after it (plain PLC when it has none). */
  decodeFec(next: Uint8Array, samples: number): Int16Array {
    return this.run(next, samples, true);
  }

  /** Packet-loss concealment: `samples` of audio extrapolated from what was decoded before. */
  conceal(samples: number): Int16Array {
    return this.run(null, samples, false);
  }

  /** Frees the state inside the shared WebAssembly memory; idempotent. */
  close(): void {
    if (this.state !== 0) this.lib.api.free(this.state);
    this.state = 0;
  }

  private run(packet: Uint8Array | null, frameSize: number, fec: boolean): Int16Array {
    if (this.state === 0) throw new LibopusError(-7, 'decoder closed');
    const { api, packetPtr, pcmPtr } = this.lib;
    if (packet !== null) {
      if (packet.length === 0 || packet.length > MAX_OPUS_PACKET_BYTES)
        throw new LibopusError(-4, 'invalid packet size');
      new Uint8Array(api.memory.buffer, packetPtr, packet.length).set(packet);
    }
    const n = api.opus_decode(
      this.state,
      packet === null ? 0 : packetPtr,
      packet === null ? 0 : packet.length,
      pcmPtr,
      Math.min(frameSize, MAX_DECODE_SAMPLES),
      fec ? 1 : 0,
    );
    if (n < 0) throw new LibopusError(n, this.lib.errorText(n));
    return new Int16Array(api.memory.buffer, pcmPtr, n * this.channels).slice();
  }
}
