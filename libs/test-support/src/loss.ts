/*
 * Packet loss in audio tests, shared by the mixer's and the web page's loss
 * tests and bench/{audio,viewer}-loss.bench.mjs: the vowel-like test sound
 * they encode, reproducible loss patterns, and how a gap is judged.
 */

/**
 * The vowel-like test sound, frame by frame: eight partials with a
 * sawtooth's 1/k amplitudes, the pitch moving ±12% around 196 Hz three
 * times a second and the level between 0.5 and 1 four times a second, at
 * 0.15 of full scale per partial sum, 48 kHz. Not a pure sine: libopus's
 * concealment of one leaves dips even when it works, and SILK sends FEC only
 * for frames its voice activity detector calls active, which a steady tone
 * stops being. Each call fills `frame` with the next frame's samples, times
 * `scale` (32767 for 16-bit samples).
 */
export function vowelSound(scale = 1): (frame: Float32Array | Float64Array) => void {
  let phase = 0;
  let start = 0;
  return (frame) => {
    for (let i = 0; i < frame.length; i++) {
      const t = (start + i) / 48_000;
      phase += (2 * Math.PI * 196 * (1 + 0.12 * Math.sin(2 * Math.PI * 3 * t))) / 48_000;
      let v = 0;
      for (let h = 1; h <= 8; h++) v += Math.sin(h * phase) / h;
      frame[i] = scale * 0.15 * v * (0.75 + 0.25 * Math.sin(2 * Math.PI * 4 * t));
    }
    start += frame.length;
  };
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
 * Frames in `rms[from..to)` below a quarter of their median: audible gaps
 * where the signal is continuous. `gaps` holds their indices in `rms`.
 */
export function gaps(
  rms: readonly number[],
  from = 0,
  to = rms.length,
): { gaps: number[]; median: number; min: number } {
  const span = rms.slice(from, to);
  const sorted = [...span].sort((x, y) => x - y);
  const median = sorted[Math.floor(sorted.length / 2)] ?? 0;
  const found: number[] = [];
  span.forEach((v, i) => {
    if (v < median / 4) found.push(from + i);
  });
  return { gaps: found, median, min: sorted[0] ?? 0 };
}
