import { test } from 'node:test';
import assert from 'node:assert/strict';
import { JitterBuffer, MAX_HOLD_MS } from '../src/jitter-buffer.js';
import { AudioHold, HOLD_DEADBAND_MS, HOLD_MIN_INTERVAL_MS, heardAtMs } from '../src/lip-sync.js';

/*
 * Lip sync's pure parts: the jitter buffer saying which capture time it
 * plays and holding audio back on request, the hold controller, and the
 * context-time → wall-clock mapping. Rate 1000 Hz: 1 ms = 1 sample.
 */
const ramp = (from: number, n: number): Float32Array => Float32Array.from({ length: n }, (_, i) => from + i);

test('a pull says the capture time of its first sample, through drops and skips', () => {
  const jb = new JitterBuffer(1000, { targetMs: 4, maxMs: 12, driftBandMs: 100, skipAboveMs: 1000 });
  const out = new Float32Array(2);
  // Packets of 4 samples captured at 1000, 1004, 1008 ms (µs stamps).
  jb.push(ramp(1, 4), 1_000_000);
  jb.push(ramp(5, 4), 1_004_000);
  assert.equal(jb.pull(out), true);
  assert.equal(jb.lastPullCaptureUs, 1_000_000);
  assert.equal(jb.pull(out), true);
  assert.equal(jb.lastPullCaptureUs, 1_002_000, 'two samples into the first packet');
  assert.equal(jb.pull(out), true);
  assert.equal(jb.lastPullCaptureUs, 1_004_000);
  // Overflow drops the oldest samples: the times follow the samples that stay.
  jb.push(ramp(9, 4), 1_008_000);
  jb.push(ramp(13, 4), 1_012_000);
  jb.push(ramp(17, 4), 1_016_000);
  jb.push(ramp(21, 4), 1_020_000);
  assert.equal(jb.pull(out), true);
  // 18 samples pushed into a 12-sample buffer: 7..12 dropped.
  assert.deepEqual([...out], [13, 14]);
  assert.equal(jb.lastPullCaptureUs, 1_012_000);
  // Silence (an underrun) plays no capture time.
  const big = new Float32Array(100);
  assert.equal(jb.pull(big), false);
  assert.equal(jb.lastPullCaptureUs, null);
});

test('a hold adds its delay at once (one gap), is bounded, and goes again', () => {
  const jb = new JitterBuffer(1000, { targetMs: 4, maxMs: 20, driftBandMs: 2, skipAboveMs: 4 });
  const out = new Float32Array(2);
  let next = 1;
  const feed = (n: number): void => {
    jb.push(ramp(next, n), next * 1000);
    next += n;
  };
  feed(4);
  assert.equal(jb.pull(out), true);
  // Steady: 2 in, 2 out.
  for (let i = 0; i < 10; i++) {
    feed(2);
    assert.equal(jb.pull(out), true);
  }
  const depth = jb.buffered;
  jb.setHoldMs(10);
  assert.equal(jb.holdMs, 10);
  // Playback pauses until 4 + 10 are buffered: silence, then the next sample in order (none lost).
  const playedBefore = next - depth;
  let silent = 0;
  let firstAfter = -1;
  for (let i = 0; i < 20 && firstAfter < 0; i++) {
    feed(2);
    if (jb.pull(out)) firstAfter = out[0] ?? -1;
    else silent++;
  }
  assert.equal(firstAfter, playedBefore, 'continues where it stopped');
  assert.ok(silent >= 4, `${silent} silent pulls (the gap that adds the hold)`);
  assert.ok(jb.buffered >= 4 + 10 - 2, `depth ${jb.buffered} with the hold`);
  // The hold is bounded.
  jb.setHoldMs(10_000);
  assert.equal(jb.holdMs, MAX_HOLD_MS);
  jb.setHoldMs(10);
  // Dropping the hold: the excess is played out faster (or skipped), and the depth is back near the target.
  jb.setHoldMs(0);
  for (let i = 0; i < 600; i++) {
    feed(2);
    jb.pull(out);
  }
  assert.ok(jb.buffered <= 4 + 4, `depth ${jb.buffered} after the hold went`);
});

test('the hold follows a later picture, within 0..300 ms, with a deadband and at most once a second', () => {
  const h = new AudioHold();
  // Audio heard 150 ms after capture without hold; the picture 100 ms: no hold (the presenter holds video).
  assert.equal(h.update(100, 150, 0), 0);
  // The picture 350 ms: the audio waits 200 ms.
  assert.equal(h.update(350, 150, 10_000), 200);
  // Too soon to change again, and then a change inside the deadband is not made.
  assert.equal(h.update(500, 150, 10_000 + HOLD_MIN_INTERVAL_MS - 1), 200);
  assert.equal(h.update(350 + HOLD_DEADBAND_MS - 1, 150, 20_000), 200);
  // Bounded by MAX_HOLD_MS; and back to 0 once the picture is early again, or gone.
  assert.equal(h.update(2_000, 150, 30_000), MAX_HOLD_MS);
  assert.equal(h.update(null, 150, 40_000), 0);
});

test('context time → wall clock: from the output timestamp, else from the reported latencies', () => {
  const ctx = { currentTime: 10, baseLatency: 0.01, outputLatency: 0.02 };
  // The device plays context time 9.9 at performance time 5000 ms; wall = perf + 1_000_000.
  const ts = { contextTime: 9.9, performanceTime: 5_000 };
  assert.equal(heardAtMs(10.1, ts, ctx, 1_005_150, 5_150), 1_005_200);
  // No timestamp (zeros): now + (10.1 − 10) s + 30 ms.
  assert.equal(Math.round(heardAtMs(10.1, { contextTime: 0, performanceTime: 0 }, ctx, 2_000_000, 0)), 2_000_130);
  assert.equal(Math.round(heardAtMs(10.1, null, ctx, 2_000_000, 0)), 2_000_130);
});
