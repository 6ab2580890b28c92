import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  continuedSeq,
  decodeAnnounce,
  decodeLease,
  encodeAnnounce,
  encodeLease,
  MAX_CONTINUE_MS,
  MIXER_LEASE_BUCKET,
  mixerAnnounceKey,
  roomLeaseKey,
} from '../src/index.js';

/* The mixers' lease bucket: keys, values and the continuation of sequence numbers (docs/PROTOCOL.md, "Mixer leases"). */

const bytes = (text: string): Uint8Array => new TextEncoder().encode(text);

test('the bucket name and the exact bytes of a lease and an announcement', () => {
  assert.equal(MIXER_LEASE_BUCKET, 'vidchat-mixer-leases');
  const lease = { owner: 'mixer-a', seq: 0xfffffff0, atMs: 1_700_000_000_000, released: false };
  assert.equal(
    new TextDecoder().decode(encodeLease(lease)),
    '{"owner":"mixer-a","seq":4294967280,"atMs":1700000000000,"released":false}',
  );
  assert.equal(
    new TextDecoder().decode(encodeAnnounce({ id: 'mixer-a', rooms: 3, full: false })),
    '{"id":"mixer-a","rooms":3,"full":false}',
  );
});

test('a lease and an announcement survive encode/decode; malformed values are null', () => {
  const lease = { owner: 'mixer-a', seq: 0xfffffff0, atMs: 1_700_000_000_000, released: false };
  assert.deepEqual(decodeLease(encodeLease(lease)), lease);
  const a = { id: 'mixer-a', rooms: 3, full: false };
  assert.deepEqual(decodeAnnounce(encodeAnnounce(a)), a);
  const enc = (v: unknown): Uint8Array => bytes(JSON.stringify(v));
  // Fields a later version adds are ignored.
  assert.deepEqual(decodeLease(enc({ ...lease, epoch: 7 })), lease);
  assert.equal(decodeLease(bytes('not json')), null);
  assert.equal(decodeLease(new Uint8Array([0xff, 0xfe])), null, 'not UTF-8');
  assert.equal(decodeLease(enc(null)), null);
  assert.equal(decodeLease(enc([lease])), null);
  assert.equal(decodeLease(enc({ ...lease, seq: -1 })), null);
  assert.equal(decodeLease(enc({ ...lease, seq: 2 ** 32 })), null);
  assert.equal(decodeLease(enc({ ...lease, seq: 1.5 })), null);
  assert.equal(decodeLease(enc({ ...lease, owner: 7 })), null);
  assert.equal(decodeLease(enc({ ...lease, released: 'no' })), null);
  assert.equal(decodeAnnounce(enc({ id: 'x', rooms: '1', full: false })), null);
  assert.equal(decodeAnnounce(bytes('{')), null);
});

test('keys: only ids a key-value key can hold', () => {
  assert.equal(roomLeaseKey('demo-1_a'), 'room.demo-1_a');
  assert.equal(roomLeaseKey('a.b'), null);
  assert.equal(roomLeaseKey('a b'), null);
  assert.equal(roomLeaseKey('a*'), null);
  assert.equal(roomLeaseKey(''), null);
  assert.equal(mixerAnnounceKey('mixer-1'), 'mixer.mixer-1');
  assert.throws(() => mixerAnnounceKey('a*b'));
  assert.throws(() => mixerAnnounceKey(''));
});

test('a new owner continues the sequence by the 20 ms ticks elapsed, wrapping at 2^32', () => {
  const prev = { owner: 'a', seq: 1_000, atMs: 10_000, released: false };
  assert.equal(continuedSeq(prev, 10_000 + 1_500), 1_075);
  assert.equal(continuedSeq(prev, 10_000 + 29), 1_001, 'at least one past the stored one');
  assert.equal(continuedSeq({ ...prev, seq: 0xffffffff }, 10_000 + 40), 1);
  // A clock behind the stored time, or a value far in the past: one past the stored seq.
  assert.equal(continuedSeq(prev, 9_000), 1_001);
  assert.equal(continuedSeq(prev, 10_000 + MAX_CONTINUE_MS + 1), 1_001);
  assert.equal(continuedSeq({ ...prev, seq: 0xffffffff }, 9_000), 0);
});
