import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LIMITER_KNEE, limitInPlace, softLimit } from '../src/dsp/limiter.js';
import { floatToInt16 } from '../src/dsp/mix.js';
import { FRAME_SAMPLES } from '../src/dsp/audio-format.js';

test('below the -3 dBFS knee samples pass unchanged', () => {
  for (const x of [0, 0.1, -0.1, 0.5, -0.5, 0.7, LIMITER_KNEE, -LIMITER_KNEE]) assert.equal(softLimit(x), x);
  assert.ok(Math.abs(LIMITER_KNEE - 0.7079457843841379) < 1e-12);
});

test('above the knee the curve follows knee + (1 - knee) * tanh((|x| - knee) / (1 - knee))', () => {
  const k = LIMITER_KNEE;
  const expected = k + (1 - k) * Math.tanh((1 - k) / (1 - k));
  assert.equal(softLimit(1), expected);
  assert.equal(softLimit(-1), -expected);
  assert.ok(Math.abs(expected - 0.9303726) < 1e-6);
});

test('no input ever leaves [-1, 1]: huge, infinite and NaN samples', () => {
  for (const x of [1.5, 3, 10, 1e6, 1e30, Infinity]) {
    assert.ok(softLimit(x) <= 1 && softLimit(x) > 0.9, `softLimit(${x}) = ${softLimit(x)}`);
    assert.ok(softLimit(-x) >= -1 && softLimit(-x) < -0.9);
  }
  assert.equal(softLimit(Infinity), 1);
  assert.equal(softLimit(-Infinity), -1);
  assert.equal(softLimit(Number.NaN), 0);
});

test('the curve is continuous and monotonic across the knee (no step, no fold-back)', () => {
  let prev = -Infinity;
  let maxStep = 0;
  const step = 1e-4;
  for (let x = 0; x <= 20; x += step) {
    const y = softLimit(x);
    assert.ok(y >= prev, `not monotonic at ${x}`);
    if (prev !== -Infinity) maxStep = Math.max(maxStep, y - prev);
    prev = y;
  }
  // Slope never exceeds 1, so a step of `step` in never gives more than `step` out.
  assert.ok(maxStep <= step * (1 + 1e-6), `max step ${maxStep}`);
});

test('eight full-scale sources in phase, summed and limited, stay inside int16 without wrapping', () => {
  const sources = 8;
  const sum = new Float32Array(FRAME_SAMPLES);
  for (let i = 0; i < FRAME_SAMPLES; i++) {
    // Full-scale 1 kHz square and sine sources: the worst case is all in phase.
    const sine = Math.sin((2 * Math.PI * 1000 * i) / 48_000);
    const square = sine >= 0 ? 1 : -1;
    sum[i] = (sources / 2) * sine + (sources / 2) * square;
  }
  const limited = limitInPlace(Float32Array.from(sum));
  const pcm = floatToInt16(limited);
  for (let i = 0; i < FRAME_SAMPLES; i++) {
    assert.ok(Math.abs(limited[i]!) <= 1, `sample ${i} = ${limited[i]}`);
    // No wrap: the sign of every output sample is the sign of the sum.
    assert.equal(Math.sign(pcm[i]!), Math.sign(Math.round(sum[i]! * 32767)), `sample ${i} wrapped`);
    assert.ok(pcm[i]! <= 32767 && pcm[i]! >= -32767);
  }
  // A positive full-scale sum reaches near full scale, as a limiter (not a gain drop) should.
  assert.ok(Math.max(...pcm) > 32000);
});
