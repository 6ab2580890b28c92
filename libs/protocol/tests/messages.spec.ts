import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  CloseCode,
  decodeEnvelope,
  decodeLevelsPayload,
  decodePresence,
  encodeLevelsEnvelope,
  encodePresence,
  ENVELOPE_LIMITS,
  InvalidMessageError,
  parseClientMessage,
  parseServerMessage,
  PRESENCE_INTERVAL_MS,
  PRESENCE_TIMEOUT_MS,
  presenceKind,
  presenceListens,
  serverMessage,
  utf8Encode,
  validateLevels,
  type PresenceMessage,
} from '../src/index.js';
import { clientMessageArb, levelsArb, presenceArb, serverMessageArb } from './support/arbitraries.js';

describe('JSON messages round trip (property)', () => {
  test('presence: decodePresence(encodePresence(m)) equals m', () => {
    fc.assert(
      fc.property(presenceArb, (m) => {
        assert.deepEqual(decodePresence(encodePresence(m)), m);
      }),
      { numRuns: 1000 },
    );
  });

  test('presence: unknown fields are ignored on decode and dropped on encode', () => {
    fc.assert(
      fc.property(presenceArb, fc.jsonValue({ maxDepth: 2 }), (m, extra) => {
        const withExtra = { ...m, futureField: extra };
        assert.deepEqual(decodePresence(utf8Encode(JSON.stringify(withExtra))), m);
        assert.deepEqual(encodePresence(withExtra as PresenceMessage), encodePresence(m));
      }),
      { numRuns: 300 },
    );
  });

  test('presence: video and audio may be absent, and then read as null', () => {
    const m = { v: 1, type: 'join', room: 'r', source: 's', name: '', ts: 0 };
    assert.deepEqual(decodePresence(utf8Encode(JSON.stringify(m))), { ...m, video: null, audio: null });
  });

  test('presence: kind and listens stay absent when absent, and read as agent and false', () => {
    const m = { v: 1, type: 'join', room: 'r', source: 's', name: '', ts: 0, video: null, audio: null } as const;
    const old = decodePresence(utf8Encode(JSON.stringify(m)));
    assert.deepEqual(old, m);
    assert.equal(presenceKind(old), 'agent');
    assert.equal(presenceListens(old), false);
    const p = decodePresence(utf8Encode(JSON.stringify({ ...m, kind: 'participant', listens: true })));
    assert.equal(presenceKind(p), 'participant');
    assert.equal(presenceListens(p), true);
    assert.equal(presenceListens({ ...m, listens: false }), false);
  });

  test('source info: kind reads as agent when a gateway did not send it', () => {
    const src = { id: 'cam', name: 'Cam', video: null, audio: null, since: 0 };
    const msg = parseServerMessage(JSON.stringify({ type: 'source-joined', room: 'demo', source: src }));
    assert.deepEqual(msg, { type: 'source-joined', room: 'demo', source: { ...src, kind: 'agent' } });
  });

  test('levels: the payload of encodeLevelsEnvelope decodes to the same message', () => {
    fc.assert(
      fc.property(levelsArb, fc.nat({ max: 0xffffffff }), fc.maxSafeNat(), (levels, seq, captureTimeUs) => {
        const env = decodeEnvelope(encodeLevelsEnvelope(levels, seq, captureTimeUs));
        assert.equal(env.kind, 'levels');
        assert.equal(env.seq, seq);
        assert.equal(env.captureTimeUs, captureTimeUs);
        assert.deepEqual(decodeLevelsPayload(env.payload), levels);
        assert.deepEqual(validateLevels(levels), levels);
      }),
      { numRuns: 500 },
    );
  });

  test('levels: a full room of 256 sources fits the levels payload limit', () => {
    const sources = Array.from({ length: 256 }, (_, i) => ({
      source: `source-${i}-${'x'.repeat(40)}`,
      dbfs: -99.123456789,
      peakDbfs: -0.000123456789,
    }));
    const levels = { room: 'r'.repeat(64), sources, active: sources[0]?.source ?? null };
    const bytes = encodeLevelsEnvelope(levels, 0, 0);
    assert.ok(bytes.length < ENVELOPE_LIMITS.maxLevelsPayloadBytes + 21);
    assert.deepEqual(decodeLevelsPayload(decodeEnvelope(bytes).payload), levels);
  });

  test('client messages: parseClientMessage(JSON.stringify(m)) equals m', () => {
    fc.assert(
      fc.property(clientMessageArb, (m) => {
        assert.deepEqual(parseClientMessage(JSON.stringify(m)), m);
      }),
      { numRuns: 1000 },
    );
  });

  test('client messages: unknown fields are ignored, so later clients can add some', () => {
    assert.deepEqual(parseClientMessage('{"type":"join","room":"demo","layer":1}'), { type: 'join', room: 'demo' });
    assert.deepEqual(parseClientMessage('{"type":"leave","why":"tab closed"}'), { type: 'leave' });
  });

  test('join: publish makes a participant; publish:false is a plain viewer; as and publish exclude each other', () => {
    const video = { codec: 'jpeg', width: 640, height: 360, fps: 15 };
    assert.deepEqual(
      parseClientMessage(JSON.stringify({ type: 'join', room: 'r', publish: true, name: 'Ada', video })),
      {
        type: 'join',
        room: 'r',
        publish: true,
        name: 'Ada',
        video,
      },
    );
    assert.deepEqual(parseClientMessage('{"type":"join","room":"r","publish":false}'), { type: 'join', room: 'r' });
    assert.deepEqual(parseClientMessage('{"type":"join","room":"r","as":"cam-1"}'), {
      type: 'join',
      room: 'r',
      as: 'cam-1',
    });
    for (const bad of [
      '{"type":"join","room":"r","publish":"yes"}',
      '{"type":"join","room":"r","publish":true,"as":"cam-1"}',
      '{"type":"join","room":"r","as":"a.b"}',
      `{"type":"join","room":"r","publish":true,"name":"${'x'.repeat(65)}"}`,
      '{"type":"join","room":"r","publish":true,"video":{"codec":"png","width":1,"height":1,"fps":1}}',
    ]) {
      assert.throws(() => parseClientMessage(bad), InvalidMessageError, bad);
    }
  });

  test('audio: the mode is mix or sources, nothing else', () => {
    assert.deepEqual(parseClientMessage('{"type":"audio","mode":"sources"}'), { type: 'audio', mode: 'sources' });
    assert.deepEqual(parseClientMessage('{"type":"audio","mode":"mix"}'), { type: 'audio', mode: 'mix' });
    for (const bad of [
      '{"type":"audio"}',
      '{"type":"audio","mode":"Sources"}',
      '{"type":"audio","mode":"source"}',
      '{"type":"audio","mode":1}',
      '{"type":"audio","mode":null}',
    ]) {
      assert.throws(() => parseClientMessage(bad), InvalidMessageError, bad);
    }
  });

  test('roster: self is a source id when present', () => {
    assert.deepEqual(parseServerMessage('{"type":"roster","room":"r","sources":[],"self":"p-1"}'), {
      type: 'roster',
      room: 'r',
      sources: [],
      self: 'p-1',
    });
    assert.throws(
      () => parseServerMessage('{"type":"roster","room":"r","sources":[],"self":"a b"}'),
      InvalidMessageError,
    );
  });

  test('server messages: parseServerMessage(serverMessage(m)) equals m', () => {
    fc.assert(
      fc.property(serverMessageArb, (m) => {
        assert.deepEqual(parseServerMessage(serverMessage(m)), m);
      }),
      { numRuns: 1000 },
    );
  });
});

describe('constants the docs promise', () => {
  test('presence timing: heartbeat every second, gone after three', () => {
    assert.equal(PRESENCE_INTERVAL_MS, 1000);
    assert.equal(PRESENCE_TIMEOUT_MS, 3000);
  });

  test('close codes', () => {
    assert.deepEqual(CloseCode, {
      normal: 1000,
      goingAway: 1001,
      unsupportedData: 1003,
      policyViolation: 1008,
      messageTooBig: 1009,
      tryAgainLater: 1013,
    });
  });
});
