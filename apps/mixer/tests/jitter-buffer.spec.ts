import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_JITTER_OPTIONS, JitterBuffer, type Playout } from '../src/dsp/jitter-buffer.js';
import { seqAdd, seqDiff } from '../src/dsp/sequence.js';

const pkt = (seq: number): Uint8Array => Uint8Array.of(seq & 0xff);
/** Capture time of packet n of a stream, µs (20 ms apart). */
const cap = (n: number): number => 1_000_000_000 + n * 20_000;

function describe(p: Playout): string {
  return p.kind === 'packet' ? `p${p.seq}` : p.kind === 'lost' ? `L${p.seq}` : 'w';
}

/** Pushes seqs (arriving at `arrivalMs`) and pops `pops` times. */
function run(jb: JitterBuffer, seqs: number[], pops: number, arrivalMs = 0): string[] {
  for (const s of seqs) jb.push(s, pkt(s), cap(s), arrivalMs);
  return Array.from({ length: pops }, () => describe(jb.pop()));
}

test('u32 sequence arithmetic wraps', () => {
  assert.equal(seqDiff(0, 0xffffffff), 1);
  assert.equal(seqDiff(0xffffffff, 0), -1);
  assert.equal(seqDiff(5, 3), 2);
  assert.equal(seqAdd(0xffffffff, 1), 0);
  assert.equal(seqAdd(0xfffffffe, 3), 1);
});

test('waits for the start depth (60 ms = 3 packets), then plays in order', () => {
  const jb = new JitterBuffer();
  assert.equal(jb.targetMs, 60);
  assert.deepEqual(run(jb, [10, 11], 1), ['w']);
  assert.deepEqual(run(jb, [12], 3), ['p10', 'p11', 'p12']);
  assert.equal(jb.stats.played, 3);
});

test('puts reordered packets back in order', () => {
  const jb = new JitterBuffer();
  assert.deepEqual(run(jb, [2, 0, 1, 4, 3], 5), ['p0', 'p1', 'p2', 'p3', 'p4']);
  assert.equal(jb.stats.late, 0);
});

test('a missing packet with later ones buffered is reported lost, once', () => {
  const jb = new JitterBuffer();
  assert.deepEqual(run(jb, [0, 1, 3, 4], 5), ['p0', 'p1', 'L2', 'p3', 'p4']);
  assert.equal(jb.stats.lost, 1);
});

test('a packet whose turn has passed is late: dropped and counted', () => {
  const jb = new JitterBuffer();
  assert.deepEqual(run(jb, [0, 1, 3, 4], 3), ['p0', 'p1', 'L2']);
  assert.equal(jb.push(2, pkt(2), cap(2), 0), false);
  assert.equal(jb.stats.late, 1);
  assert.deepEqual(run(jb, [], 2), ['p3', 'p4']);
});

test('duplicates are dropped and counted', () => {
  const jb = new JitterBuffer();
  jb.push(0, pkt(0), cap(0), 0);
  assert.equal(jb.push(0, pkt(0), cap(0), 0), false);
  assert.equal(jb.stats.duplicate, 1);
});

test('plays across the u32 wrap-around', () => {
  const jb = new JitterBuffer();
  const seqs = [0xfffffffe, 0xffffffff, 0, 1, 2];
  assert.deepEqual(run(jb, [seqs[1]!, seqs[0]!, seqs[3]!, seqs[2]!, seqs[4]!], 5), [
    'p4294967294',
    'p4294967295',
    'p0',
    'p1',
    'p2',
  ]);
  // After the wrap, a packet from before it is late, not a new stream.
  assert.equal(jb.push(0xffffffff, pkt(0), cap(1), 0), false);
  assert.equal(jb.stats.late, 1);
  assert.equal(jb.stats.resets, 0);
});

test('an underrun waits for the target depth again instead of losing the late packet', () => {
  const jb = new JitterBuffer();
  assert.deepEqual(run(jb, [0, 1, 2], 4), ['p0', 'p1', 'p2', 'w']);
  assert.equal(jb.stats.underruns, 1);
  // Packet 3 arrives after its slot: it is played once the depth is back, not dropped.
  assert.deepEqual(run(jb, [3, 4], 1), ['w']);
  assert.deepEqual(run(jb, [5], 3), ['p3', 'p4', 'p5']);
  assert.equal(jb.stats.late, 0);
});

test('a source that restarts its numbering is followed, not counted late forever', () => {
  const jb = new JitterBuffer();
  run(jb, [1000, 1001, 1002], 3);
  assert.deepEqual(run(jb, [0, 1, 2], 3), ['p0', 'p1', 'p2']);
  assert.equal(jb.stats.resets, 1);
});

test('never holds more than max depth plus the excess: the oldest audio goes first', () => {
  const jb = new JitterBuffer();
  for (let s = 0; s < 100; s++) jb.push(s, pkt(s), cap(s), 0);
  const capacity = DEFAULT_JITTER_OPTIONS.maxMs / 20 + DEFAULT_JITTER_OPTIONS.excessFrames;
  assert.equal(jb.size, capacity);
  assert.equal(jb.stats.trimmed, 100 - capacity);
});

test('depth adapts: steady arrivals settle at the minimum, jittery ones grow it, bounded by the maximum', () => {
  const steady = new JitterBuffer();
  for (let s = 0; s < 50; s++) steady.push(s, pkt(s), cap(s), 10_000 + s * 20);
  assert.equal(steady.jitter, 0);
  assert.equal(steady.targetMs, 40);

  // Arrivals alternately on time and 30 ms late: |D| = 30 ms per packet, J → 30 ms.
  const jittery = new JitterBuffer();
  for (let s = 0; s < 200; s++) jittery.push(s, pkt(s), cap(s), 10_000 + s * 20 + (s % 2) * 30);
  assert.ok(Math.abs(jittery.jitter - 30) < 0.01, `jitter ${jittery.jitter}`);
  // 20 + 4 × 30 = 140 ms.
  assert.equal(jittery.targetMs, 140);

  const wild = new JitterBuffer();
  for (let s = 0; s < 200; s++) wild.push(s, pkt(s), cap(s), 10_000 + s * 20 + (s % 2) * 300);
  assert.equal(wild.targetMs, 200);
});

test('a buffer deeper than target plus the excess skips its oldest packets when it plays', () => {
  const jb = new JitterBuffer({ ...DEFAULT_JITTER_OPTIONS, warmupPackets: 0 });
  // Zero jitter: target 40 ms (2 frames), excess 2 frames: 6 buffered packets → trim 2.
  for (let s = 0; s < 6; s++) jb.push(s, pkt(s), cap(s), s * 20);
  const out = run(jb, [], 1);
  assert.deepEqual(out, ['p2']);
  assert.equal(jb.stats.trimmed, 2);
});

test('bad bounds are refused', () => {
  assert.throws(() => new JitterBuffer({ ...DEFAULT_JITTER_OPTIONS, minMs: 100, startMs: 60 }), RangeError);
});
