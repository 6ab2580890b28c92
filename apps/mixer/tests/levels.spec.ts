import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MIN_DBFS } from '@vidchat/protocol';
import { LevelMeter, roundDb, toDbfs } from '../src/dsp/levels.js';

const sine = (amplitude: number, hz: number, n: number): Float32Array =>
  Float32Array.from({ length: n }, (_, i) => amplitude * Math.sin((2 * Math.PI * hz * i) / 48_000));

test('a full-scale sine reads -3.01 dBFS RMS and 0 dBFS peak', () => {
  const m = new LevelMeter();
  // 1 kHz over 100 ms: a whole number of periods, so the RMS is exactly 1/sqrt(2).
  for (let k = 0; k < 5; k++) m.add(sine(1, 1000, 960).subarray(0));
  const { dbfs, peakDbfs } = m.take();
  assert.equal(roundDb(dbfs), -3.01);
  assert.ok(peakDbfs > -0.001);
});

test('a full-scale square reads 0 dBFS; half scale -6.02; silence the floor', () => {
  const m = new LevelMeter();
  m.add(Float32Array.from({ length: 960 }, (_, i) => (i % 2 ? 1 : -1)));
  assert.deepEqual(m.take(), { dbfs: 0, peakDbfs: 0 });
  m.add(new Float32Array(960).fill(-0.5));
  const half = m.take();
  assert.equal(roundDb(half.dbfs), -6.02);
  assert.equal(roundDb(half.peakDbfs), -6.02);
  m.add(new Float32Array(960));
  assert.deepEqual(m.take(), { dbfs: MIN_DBFS, peakDbfs: MIN_DBFS });
  assert.deepEqual(m.take(), { dbfs: MIN_DBFS, peakDbfs: MIN_DBFS }, 'an empty window is silence');
});

test('take() starts a new window', () => {
  const m = new LevelMeter();
  m.add(new Float32Array(960).fill(1));
  m.take();
  m.add(new Float32Array(960).fill(0.1));
  assert.equal(roundDb(m.take().dbfs), -20);
});

test('toDbfs clamps to MIN_DBFS..0', () => {
  assert.equal(toDbfs(0), MIN_DBFS);
  assert.equal(toDbfs(1e-9), MIN_DBFS);
  assert.equal(toDbfs(2), 0);
  assert.equal(toDbfs(0.1), -20);
});
