import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  decodeRecordingEvent,
  decodeRecordingReply,
  decodeRecordingRequest,
  encodeRecordingEvent,
  encodeRecordingReply,
  encodeRecordingRequest,
  InvalidIdError,
  InvalidMessageError,
  parseRecordingObjectName,
  recordingObjectName,
  recSubject,
  recWildcards,
  tryParseRecSubject,
  tryParseSubject,
  utf8Encode,
  type RecordingInfo,
} from '../src/index.js';
import { idArb } from './support/arbitraries.js';

const info: RecordingInfo = {
  id: '20261202-060000-a1b2c3',
  room: 'demo',
  state: 'done',
  startedAt: 1_796_000_000_000,
  durationMs: 12_040,
  bytes: 1_234_567,
  object: 'demo/20261202-060000-a1b2c3.mp4',
};

test('recorder subjects are built from valid ids only and parse back', () => {
  assert.equal(recSubject('demo', 'start'), 'vidchat.rec.demo.start');
  assert.deepEqual(tryParseRecSubject('vidchat.rec.demo.stop'), { room: 'demo', action: 'stop' });
  assert.deepEqual(tryParseRecSubject(recSubject('r-1', 'events')), { room: 'r-1', action: 'events' });
  assert.equal(recWildcards.allRooms('list'), 'vidchat.rec.*.list');
  assert.throws(() => recSubject('a.b', 'start'), InvalidIdError);
  for (const bad of [
    'vidchat.rec.demo',
    'vidchat.rec.demo.pause',
    'vidchat.rec.*.start',
    'vidchat.src.demo.start',
    'vidchat.rec.demo.start.x',
  ]) {
    assert.equal(tryParseRecSubject(bad), null, bad);
  }
  // The general media parser does not mistake recorder subjects for media.
  assert.equal(tryParseSubject('vidchat.rec.demo.start'), null);
});

test('requests round-trip; stop needs a valid id', () => {
  assert.deepEqual(decodeRecordingRequest('start', encodeRecordingRequest({ action: 'start' })), { action: 'start' });
  assert.deepEqual(decodeRecordingRequest('list', encodeRecordingRequest({ action: 'list' })), { action: 'list' });
  assert.deepEqual(decodeRecordingRequest('stop', encodeRecordingRequest({ action: 'stop', id: 'x1' })), {
    action: 'stop',
    id: 'x1',
  });
  assert.equal(new TextDecoder().decode(encodeRecordingRequest({ action: 'stop', id: 'x1' })), '{"v":1,"id":"x1"}');
  for (const bad of ['{"v":1}', '{"v":1,"id":"../x"}', '{"v":2,"id":"x"}', 'null', '[]', '{']) {
    assert.throws(() => decodeRecordingRequest('stop', utf8Encode(bad)), InvalidMessageError, bad);
  }
});

test('replies round-trip: one recording, a list, a typed error', () => {
  const one = { ok: true as const, recording: info };
  assert.deepEqual(decodeRecordingReply(encodeRecordingReply(one)), one);
  const list = {
    ok: true as const,
    bucket: 'vidchat-recordings',
    recordings: [info, { ...info, state: 'recording' as const, object: null }],
  };
  assert.deepEqual(decodeRecordingReply(encodeRecordingReply(list)), list);
  const err = { ok: false as const, error: { code: 'not-found' as const, message: 'no recording x in demo' } };
  assert.deepEqual(decodeRecordingReply(encodeRecordingReply(err)), err);
  assert.equal(
    new TextDecoder().decode(encodeRecordingReply(err)),
    '{"v":1,"ok":false,"error":{"code":"not-found","message":"no recording x in demo"}}',
  );
});

test('replies and events that fail their schema give InvalidMessageError', () => {
  const bad = [
    '{"v":1,"ok":false,"error":{"code":"teapot","message":"x"}}',
    '{"v":1,"ok":"yes"}',
    '{"v":1,"ok":true,"recording":{"id":"x"}}',
    `{"v":1,"ok":true,"recording":${JSON.stringify({ ...info, state: 'paused' })}}`,
    `{"v":1,"ok":true,"recording":${JSON.stringify({ ...info, bytes: -1 })}}`,
    `{"v":1,"ok":true,"recordings":[]}`,
  ];
  for (const b of bad) assert.throws(() => decodeRecordingReply(utf8Encode(b)), InvalidMessageError, b);
  assert.throws(() => decodeRecordingEvent(utf8Encode('{"v":1,"type":"chat"}')), InvalidMessageError);
});

test('events round-trip', () => {
  const ev = { type: 'recording' as const, recording: { ...info, state: 'recording' as const, object: null } };
  assert.deepEqual(decodeRecordingEvent(encodeRecordingEvent(ev)), ev);
});

test('object names: <room>/<id>.mp4, parsed back, nothing else accepted', () => {
  assert.equal(recordingObjectName('demo', 'r1'), 'demo/r1.mp4');
  assert.deepEqual(parseRecordingObjectName('demo/r1.mp4'), { room: 'demo', id: 'r1' });
  for (const bad of ['demo/r1', 'demo/../r1.mp4', 'a/b/c.mp4', '/r1.mp4', 'demo/.mp4']) {
    assert.equal(parseRecordingObjectName(bad), null, bad);
  }
  assert.throws(() => recordingObjectName('a b', 'r1'), InvalidMessageError);
});

test('random bytes only ever give a typed error', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
      for (const fn of [
        () => decodeRecordingReply(bytes),
        () => decodeRecordingEvent(bytes),
        () => decodeRecordingRequest('stop', bytes),
      ]) {
        try {
          fn();
        } catch (e) {
          assert.ok(e instanceof InvalidMessageError);
        }
      }
    }),
  );
});

test('any valid room and id make a parseable subject and object name', () => {
  fc.assert(
    fc.property(idArb, idArb, (room, rid) => {
      assert.deepEqual(tryParseRecSubject(recSubject(room, 'stop')), { room, action: 'stop' });
      assert.deepEqual(parseRecordingObjectName(recordingObjectName(room, rid)), { room, id: rid });
    }),
  );
});
