import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_JITTER, FIXED_JITTER, JitterBuffer, type JitterStats } from '../src/jitter-buffer.js';

/*
 * The page's adaptive jitter buffer on simulated arrivals: 20 ms packets
 * (960 samples at 48 kHz, with capture times) delivered in order, as a
 * WebSocket does, and pulled 128 samples at a time on the sound card's
 * clock. The same arrivals go to the fixed 60 ms buffer of before where a
 * comparison says more than a number. Depth and target figures are
 * generous bounds, not timings: the simulation is exact.
 */
const RATE = 48_000;
const PACKET = 960;
const PULL = 128;

interface Run {
  stats: JitterStats;
  /** Target after the run, ms. */
  targetMs: number;
  /** Mean depth over the second half, ms. */
  meanDepthMs: number;
  /** Underruns in the second half. */
  lateUnderruns: number;
}

/** Deterministic pseudo-random numbers in [0, 1). */
function lcg(seed: number): () => number {
  let s = seed;
  return () => {
    s = (s * 1103515245 + 12345) % 2 ** 31;
    return s / 2 ** 31;
  };
}

/**
 * `seconds` of audio; packet k is sent at k × 20 ms and arrives `delayMs(k)`
 * later, but never before the one ahead of it (in order). `onPull` can look
 * at the buffer as it goes.
 */
function simulate(
  jb: JitterBuffer,
  seconds: number,
  delayMs: (k: number) => number,
  onPull?: (t: number, jb: JitterBuffer) => void,
): Run {
  const packet = new Float32Array(PACKET).fill(0.25);
  const out = new Float32Array(PULL);
  const pulls = Math.floor((seconds * RATE) / PULL);
  let k = 0;
  let lastArrival = -Infinity;
  const arrival = (n: number): number => Math.max(lastArrival, n * 20 + delayMs(n));
  let next = arrival(0);
  let depthSum = 0;
  let depthCount = 0;
  let underrunsAtHalf = 0;
  for (let p = 0; p < pulls; p++) {
    const t = (p * PULL * 1000) / RATE;
    while (next <= t) {
      jb.push(packet, k * 20_000);
      lastArrival = next;
      k++;
      next = arrival(k);
    }
    jb.pull(out);
    onPull?.(t, jb);
    if (p === Math.floor(pulls / 2)) underrunsAtHalf = jb.stats().underruns;
    if (p > pulls / 2) {
      depthSum += jb.buffered;
      depthCount++;
    }
  }
  const stats = jb.stats();
  return {
    stats,
    targetMs: stats.targetMs,
    meanDepthMs: ((depthSum / depthCount) * 1000) / RATE,
    lateUnderruns: stats.underruns - underrunsAtHalf,
  };
}

test('steady arrivals: the target comes down from 60 ms to cover one lost packet, without underruns', () => {
  const rnd = lcg(7);
  const adaptive = simulate(new JitterBuffer(RATE, DEFAULT_JITTER), 30, () => 5 + rnd() * 2);
  // Half a packet + a pull + a packet + 5 ms: 37.7 ms.
  assert.ok(adaptive.targetMs <= 40, `target ${adaptive.targetMs} ms`);
  assert.ok(adaptive.targetMs >= DEFAULT_JITTER.minMs);
  assert.equal(adaptive.stats.underruns, 0);
  const fixed = simulate(new JitterBuffer(RATE, FIXED_JITTER), 30, () => 5 + rnd() * 2);
  assert.equal(fixed.targetMs, 60);
  assert.ok(
    adaptive.meanDepthMs < fixed.meanDepthMs - 15,
    `mean depth ${adaptive.meanDepthMs.toFixed(1)} ms adaptive vs ${fixed.meanDepthMs.toFixed(1)} ms fixed`,
  );
});

test('jittery arrivals: the target grows past 60 ms and the adaptive buffer underruns less than the fixed one', () => {
  // Most packets on time, one in ten up to 90 ms late (a congested Wi-Fi hop).
  const delays = (seed: number): ((k: number) => number) => {
    const rnd = lcg(seed);
    return () => (rnd() < 0.1 ? rnd() * 90 : rnd() * 5);
  };
  const adaptive = simulate(new JitterBuffer(RATE, DEFAULT_JITTER), 60, delays(11));
  const fixed = simulate(new JitterBuffer(RATE, FIXED_JITTER), 60, delays(11));
  assert.ok(adaptive.targetMs > 60, `target ${adaptive.targetMs} ms`);
  assert.ok(adaptive.targetMs <= FIXED_JITTER.maxMs - FIXED_JITTER.skipAboveMs);
  assert.ok(
    adaptive.lateUnderruns < fixed.lateUnderruns,
    `second half underruns: ${adaptive.lateUnderruns} adaptive vs ${fixed.lateUnderruns} fixed`,
  );
});

test('the target follows the jitter up, then down again when the path is quiet', () => {
  const rnd = lcg(3);
  // 20 s quiet, 20 s with up to 60 ms of jitter, 40 s quiet.
  const delay = (k: number): number => (k >= 1000 && k < 2000 ? rnd() * 60 : rnd() * 2);
  let quiet1 = 0;
  let jittery = 0;
  const run = simulate(new JitterBuffer(RATE, DEFAULT_JITTER), 80, delay, (t, jb) => {
    const ms = jb.stats().targetMs;
    if (Math.abs(t - 19_900) < 2) quiet1 = ms;
    if (Math.abs(t - 39_900) < 2) jittery = ms;
  });
  assert.ok(quiet1 <= 40, `quiet target ${quiet1} ms`);
  assert.ok(jittery >= quiet1 + 30, `jittery target ${jittery} ms after ${quiet1} ms`);
  assert.ok(run.targetMs <= 40, `quiet again: target ${run.targetMs} ms`);
  assert.equal(run.lateUnderruns, 0);
});

test('an underrun deepens the target at once by a packet, and the extra drains slowly', () => {
  const rnd = lcg(5);
  // Quiet, then one 150 ms hole in the arrivals (packets 500… arrive 150 ms late), then quiet.
  const delay = (k: number): number => (k >= 500 && k < 505 ? 150 - (k - 500) * 20 : rnd() * 2);
  let before = 0;
  let after = 0;
  const run = simulate(new JitterBuffer(RATE, DEFAULT_JITTER), 40, delay, (t, jb) => {
    if (Math.abs(t - 9_900) < 2) before = jb.stats().targetMs;
    if (Math.abs(t - 10_300) < 2) after = jb.stats().targetMs;
  });
  assert.ok(run.stats.underruns >= 1);
  assert.ok(after >= before + 15, `target ${before} → ${after} ms`);
  assert.ok(run.targetMs < after, `drains: ${run.targetMs} ms 30 s later`);
});

test('on a quiet path, a lost packet (its concealment comes with the next one) does not run the buffer dry', () => {
  const rate = RATE;
  const jb = new JitterBuffer(rate, DEFAULT_JITTER);
  const rnd = lcg(9);
  const out = new Float32Array(PULL);
  const frame = new Float32Array(PACKET).fill(0.25);
  const pulls = Math.floor((40 * rate) / PULL);
  let k = 0;
  let next = 20 + rnd() * 2;
  for (let p = 0; p < pulls; p++) {
    const t = (p * PULL * 1000) / rate;
    while (next <= t) {
      // Every 200th packet is lost: nothing at its time, then its concealment and the next packet together.
      if (k % 200 !== 199) {
        if (k % 200 === 0 && k > 0) jb.push(frame, (k - 1) * 20_000);
        jb.push(frame, k * 20_000);
      }
      k++;
      next = k * 20 + 20 + rnd() * 2;
    }
    jb.pull(out);
  }
  assert.ok(k > 1_900);
  assert.equal(jb.stats().underruns, 0);
  assert.ok(jb.stats().targetMs <= 40, `target ${jb.stats().targetMs} ms`);
});

for (const drift of [0.001, -0.001]) {
  test(`adaptive, a ${drift > 0 ? 'fast' : 'slow'} mixer clock (${drift * 100}%) with ±8 ms jitter for ten minutes: no drop, shallow, bounded`, () => {
    const rnd = lcg(12345);
    const jb = new JitterBuffer(RATE, DEFAULT_JITTER);
    let maxDepth = 0;
    const run = simulate(
      jb,
      600,
      (k) => k * 20 * (1 / (1 + drift) - 1) + 8 + (rnd() * 16 - 8),
      (t, b) => {
        if (t > 60_000) maxDepth = Math.max(maxDepth, b.buffered);
      },
    );
    assert.equal(run.stats.droppedSamples, 0);
    assert.equal(run.lateUnderruns, 0);
    assert.ok(run.meanDepthMs < 60, `mean depth ${run.meanDepthMs.toFixed(1)} ms`);
    assert.ok(maxDepth < 0.12 * RATE, `max depth ${maxDepth}`);
    assert.ok(
      Math.abs(run.stats.driftAdjustedSamples - drift * 600 * RATE) < 4_800,
      `${run.stats.driftAdjustedSamples}`,
    );
  });
}
