import { test } from 'node:test';
import assert from 'node:assert/strict';
import { JitterBuffer } from '../src/jitter-buffer.js';
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
  assert.deepEqual(jb.stats(), { underruns: 0, droppedSamples: 4, buffered: 8 });
  const out = new Float32Array(8);
  assert.equal(jb.pull(out), true);
  assert.deepEqual([...out], [5, 6, 7, 8, 9, 10, 11, 12]);
  jb.push(ramp(100, 20));
  assert.equal(jb.stats().droppedSamples, 16, 'a push larger than the ring keeps its newest samples');
  assert.equal(jb.pull(out), true);
  assert.deepEqual([...out], [112, 113, 114, 115, 116, 117, 118, 119]);
});

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
