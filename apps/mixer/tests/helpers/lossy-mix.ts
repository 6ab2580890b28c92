import { Encoder } from '@evan/opus';
import { decodeEnvelope } from '@vidchat/protocol';
import { FRAME_MS, FRAME_SAMPLES, SAMPLE_RATE } from '../../src/dsp/audio-format.js';
import { DEFAULT_JITTER_OPTIONS } from '../../src/dsp/jitter-buffer.js';
import { floatToInt16 } from '../../src/dsp/mix.js';
import { OpusSourceDecoder } from '../../src/codec/opus-source-decoder.js';
import { createStats, type MixerStats } from '../../src/room/mixer-stats.js';
import { RoomMix } from '../../src/room/room-mix.js';

/*
 * Packet loss through a real room mix, shared by the loss tests and
 * bench/audio-loss.bench.mjs: real Opus packets of a tone rich in
 * harmonics (libopus's concealment of a pure sine leaves dips even when it
 * works), encoded by libopus with the capture agent's settings, one source
 * whose packets are dropped by a pattern, and the mix decoded back to
 * per-20 ms RMS.
 */

/** How the source encodes: the agent's defaults are voip, 32 kbit/s, FEC on, 10% expected loss. */
export interface SourceEncoding {
  fec: boolean;
  packetLossPercent: number;
  bitrate?: number;
}

/**
 * 20 ms Opus packets of a vowel-like sound: eight partials with a
 * sawtooth's 1/k amplitudes, the pitch moving ±12% around 196 Hz three times a
 * second and the level between 0.5 and 1 four times a second. A steady tone
 * is not enough: SILK's voice activity detector learns it as background
 * noise within a second, and libopus sends FEC only for active frames.
 */
export function harmonicPackets(count: number, enc: SourceEncoding): Uint8Array[] {
  const encoder = new Encoder({ channels: 1, sample_rate: SAMPLE_RATE, application: 'voip' });
  encoder.bitrate = enc.bitrate ?? 32_000;
  encoder.expert_frame_duration = FRAME_MS;
  encoder.inband_fec = enc.fec;
  encoder.packet_loss = enc.packetLossPercent;
  const out: Uint8Array[] = [];
  const frame = new Float32Array(FRAME_SAMPLES);
  let phase = 0;
  for (let k = 0; k < count; k++) {
    for (let i = 0; i < FRAME_SAMPLES; i++) {
      const t = (k * FRAME_SAMPLES + i) / SAMPLE_RATE;
      phase += (2 * Math.PI * 196 * (1 + 0.12 * Math.sin(2 * Math.PI * 3 * t))) / SAMPLE_RATE;
      let v = 0;
      for (let h = 1; h <= 8; h++) v += Math.sin(h * phase) / h;
      frame[i] = 0.15 * v * (0.75 + 0.25 * Math.sin(2 * Math.PI * 4 * t));
    }
    out.push(encoder.encode(floatToInt16(frame)));
  }
  return out;
}

/** A reproducible random loss pattern: true = lost (mulberry32). */
export function randomLoss(count: number, rate: number, seed: number): boolean[] {
  let a = seed >>> 0;
  const next = (): number => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
  return Array.from({ length: count }, () => next() < rate);
}

export interface LossyMixResult {
  /** RMS of each decoded 20 ms mix frame, one per tick. */
  rms: number[];
  /** The decoded mix, all ticks. */
  pcm: Float32Array;
  stats: MixerStats;
}

/**
 * Runs one source through a RoomMix: packet k arrives at tick k (20 ms
 * apart, in order) unless `lost[k]`; `extraTicks` more ticks follow. The mix
 * is decoded with a fresh decoder.
 */
export async function runLossyMix(packets: Uint8Array[], lost: boolean[], extraTicks = 10): Promise<LossyMixResult> {
  const stats = createStats();
  const mix = new RoomMix(
    'loss',
    { jitter: DEFAULT_JITTER_OPTIONS, levelsEveryTicks: 5, maxSources: 8, maxListeners: 0, bitrate: 48_000 },
    stats,
  );
  mix.addSource('a');
  await mix.channel('a')!.ready();
  const decoder = new OpusSourceDecoder();
  const rms: number[] = [];
  const ticks = packets.length + extraTicks;
  const pcm = new Float32Array(ticks * FRAME_SAMPLES);
  for (let k = 0; k < ticks; k++) {
    const packet = packets[k];
    if (packet !== undefined && lost[k] !== true) mix.push('a', k, packet, 1_000_000 + k * 20_000, k * FRAME_MS);
    const env = decodeEnvelope(mix.tick(k * FRAME_MS).audio);
    if (env.kind !== 'mixedAudio') throw new Error(`the mix is ${env.kind}`);
    const frame = decoder.decode(env.payload) ?? new Float32Array(FRAME_SAMPLES);
    pcm.set(frame.subarray(0, FRAME_SAMPLES), k * FRAME_SAMPLES);
    let s = 0;
    for (let i = 0; i < frame.length; i++) s += frame[i]! * frame[i]!;
    rms.push(Math.sqrt(s / Math.max(1, frame.length)));
  }
  decoder.close();
  mix.close();
  return { rms, pcm, stats };
}

/** Frames in `rms[from..to)` below a quarter of their median: audible gaps where the signal is continuous. */
export function gaps(rms: number[], from: number, to: number): { gaps: number[]; median: number; min: number } {
  const span = rms.slice(from, to);
  const sorted = [...span].sort((x, y) => x - y);
  const median = sorted[Math.floor(sorted.length / 2)] ?? 0;
  const found: number[] = [];
  span.forEach((v, i) => {
    if (v < median / 4) found.push(from + i);
  });
  return { gaps: found, median, min: sorted[0] ?? 0 };
}
