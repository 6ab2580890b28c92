import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  continuedSeq,
  decodeAnnounce,
  decodeLease,
  encodeAnnounce,
  encodeLease,
  MAX_CONTINUE_MS,
  mixerKey,
  roomKey,
} from '../src/lease/lease-value.js';
import { rankMixers } from '../src/lease/rendezvous.js';

/* The lease values, the continuation of sequence numbers and rendezvous ranking: pure. */

test('a lease and an announcement survive encode/decode; malformed values are null', () => {
  const lease = { owner: 'mixer-a', seq: 0xfffffff0, atMs: 1_700_000_000_000, released: false };
  assert.deepEqual(decodeLease(encodeLease(lease)), lease);
  const a = { id: 'mixer-a', rooms: 3, full: false };
  assert.deepEqual(decodeAnnounce(encodeAnnounce(a)), a);
  const enc = (v: unknown): Uint8Array => new TextEncoder().encode(JSON.stringify(v));
  assert.equal(decodeLease(new TextEncoder().encode('not json')), null);
  assert.equal(decodeLease(enc(null)), null);
  assert.equal(decodeLease(enc({ ...lease, seq: -1 })), null);
  assert.equal(decodeLease(enc({ ...lease, seq: 2 ** 32 })), null);
  assert.equal(decodeLease(enc({ ...lease, seq: 1.5 })), null);
  assert.equal(decodeLease(enc({ ...lease, owner: 7 })), null);
  assert.equal(decodeAnnounce(enc({ id: 'x', rooms: '1', full: false })), null);
});

test('keys: only ids a key-value key can hold', () => {
  assert.equal(roomKey('demo-1_a'), 'room.demo-1_a');
  assert.equal(roomKey('a.b'), null);
  assert.equal(roomKey('a b'), null);
  assert.equal(roomKey(''), null);
  assert.equal(mixerKey('mixer-1'), 'mixer.mixer-1');
  assert.throws(() => mixerKey('a*b'));
});

test('a new owner continues the sequence by the ticks elapsed, wrapping at 2^32', () => {
  const prev = { owner: 'a', seq: 1_000, atMs: 10_000, released: false };
  assert.equal(continuedSeq(prev, 10_000 + 1_500), 1_075);
  assert.equal(continuedSeq(prev, 10_000 + 29), 1_001, 'at least one past the stored one');
  assert.equal(continuedSeq({ ...prev, seq: 0xffffffff }, 10_000 + 40), 1);
  // A clock behind the stored time, or a value far in the past: one past the stored seq.
  assert.equal(continuedSeq(prev, 9_000), 1_001);
  assert.equal(continuedSeq(prev, 10_000 + MAX_CONTINUE_MS + 1), 1_001);
});

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
