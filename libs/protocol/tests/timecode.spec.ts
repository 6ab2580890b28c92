import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readTimecode, TIMECODE_BITS, timecodeBlockHeight, timecodeBlockWidth, unwrapTimecode } from '../src/index.js';

/** A frame's luma with `value` drawn as the timecode, the way the agent's drawbox filters draw it. */
function drawn(value: number, width: number): (x: number, y: number) => number {
  const bw = timecodeBlockWidth(width);
  const bh = timecodeBlockHeight(width);
  return (x, y) => {
    const bit = Math.floor(x / bw);
    if (y >= bh || bit >= TIMECODE_BITS) return 90;
    return Math.floor(value / 2 ** bit) % 2 === 1 ? 235 : 16;
  };
}

test('timecode: blocks scale with the frame, and read back what was drawn, in both layer sizes', () => {
  assert.deepEqual([timecodeBlockWidth(640), timecodeBlockHeight(640)], [16, 8]);
  assert.deepEqual([timecodeBlockWidth(320), timecodeBlockHeight(320)], [8, 4]);
  assert.deepEqual([timecodeBlockWidth(64), timecodeBlockHeight(64)], [4, 4]);
  for (const value of [0, 1, 899_594_195, 2 ** 32 - 1]) {
    for (const width of [320, 640, 1280]) assert.equal(readTimecode(drawn(value, width), width), value);
  }
});

test('timecode: unwraps to the nearest epoch ms at or before now', () => {
  const now = 1_796_195_892_846;
  assert.equal(unwrapTimecode(now % 2 ** 32, now), now);
  assert.equal(unwrapTimecode((now - 40) % 2 ** 32, now), now - 40);
  // A code a little after a wrap of the low bits, read just after it.
  const wrap = Math.ceil(now / 2 ** 32) * 2 ** 32;
  assert.equal(unwrapTimecode((wrap - 5) % 2 ** 32, wrap + 10), wrap - 5);
});
