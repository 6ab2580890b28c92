import { opusPacketHasFec } from '@vidchat/protocol';

/*
 * libopus in the page: the WebAssembly build that `@evan/opus` ships (the
 * same one the mixer decodes with, see apps/mixer/src/codec/libopus-wasm.ts),
 * reached through its plain C API, because a lost packet needs the two calls
 * other browser decoders hide: `opus_decode(st, NULL, …)` (packet-loss
 * concealment) and `decode_fec = 1` (rebuild a lost packet from the in-band
 * FEC data the next packet carries). WebCodecs' AudioDecoder has neither and
 * exists only in secure contexts; this runs on every origin (plain-http LAN
 * addresses too): the page's CSP allows compiling wasm ('wasm-unsafe-eval').
 *
 * The build copies `simd.wasm` and `opus.wasm` to dist/public/opus/; the
 * page fetches the one the browser can run. No DOM here: Node tests load the
 * same bytes from node_modules.
 */

interface LibopusExports {
  memory: WebAssembly.Memory;
  malloc(size: number): number;
  free(ptr: number): void;
  opus_decoder_get_size(channels: number): number;
  opus_decoder_init(st: number, sampleRate: number, channels: number): number;
  opus_decode(st: number, data: number, len: number, pcm: number, frameSize: number, decodeFec: number): number;
  _initialize?: () => void;
}

/** The largest Opus packet (RFC 6716: 1275 bytes per frame, up to 120 ms); bigger input is refused. */
export const MAX_OPUS_PACKET_BYTES = 1275 * 3 + 7;
/** The longest output of one decode call at 48 kHz: 120 ms. */
export const MAX_DECODE_SAMPLES = 5_760;

/** A tiny module that uses one SIMD instruction: `@evan/opus` validates the same bytes to pick its build. */
const SIMD_PROBE = Uint8Array.of(
  ...[0, 97, 115, 109, 1, 0, 0, 0, 1, 4, 1, 96, 0, 0, 3, 2, 1, 0, 10, 9, 1, 7, 0, 65, 0, 253, 15, 26, 11],
);

/** Which of the two builds this engine runs: the SIMD one where WebAssembly SIMD validates. */
export function libopusBuild(): 'simd.wasm' | 'opus.wasm' {
  return WebAssembly.validate(SIMD_PROBE) ? 'simd.wasm' : 'opus.wasm';
}

/** One instantiated libopus: its memory, and one packet and sample buffer shared by its decoders (decoding is synchronous). */
export class Libopus {
  private readonly packetPtr: number;
  private readonly pcmPtr: number;

  private constructor(private readonly api: LibopusExports) {
    this.packetPtr = api.malloc(MAX_OPUS_PACKET_BYTES);
    this.pcmPtr = api.malloc(MAX_DECODE_SAMPLES * 2 * 4);
  }

  /** Compiles and instantiates `bytes` (the contents of the file `libopusBuild()` names). */
  static async load(bytes: BufferSource): Promise<Libopus> {
    const module = await WebAssembly.compile(bytes);
    const noop = (): void => undefined;
    const instance = await WebAssembly.instantiate(module, {
      // Built for WASI, but the decoder path never does I/O or exits.
      wasi_snapshot_preview1: { fd_seek: noop, fd_write: noop, fd_close: noop, proc_exit: noop },
      // Views are made per call from `memory.buffer`, so growth needs no bookkeeping here.
      env: { emscripten_notify_memory_growth: noop },
    });
    const api = instance.exports as unknown as LibopusExports;
    api._initialize?.();
    return new Libopus(api);
  }

  /** A decoder state inside this instance: mono at 48 kHz unless told otherwise. */
  decoder(sampleRate: 8_000 | 12_000 | 16_000 | 24_000 | 48_000 = 48_000): OpusPacketDecoder {
    const api = this.api;
    const state = api.malloc(api.opus_decoder_get_size(1));
    if (api.opus_decoder_init(state, sampleRate, 1) < 0) {
      api.free(state);
      throw new Error('opus: decoder init failed');
    }
    return new LibopusStream(this, state);
  }

  /** Runs `opus_decode`; float samples out, or null on a libopus error. */
  run(state: number, packet: Uint8Array | null, frameSize: number, fec: boolean): Float32Array | null {
    const api = this.api;
    if (packet !== null) {
      if (packet.length === 0 || packet.length > MAX_OPUS_PACKET_BYTES) return null;
      new Uint8Array(api.memory.buffer, this.packetPtr, packet.length).set(packet);
    }
    const n = api.opus_decode(
      state,
      packet === null ? 0 : this.packetPtr,
      packet === null ? 0 : packet.length,
      this.pcmPtr,
      Math.min(frameSize, MAX_DECODE_SAMPLES),
      fec ? 1 : 0,
    );
    if (n < 0) return null;
    const pcm = new Int16Array(api.memory.buffer, this.pcmPtr, n);
    const out = new Float32Array(n);
    for (let i = 0; i < n; i++) out[i] = pcm[i]! / 32_768;
    return out;
  }

  release(state: number): void {
    this.api.free(state);
  }
}

/** Where the build puts libopus's two WebAssembly builds, next to app.js. */
const LIBOPUS_DIR = 'opus/';

let shared: Promise<Libopus> | null = null;
/**
 * The page's libopus: fetches and instantiates the build this browser runs,
 * once per page (every stream's decoder lives in it); a failed load is tried
 * again on the next call.
 */
export function fetchLibopus(): Promise<Libopus> {
  shared ??= fetch(LIBOPUS_DIR + libopusBuild())
    .then((res) => {
      if (!res.ok) throw new Error(`the audio decoder did not load (HTTP ${res.status})`);
      return res.arrayBuffer();
    })
    .then((bytes) => Libopus.load(bytes))
    .catch((err: unknown) => {
      shared = null;
      throw err;
    });
  return shared;
}

/**
 * What a lost packet's place was filled with: its copy in the next packet's
 * FEC data, or the decoder's concealment.
 */
export type RecoveryOrigin = 'fec' | 'plc';

/**
 * One Opus stream's decoder, mono float out: the small interface the
 * player's loss handling (audio-concealment.ts) is written against, one per
 * stream (the mix, or one source). Never throws on bad input: a corrupt
 * packet is null, and the caller counts it.
 */
export interface OpusPacketDecoder {
  /** The packet's samples, or null when it is empty or does not decode. */
  decode(packet: Uint8Array): Float32Array | null;
  /**
   * `samples` of audio for a lost packet: rebuilt from `next`'s FEC data
   * when the packet after it is given and carries FEC, else concealed (PLC)
   * from what was decoded before. Null once closed.
   */
  recover(next: Uint8Array | undefined, samples: number): { samples: Float32Array; origin: RecoveryOrigin } | null;
  /** Frees the decoder; idempotent. */
  close(): void;
}

class LibopusStream implements OpusPacketDecoder {
  constructor(
    private readonly lib: Libopus,
    private state: number,
  ) {}

  decode(packet: Uint8Array): Float32Array | null {
    if (this.state === 0 || packet.length === 0) return null;
    return this.lib.run(this.state, packet, MAX_DECODE_SAMPLES, false);
  }

  recover(next: Uint8Array | undefined, samples: number): { samples: Float32Array; origin: RecoveryOrigin } | null {
    if (this.state === 0) return null;
    // libopus answers a FEC decode of a packet without FEC data with plain concealment, silently: count it as such.
    const fec = next !== undefined && next.length > 0 && opusPacketHasFec(next);
    const out = this.lib.run(this.state, fec ? next : null, samples, fec);
    return out === null ? null : { samples: out, origin: fec ? 'fec' : 'plc' };
  }

  close(): void {
    if (this.state !== 0) this.lib.release(this.state);
    this.state = 0;
  }
}
