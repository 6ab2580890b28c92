import { test } from 'node:test';
import assert from 'node:assert/strict';
import { JitterBuffer, type JitterStats } from '../src/jitter-buffer.js';
import { backoffDelay, DEFAULT_BACKOFF } from '../src/backoff.js';

/*
 * The viewer's pure parts, on exact samples: the audio jitter buffer between
 * the network and the AudioWorklet clock, and the reconnect back-off.
 * Rate 1000 Hz keeps the numbers readable: 1 ms = 1 sample.
 */
const ramp = (from: number, n: number): Float32Array => Float32Array.from({ length: n }, (_, i) => from + i);

test('plays nothing until the target depth is buffered, then the samples in order', () => {
  const jb = new JitterBuffer(1000, { targetMs: 6, maxMs: 20 });
  const out = new Float32Array(4);
  jb.push(ramp(1, 4));
  assert.equal(jb.pull(out), false);
  assert.deepEqual([...out], [0, 0, 0, 0]);
  jb.push(ramp(5, 4));
  assert.equal(jb.pull(out), true);
  assert.deepEqual([...out], [1, 2, 3, 4]);
  assert.equal(jb.pull(out), true);
  assert.deepEqual([...out], [5, 6, 7, 8]);
  assert.equal(jb.stats().underruns, 0);
});

test('an underrun plays silence, counts once, and waits for the target again', () => {
  const jb = new JitterBuffer(1000, { targetMs: 4, maxMs: 20 });
  const out = new Float32Array(4);
  jb.push(ramp(1, 6));
  assert.equal(jb.pull(out), true);
  assert.equal(jb.pull(out), false, '2 samples left, 4 asked');
  assert.deepEqual([...out], [0, 0, 0, 0]);
  assert.equal(jb.stats().underruns, 1);
  jb.push(ramp(7, 1));
  assert.equal(jb.pull(out), false, 'three buffered: below the target, no second underrun');
  assert.equal(jb.stats().underruns, 1);
  jb.push(ramp(8, 1));
  assert.equal(jb.pull(out), true);
  assert.deepEqual([...out], [5, 6, 7, 8]);
});

test('an overrun drops the oldest samples so latency never exceeds the maximum', () => {
  const jb = new JitterBuffer(1000, { targetMs: 2, maxMs: 8 });
  jb.push(ramp(1, 6));
  jb.push(ramp(7, 6));
  const { underruns, droppedSamples, buffered } = jb.stats();
  assert.deepEqual({ underruns, droppedSamples, buffered }, { underruns: 0, droppedSamples: 4, buffered: 8 });
  const out = new Float32Array(8);
  assert.equal(jb.pull(out), true);
  assert.deepEqual([...out], [5, 6, 7, 8, 9, 10, 11, 12]);
  jb.push(ramp(100, 20));
  assert.equal(jb.stats().droppedSamples, 16, 'a push larger than the ring keeps its newest samples');
  assert.equal(jb.pull(out), true);
  assert.deepEqual([...out], [112, 113, 114, 115, 116, 117, 118, 119]);
});

test('past its drift band it plays one sample more per pull, interpolated end to end', () => {
  // 1000 Hz and 128-sample pulls: one sample more per pull is DRIFT_STEP exactly.
  const jb = new JitterBuffer(1000, { targetMs: 200, maxMs: 2000, driftBandMs: 10, skipAboveMs: 1000 });
  jb.push(ramp(0, 600));
  const out = new Float32Array(128);
  // 400 samples over the target, past the 10-sample band: the first pull already plays 129 samples as 128.
  assert.equal(jb.pull(out), true);
  for (let i = 0; i < 128; i++) assert.ok(Math.abs((out[i] ?? 0) - (i * 128) / 127) < 1e-3, `sample ${i}`);
  assert.equal(jb.stats().driftAdjustedSamples, 1);
});

test('a lasting excess far over the target is skipped at once, crossfaded, back to the target depth', () => {
  // 1000 Hz, 10-sample pulls: the skip window is 200 samples, 20 pulls.
  const jb = new JitterBuffer(1000, { targetMs: 20, maxMs: 2000, driftBandMs: 2000, skipAboveMs: 40 });
  jb.push(ramp(0, 30));
  const out = new Float32Array(10);
  jb.pull(out);
  jb.push(ramp(30, 1000)); // a stalled page's backlog arriving at once: 1,020 buffered
  let pulls = 0;
  while (jb.stats().skippedSamples === 0 && pulls < 100) {
    jb.pull(out);
    pulls++;
  }
  // The first window (pulls 1…20) saw the 30 of the first pull; the second (pulls 21…40) is the first
  // that stayed over 20 + 40 all along: its lowest, 1,020 - 10 × 38 = 640, is seen at pull 40.
  assert.equal(pulls, 39);
  const s = jb.stats();
  assert.equal(s.skippedSamples, 640 - 20, 'back to the 20 target');
  assert.equal(s.buffered, 10);
  // From the old position (390…399) to the one 620 samples later (1010…1019) with a linear crossfade.
  assert.deepEqual(
    [...out].map((v) => Math.round(v * 10) / 10),
    [...Array(10).keys()].map((i) => Math.round((390 + i + (620 * (i + 1)) / 10) * 10) / 10),
  );
});

test('a short burst after a network gap is played, not skipped', () => {
  const jb = new JitterBuffer(1000, { targetMs: 20, maxMs: 300, driftBandMs: 100, skipAboveMs: 40 });
  const out = new Float32Array(10);
  jb.push(ramp(0, 20));
  for (let i = 0; i < 50; i++) {
    // Every 100 ms of pulls, 100 samples arrive at once: late, bunched, none lost.
    if (i % 10 === 0) jb.push(ramp(20 + i * 10, 100));
    jb.pull(out);
  }
  assert.equal(jb.stats().skippedSamples, 0);
});

/**
 * An hour of a mixer whose clock runs `drift` fast (+) or slow (-) against
 * the sound card's: 960-sample packets every 20 ms of mixer time, 128-sample
 * pulls every 128 samples of sound-card time, the arrival times jittered by
 * up to ±8 ms with a fixed pseudo-random sequence. Returns the stats and the
 * depth range seen after the first minute.
 */
function simulateHour(drift: number): { stats: JitterStats; pushed: number; minDepth: number; maxDepth: number } {
  const rate = 48_000;
  const jb = new JitterBuffer(rate);
  const packet = new Float32Array(960).fill(0.25);
  const out = new Float32Array(128);
  let seed = 12345;
  const jitterMs = (): number => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    return (seed / 2 ** 31) * 16 - 8;
  };
  const pulls = (3600 * rate) / 128;
  let next = 0;
  let nextArrival = 0.02 / (1 + drift);
  let pushed = 0;
  let minDepth = Infinity;
  let maxDepth = 0;
  for (let k = 0; k < pulls; k++) {
    const now = (k * 128) / rate;
    while (nextArrival <= now) {
      jb.push(packet);
      pushed += 960;
      next++;
      nextArrival = ((next + 1) * 0.02) / (1 + drift) + jitterMs() / 1000;
    }
    jb.pull(out);
    if (now > 60) {
      minDepth = Math.min(minDepth, jb.buffered);
      maxDepth = Math.max(maxDepth, jb.buffered);
    }
  }
  return { stats: jb.stats(), pushed, minDepth, maxDepth };
}

for (const drift of [0.001, -0.001]) {
  test(`follows a ${drift > 0 ? 'fast' : 'slow'} mixer clock (${drift * 100}%) for an hour: no underrun, no drop, bounded depth`, () => {
    const { stats, pushed, minDepth, maxDepth } = simulateHour(drift);
    assert.equal(stats.underruns, 0);
    assert.equal(stats.droppedSamples, 0);
    assert.equal(stats.skippedSamples, 0);
    // Every pushed sample was played, corrected for, or is still buffered.
    assert.equal(pushed, stats.playedSamples + stats.driftAdjustedSamples + stats.buffered);
    // The correction matches the drift: 0.1% of an hour at 48 kHz is 172,800 samples.
    assert.ok(Math.abs(stats.driftAdjustedSamples - drift * 3600 * 48_000) < 4_800, `${stats.driftAdjustedSamples}`);
    // The depth stays around the 60 ms target (2,880 samples): never empty, never near the 200 ms cap.
    assert.ok(minDepth > 0, `min depth ${minDepth}`);
    assert.ok(maxDepth < 0.12 * 48_000, `max depth ${maxDepth}`);
  });
}

test('reconnect back-off grows, is capped, and spreads viewers with jitter', () => {
  const fixed = (): number => 0.5; // no jitter
  assert.deepEqual(
    [0, 1, 2, 3, 4, 5, 10].map((a) => backoffDelay(a, DEFAULT_BACKOFF, fixed)),
    [500, 1000, 2000, 4000, 8000, 15000, 15000],
  );
  assert.equal(
    backoffDelay(0, DEFAULT_BACKOFF, () => 0),
    400,
  );
  assert.equal(
    backoffDelay(0, DEFAULT_BACKOFF, () => 1),
    600,
  );
  assert.equal(
    backoffDelay(10, DEFAULT_BACKOFF, () => 1),
    15000,
    'jitter never exceeds the cap',
  );
});
