import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AudioTimeline } from '../src/index.js';

const START = 1_000_000_000_000;
const timeline = (): AudioTimeline =>
  new AudioTimeline({ sampleRate: 1_000, startUs: START, capacitySamples: 100, snapSamples: 3 });
const packet = (value: number, n = 10): Float32Array => new Float32Array(n).fill(value);
const samples = (buf: Buffer): number[] => Array.from({ length: buf.length / 2 }, (_, i) => buf.readInt16LE(i * 2));
const q = (v: number): number => Math.round(v * 32767);

test('a packet lands at its capture time; before it and after it, silence', () => {
  const t = timeline();
  t.place(START + 5_000, packet(0.5, 4)); // 5 ms at 1 kHz = sample 5
  assert.deepEqual(samples(t.read(12)), [0, 0, 0, 0, 0, q(0.5), q(0.5), q(0.5), q(0.5), 0, 0, 0]);
  assert.equal(t.position, 12);
});

test('a packet a few samples off the running end is appended contiguously (no click, no gap)', () => {
  const t = timeline();
  t.place(START, packet(0.25, 10));
  t.place(START + 12_000, packet(0.5, 10)); // ideal 12, running end 10: within snap 3
  const out = samples(t.read(22));
  assert.deepEqual(out.slice(0, 20), [...new Array<number>(10).fill(q(0.25)), ...new Array<number>(10).fill(q(0.5))]);
  assert.deepEqual(out.slice(20), [0, 0]);
  assert.equal(t.stats.reanchored, 0);
});

test('a packet far from the running end re-anchors at its capture time: the gap is silence', () => {
  const t = timeline();
  t.place(START, packet(0.25, 10));
  t.place(START + 30_000, packet(0.5, 10));
  const out = samples(t.read(40));
  assert.deepEqual(out.slice(10, 30), new Array<number>(20).fill(0));
  assert.deepEqual(out.slice(30, 40), new Array<number>(10).fill(q(0.5)));
  assert.equal(t.stats.reanchored, 1);
});

test('late audio is cut to what is still ahead, or dropped whole; too early is dropped; all counted', () => {
  const t = timeline();
  t.read(20);
  t.place(START + 15_000, packet(0.5, 10)); // samples 15..24, 20..24 still ahead
  assert.deepEqual(samples(t.read(6)), [q(0.5), q(0.5), q(0.5), q(0.5), q(0.5), 0]);
  t.place(START, packet(0.5, 10)); // entirely behind
  assert.equal(t.stats.late, 1);
  t.place(START + 1_000_000, packet(0.5, 10)); // 1000 samples ahead, capacity 100
  assert.equal(t.stats.tooEarly, 1);
});

test('samples are clipped to 16 bits, and read positions wrap around the ring', () => {
  const t = timeline();
  for (let i = 0; i < 30; i++) {
    t.place(START + i * 10_000, packet(i % 2 ? 2 : -2, 10));
    const out = samples(t.read(10));
    assert.deepEqual(out, new Array<number>(10).fill(i % 2 ? 32767 : -32767));
  }
});
