import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rankMixers } from '../src/lease/rendezvous.js';

/* Rendezvous ranking of the mixers for a room: pure. (The lease values are in libs/protocol.) */

test('rendezvous ranking: every mixer computes the same order; rooms spread; a leaver moves only its rooms', () => {
  const mixers = ['m1', 'm2', 'm3'];
  const rooms = Array.from({ length: 300 }, (_, i) => `room${i}`);
  const first = new Map(rooms.map((r) => [r, rankMixers(r, mixers)[0]!]));
  for (const r of rooms) assert.deepEqual(rankMixers(r, [...mixers].reverse()), rankMixers(r, mixers));
  for (const m of mixers) {
    const n = [...first.values()].filter((x) => x === m).length;
    assert.ok(n > 60 && n < 140, `${m} first for ${n} of 300 rooms`);
  }
  for (const r of rooms) {
    const without = rankMixers(r, ['m1', 'm2'])[0];
    if (first.get(r) !== 'm3') assert.equal(without, first.get(r), `${r} stays where it was`);
  }
});
