import { Encoder } from '@evan/opus';
import { decodeEnvelope } from '@vidchat/protocol';
import { vowelSound } from '@vidchat/test-support';
import { FRAME_MS, FRAME_SAMPLES, SAMPLE_RATE } from '../../src/dsp/audio-format.js';
import { DEFAULT_JITTER_OPTIONS } from '../../src/dsp/jitter-buffer.js';
import { floatToInt16 } from '../../src/dsp/mix.js';
import { OpusSourceDecoder } from '../../src/codec/opus-source-decoder.js';
import { createStats, type MixerStats } from '../../src/room/mixer-stats.js';
import { RoomMix } from '../../src/room/room-mix.js';

/** Loss patterns and gap judging, shared with the web page's loss tests. */
export { gaps, randomLoss } from '@vidchat/test-support';

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

/** 20 ms Opus packets of the vowel-like sound of the loss tests (`vowelSound` in libs/test-support). */
export function harmonicPackets(count: number, enc: SourceEncoding): Uint8Array[] {
  const encoder = new Encoder({ channels: 1, sample_rate: SAMPLE_RATE, application: 'voip' });
  encoder.bitrate = enc.bitrate ?? 32_000;
  encoder.expert_frame_duration = FRAME_MS;
  encoder.inband_fec = enc.fec;
  encoder.packet_loss = enc.packetLossPercent;
  const out: Uint8Array[] = [];
  const frame = new Float32Array(FRAME_SAMPLES);
  const next = vowelSound();
  for (let k = 0; k < count; k++) {
    next(frame);
    out.push(encoder.encode(floatToInt16(frame)));
  }
  return out;
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
