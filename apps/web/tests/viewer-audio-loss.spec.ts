import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FADE_IN_SAMPLES, LossConcealer, MAX_CONCEALED_FRAMES } from '../src/audio-concealment.js';
import { FreshnessFilter } from '../src/audio-freshness.js';

/*
 * The viewer's loss concealment and freshness filter, on exact numbers.
 */
const frame = (value: number, n = 8): Float32Array => new Float32Array(n).fill(value);
const ramp = (n: number): Float32Array => Float32Array.from({ length: n }, (_, i) => i + 1);

test('in-order packets pass unchanged; late and duplicate ones are dropped and counted', () => {
  const c = new LossConcealer();
  assert.deepEqual(c.sequence(7), { kind: 'next', lost: 0 });
  assert.deepEqual(c.frames(frame(1), 0), [frame(1)]);
  assert.deepEqual(c.sequence(8), { kind: 'next', lost: 0 });
  assert.deepEqual(c.sequence(8), { kind: 'late' });
  assert.deepEqual(c.sequence(5), { kind: 'late' });
  assert.deepEqual(c.stats, { lost: 0, concealed: 0, late: 2 });
});

test('counts a loss across the u32 wrap, and takes a big backwards step as a mixer restart', () => {
  const c = new LossConcealer();
  c.sequence(0xfffffffe);
  assert.deepEqual(c.sequence(1), { kind: 'next', lost: 2 });
  assert.deepEqual(c.sequence(1_000_000), { kind: 'next', lost: 999_998 });
  assert.deepEqual(c.sequence(3), { kind: 'next', lost: 0 }, 'restart');
  const restarted = c.frames(frame(1, 200), 0);
  assert.equal(restarted.length, 1);
  assert.equal(restarted[0]?.[0], Math.fround(1 / FADE_IN_SAMPLES), 'the first frame after a restart fades in');
});

test('a lost frame is the last one backwards fading to silence, and the next one fades in', () => {
  const c = new LossConcealer();
  c.sequence(1);
  c.frames(ramp(4), 0); // 1 2 3 4
  const v = c.sequence(3);
  assert.deepEqual(v, { kind: 'next', lost: 1 });
  const out = c.frames(frame(1, 4), 1);
  assert.equal(out.length, 2);
  // Continues from 4 (where the last frame stopped), fading by 1 - (i+1)/4.
  assert.deepEqual([...(out[0] ?? [])], [4 * 0.75, 3 * 0.5, 2 * 0.25, 0]);
  // FADE_IN_SAMPLES is longer than this frame: the whole frame ramps up over it.
  assert.deepEqual([...(out[1] ?? [])], [0.25, 0.5, 0.75, 1]);
  assert.deepEqual(c.stats, { lost: 1, concealed: 1, late: 0 });
});

test('a long loss is filled only up to the cap, then silence is left to the jitter buffer', () => {
  const c = new LossConcealer();
  c.sequence(1);
  c.frames(frame(1), 0);
  const v = c.sequence(12);
  assert.deepEqual(v, { kind: 'next', lost: 10 });
  const out = c.frames(frame(1), 10);
  assert.equal(out.length, MAX_CONCEALED_FRAMES + 1);
  assert.deepEqual([...(out[1] ?? [])], [...frame(0)]);
  assert.deepEqual(c.stats, { lost: 10, concealed: MAX_CONCEALED_FRAMES, late: 0 });
});

test('drops packets that arrive later than the baseline transit by more than the limit', () => {
  const f = new FreshnessFilter({ maxLateMs: 100, creepMsPerPacket: 0.5 });
  // The browser clock runs 5 s ahead of the mixer's; the transit is 20 ms.
  const at = (captureMs: number, arrivalMs: number): boolean => f.accept(captureMs * 1000, arrivalMs + 5_000);
  assert.equal(at(0, 20), true);
  assert.equal(at(20, 40), true);
  assert.equal(f.baselineMs, 5_020);
  // The main thread was blocked for a second: the backlog arrives at once.
  const burst = [...Array(50).keys()].map((i) => at(40 + i * 20, 1_040));
  // Packet i is late by 1,040 - (40 + 20i) - 20 ms against a baseline that crept 0.5 (i + 1) ms:
  // stale while 980 - 20.5i - 0.5 > 100, so packets 0…42; the newest seven play.
  assert.equal(burst.filter((ok) => !ok).length, 43);
  assert.deepEqual(burst.slice(43), [true, true, true, true, true, true, true]);
  assert.equal(f.stale, 43);
  assert.equal(at(1_040, 1_060), true, 'back to normal at once');
});

test('the baseline follows a transit that grows for good, slowly', () => {
  const f = new FreshnessFilter({ maxLateMs: 100, creepMsPerPacket: 1 });
  f.accept(0, 10);
  for (let i = 1; i <= 300; i++) f.accept(i * 20_000, i * 20 + 210); // 200 ms more transit from now on
  assert.equal(f.baselineMs, 210);
  // Packet i is 200 ms late against a baseline of 10 + i ms: stale while 200 - i > 100, so packets 1…99.
  assert.equal(f.stale, 99, 'until the baseline crept up by 100 ms');
});
