import { Encoder } from '@evan/opus';

/*
 * Real Opus packets (libopus, as the capture agent and the mixer encode:
 * voip, 20 ms, in-band FEC for 10% expected loss) of a vowel-like sound for
 * the loss tests: eight partials with a sawtooth's 1/k amplitudes, the pitch
 * moving ±12% around 196 Hz three times a second and the level between 0.5
 * and 1 four times a second. Not a pure sine: libopus's concealment of one
 * leaves dips even when it works, and SILK sends FEC only for frames its
 * voice activity detector calls active, which a steady tone stops being.
 * The same sound as the mixer's loss tests (apps/mixer/tests/helpers).
 */
export function harmonicOpusPackets(count: number, opts: { fec?: boolean; bitrate?: number } = {}): Uint8Array[] {
  const fec = opts.fec ?? true;
  const encoder = new Encoder({ channels: 1, sample_rate: 48_000, application: 'voip' });
  encoder.bitrate = opts.bitrate ?? 32_000;
  encoder.expert_frame_duration = 20;
  encoder.inband_fec = fec;
  encoder.packet_loss = fec ? 10 : 0;
  const out: Uint8Array[] = [];
  const frame = new Int16Array(960);
  let phase = 0;
  for (let k = 0; k < count; k++) {
    for (let i = 0; i < frame.length; i++) {
      const t = (k * frame.length + i) / 48_000;
      phase += (2 * Math.PI * 196 * (1 + 0.12 * Math.sin(2 * Math.PI * 3 * t))) / 48_000;
      let v = 0;
      for (let h = 1; h <= 8; h++) v += Math.sin(h * phase) / h;
      frame[i] = Math.round(32_767 * 0.15 * v * (0.75 + 0.25 * Math.sin(2 * Math.PI * 4 * t)));
    }
    out.push(encoder.encode(frame));
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

/** RMS of each `frame`-sample slice of `pcm`. */
export function frameRms(pcm: Float32Array, frame = 960): number[] {
  const out: number[] = [];
  for (let k = 0; (k + 1) * frame <= pcm.length; k++) {
    let s = 0;
    for (let i = k * frame; i < (k + 1) * frame; i++) s += pcm[i]! * pcm[i]!;
    out.push(Math.sqrt(s / frame));
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

/** Frames below a quarter of the median: audible gaps where the signal is continuous. */
export function gaps(rms: readonly number[]): { gaps: number[]; median: number; min: number } {
  const sorted = [...rms].sort((x, y) => x - y);
  const median = sorted[Math.floor(sorted.length / 2)] ?? 0;
  const found: number[] = [];
  rms.forEach((v, i) => {
    if (v < median / 4) found.push(i);
  });
  return { gaps: found, median, min: sorted[0] ?? 0 };
}
