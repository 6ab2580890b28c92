import { test } from 'node:test';
import assert from 'node:assert/strict';
import { addInto, floatToInt16, int16ToFloat, sumFrames } from '../src/dsp/mix.js';

test('addInto adds sample by sample, in float, without wrapping', () => {
  const acc = Float32Array.from([0.5, -0.25, 0.75, 0]);
  addInto(acc, Float32Array.from([0.5, -0.25, 0.75, -1]));
  assert.deepEqual([...acc], [1, -0.5, 1.5, -1]);
});

test('addInto refuses frames of different lengths', () => {
  assert.throws(() => addInto(new Float32Array(2), new Float32Array(3)), RangeError);
});

test('sumFrames of no frames is silence, of several is their sum', () => {
  assert.deepEqual([...sumFrames([], 3)], [0, 0, 0]);
  const s = sumFrames([Float32Array.from([1, 2, 3]), Float32Array.from([0.5, -2, 0]), Float32Array.from([1, 1, 1])], 3);
  assert.deepEqual([...s], [2.5, 1, 4]);
});

test('floatToInt16 rounds to nearest on a symmetric scale and clamps out-of-range values', () => {
  const out = floatToInt16(Float32Array.from([0, 0.5, -0.5, 1, -1, 2, -2, 1 / 32767]));
  assert.deepEqual([...out], [0, 16384, -16383, 32767, -32767, 32767, -32767, 1]);
});

test('int16ToFloat inverts floatToInt16 at full scale', () => {
  assert.deepEqual([...int16ToFloat(Int16Array.from([32767, -32767, 0]))], [1, -1, 0]);
});
