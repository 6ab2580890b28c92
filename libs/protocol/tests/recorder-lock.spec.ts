import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  decodeRecorderLock,
  encodeRecorderLock,
  parseRecorderLockKey,
  RECORDER_LOCK_BUCKET,
  recorderLockKey,
} from '../src/index.js';

/* The recorders' room lock bucket: keys and values (docs/PROTOCOL.md, "Recorder room locks"). */

const bytes = (text: string): Uint8Array => new TextEncoder().encode(text);
const enc = (v: unknown): Uint8Array => bytes(JSON.stringify(v));

test('the bucket name, a key and the exact bytes of a lock', () => {
  assert.equal(RECORDER_LOCK_BUCKET, 'vidchat-recorder-locks');
  assert.equal(recorderLockKey('room-1'), 'room.room-1');
  const lock = { owner: 'recorder-a', recording: '20261202-055804-05105d51', atMs: 1_700_000_000_000 };
  assert.equal(
    new TextDecoder().decode(encodeRecorderLock(lock)),
    '{"owner":"recorder-a","recording":"20261202-055804-05105d51","atMs":1700000000000}',
  );
});

test('keys exist only for valid room ids, and parse back', () => {
  for (const bad of ['', 'a b', 'a.b', 'a*', 'a>', '-x', 'x'.repeat(65)]) assert.equal(recorderLockKey(bad), null, bad);
  assert.equal(parseRecorderLockKey('room.abc_D-1'), 'abc_D-1');
  assert.equal(parseRecorderLockKey('mixer.abc'), null);
  assert.equal(parseRecorderLockKey('room.a.b'), null);
});

test('a lock survives encode/decode; malformed values are null', () => {
  const lock = { owner: 'recorder-a', recording: 'rec-1', atMs: 5 };
  assert.deepEqual(decodeRecorderLock(encodeRecorderLock(lock)), lock);
  // Fields a later version adds are ignored.
  assert.deepEqual(decodeRecorderLock(enc({ ...lock, node: 'n1' })), lock);
  assert.equal(decodeRecorderLock(bytes('not json')), null);
  assert.equal(decodeRecorderLock(new Uint8Array([0xff, 0xfe])), null, 'not UTF-8');
  assert.equal(decodeRecorderLock(enc(null)), null);
  assert.equal(decodeRecorderLock(enc([lock])), null);
  assert.equal(decodeRecorderLock(enc({ ...lock, owner: '' })), null);
  assert.equal(decodeRecorderLock(enc({ ...lock, owner: 7 })), null);
  assert.equal(decodeRecorderLock(enc({ ...lock, recording: 'a b' })), null);
  assert.equal(decodeRecorderLock(enc({ ...lock, atMs: '5' })), null);
  assert.equal(decodeRecorderLock(enc({ owner: 'x', recording: 'y' })), null);
});
