import { Encoder } from '@evan/opus';
import { vowelSound } from '@vidchat/test-support';

/** Loss patterns and gap judging, shared with the mixer's loss tests. */
export { frameRms, gaps, randomLoss } from '@vidchat/test-support';

/*
 * Real Opus packets (libopus, as the capture agent and the mixer encode:
 * voip, 20 ms, in-band FEC for 10% expected loss) of the vowel-like sound of
 * the loss tests (`vowelSound` in libs/test-support, as the mixer's).
 */
export function harmonicOpusPackets(count: number, opts: { fec?: boolean; bitrate?: number } = {}): Uint8Array[] {
  const fec = opts.fec ?? true;
  const encoder = new Encoder({ channels: 1, sample_rate: 48_000, application: 'voip' });
  encoder.bitrate = opts.bitrate ?? 32_000;
  encoder.expert_frame_duration = 20;
  encoder.inband_fec = fec;
  encoder.packet_loss = fec ? 10 : 0;
  const out: Uint8Array[] = [];
  const next = vowelSound(32_767);
  const samples = new Float64Array(960);
  const frame = new Int16Array(960);
  for (let k = 0; k < count; k++) {
    next(samples);
    for (let i = 0; i < frame.length; i++) frame[i] = Math.round(samples[i]!);
    out.push(encoder.encode(frame));
  }
  return out;
}

/**
 * RMS of every 20 ms window of `pcm`, one starting each `hop` samples (1 ms by
 * default): where packets fall in a recording is unknown, and a 20 ms gap
 * that straddles two fixed frames leaves each at half its level.
 */
export function slidingRms(pcm: Float32Array, window = 960, hop = 48): number[] {
  const sums = new Float64Array(pcm.length + 1);
  for (let i = 0; i < pcm.length; i++) sums[i + 1] = sums[i]! + pcm[i]! * pcm[i]!;
  const out: number[] = [];
  for (let start = 0; start + window <= pcm.length; start += hop) {
    out.push(Math.sqrt(Math.max(0, sums[start + window]! - sums[start]!) / window));
  }
  return out;
}
