import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SpeakerDetector } from '../src/dsp/speaker-detector.js';

const opts = { thresholdDbfs: -50, leadDb: 6, holdMs: 300, releaseMs: 1000 };
/** Feeds one levels window every 100 ms; returns the active speaker after each. */
/** `n` copies of one levels window. */
const times = (n: number, w: Record<string, number>): Array<Record<string, number>> =>
  Array.from({ length: n }, () => w);

function feed(d: SpeakerDetector, windows: Array<Record<string, number>>, startMs = 0): Array<string | null> {
  return windows.map((w, i) => d.update(new Map(Object.entries(w)), startMs + i * 100));
}

test('the first speaker becomes active after holding the lead for 300 ms', () => {
  const d = new SpeakerDetector(opts);
  const w = { a: -20, b: -60 };
  assert.deepEqual(feed(d, [w, w, w, w, w]), [null, null, null, 'a', 'a']);
});

test('nobody above the threshold: nobody active', () => {
  const d = new SpeakerDetector(opts);
  assert.deepEqual(feed(d, times(6, { a: -70, b: -55 })), Array(6).fill(null));
});

test('two people at similar levels do not flicker: a lead under 6 dB never takes over', () => {
  const d = new SpeakerDetector(opts);
  feed(d, times(4, { a: -20, b: -30 }));
  assert.equal(d.current, 'a');
  const alternating = Array.from({ length: 20 }, (_, i) => (i % 2 ? { a: -20, b: -16 } : { a: -16, b: -20 }));
  assert.deepEqual(feed(d, alternating, 400), Array(20).fill('a'));
});

test('a challenger must lead by 6 dB for 300 ms without a break', () => {
  const d = new SpeakerDetector(opts);
  feed(d, times(4, { a: -20, b: -40 }));
  const lead = { a: -30, b: -20 };
  const tie = { a: -22, b: -20 };
  // Led for 200 ms, then a break: no switch; then a full 300 ms lead: switch.
  assert.deepEqual(feed(d, [lead, lead, lead, tie, lead, lead, lead, lead], 400), [
    'a',
    'a',
    'a',
    'a',
    'a',
    'a',
    'a',
    'b',
  ]);
});

test('the active speaker is released after 1 s of silence, or at once when it leaves', () => {
  const d = new SpeakerDetector(opts);
  feed(d, times(4, { a: -20 }));
  const quiet = times(12, { a: -80 });
  const out = feed(d, quiet, 400);
  assert.equal(out[9], 'a');
  assert.equal(out[10], null);

  const e = new SpeakerDetector(opts);
  feed(e, times(4, { a: -20, b: -60 }));
  assert.equal(e.update(new Map([['b', -60]]), 400), null);
});
