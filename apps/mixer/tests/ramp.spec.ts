import { test } from 'node:test';
import assert from 'node:assert/strict';
import { applyGainRamp, fadeToSilence } from '../src/dsp/ramp.js';

test('applyGainRamp moves linearly from `from` to `to` over `length` samples, then holds', () => {
  const f = new Float32Array(6).fill(1);
  assert.equal(applyGainRamp(f, 0, 1, 4), 1);
  assert.deepEqual([...f], [0.25, 0.5, 0.75, 1, 1, 1]);
  const g = Float32Array.from([2, 2, 2, 2, -2]);
  applyGainRamp(g, 1, 0, 2);
  assert.deepEqual([...g], [1, 0, 0, 0, -0]);
});

test('fadeToSilence continues from the last sample down to zero, then silence', () => {
  const out = fadeToSilence(new Float32Array(6), 0.5, 4);
  assert.deepEqual([...out], [0.375, 0.25, 0.125, 0, 0, 0]);
  assert.deepEqual([...fadeToSilence(new Float32Array(3), 0, 2)], [0, 0, 0]);
});
