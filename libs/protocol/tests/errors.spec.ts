import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  assertValidId,
  BadMagicError,
  decodeEnvelope,
  decodeLevelsPayload,
  decodePresence,
  encodeEnvelope,
  encodeLevelsEnvelope,
  encodePresence,
  InvalidFieldError,
  InvalidIdError,
  InvalidMessageError,
  MAX_CLIENT_MESSAGE_BYTES,
  InvalidSubjectError,
  parseClientMessage,
  parseServerMessage,
  parseSubject,
  PayloadTooLargeError,
  ProtocolError,
  TrailingBytesError,
  TruncatedError,
  UnknownKindError,
  UnsupportedVersionError,
  utf8Encode,
  validatePresence,
  videoSubject,
  ENVELOPE_LIMITS,
  MAX_PRESENCE_BYTES,
  type Envelope,
  type PresenceMessage,
  type ProtocolErrorCode,
} from '../src/index.js';

/*
 * One test per error: each asserts the class AND the stable code, because
 * callers are promised both (docs/PROTOCOL.md, "Errors").
 */

type ErrorClass = new (...args: never[]) => ProtocolError;

function assertProtocolError(
  fn: () => unknown,
  cls: ErrorClass,
  code: ProtocolErrorCode,
  extra: Record<string, unknown> = {},
): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof cls, `expected ${cls.name}, got ${String(err)}`);
    assert.ok(err instanceof ProtocolError);
    assert.equal(err.code, code);
    assert.equal(err.name, cls.name);
    for (const [key, value] of Object.entries(extra)) assert.equal(Reflect.get(err, key), value, key);
    return true;
  });
}

const SOURCE = 'cam-1';
const N = SOURCE.length;
const envelopes: Record<Envelope['kind'], Envelope> = {
  video: {
    kind: 'video',
    source: SOURCE,
    seq: 5,
    captureTimeUs: 1_767_225_600_000_000,
    width: 640,
    height: 360,
    codec: 'jpeg',
    layer: 0,
    payload: new Uint8Array([0xff, 0xd8, 0xff, 0xd9]),
  },
  audio: {
    kind: 'audio',
    source: SOURCE,
    seq: 6,
    captureTimeUs: 1_767_225_600_020_000,
    codec: 'opus',
    sampleRate: 48000,
    channels: 1,
    durationUs: 20_000,
    payload: new Uint8Array([0xf8, 0xff, 0xfe]),
  },
  mixedAudio: {
    kind: 'mixedAudio',
    source: '',
    seq: 7,
    captureTimeUs: 1_767_225_600_040_000,
    codec: 'opus',
    sampleRate: 48000,
    channels: 2,
    durationUs: 20_000,
    payload: new Uint8Array([0xfc, 0xff, 0xfe]),
  },
  levels: {
    kind: 'levels',
    source: '',
    seq: 8,
    captureTimeUs: 1_767_225_600_060_000,
    payload: utf8Encode('{"room":"demo","sources":[],"active":null}'),
  },
};
const kinds = Object.keys(envelopes) as Envelope['kind'][];
const valid = (kind: Envelope['kind']): Uint8Array => encodeEnvelope(envelopes[kind]);

/** A copy of `bytes` with a big-endian unsigned integer of `size` bytes written at `offset`. */
function patch(bytes: Uint8Array, offset: number, size: 1 | 2 | 4, value: number): Uint8Array {
  const out = bytes.slice();
  const view = new DataView(out.buffer);
  if (size === 1) view.setUint8(offset, value);
  else if (size === 2) view.setUint16(offset, value);
  else view.setUint32(offset, value);
  return out;
}

/** Offset of the payload length field, per the byte table. */
const payloadLengthAt = (kind: Envelope['kind']): number =>
  ({ video: 23 + N, audio: 27 + N, mixedAudio: 27, levels: 17 })[kind];

describe('decodeEnvelope errors', () => {
  test('ERR_TRUNCATED: every cut point of a valid envelope of every kind', () => {
    for (const kind of kinds) {
      const bytes = valid(kind);
      for (let cut = 0; cut < bytes.length; cut++) {
        assertProtocolError(() => decodeEnvelope(bytes.subarray(0, cut)), TruncatedError, 'ERR_TRUNCATED');
      }
    }
  });

  test('ERR_TRUNCATED: a payload length pointing past the end', () => {
    const bytes = valid('video');
    assertProtocolError(
      () => decodeEnvelope(patch(bytes, payloadLengthAt('video'), 4, 5)),
      TruncatedError,
      'ERR_TRUNCATED',
    );
  });

  test('ERR_BAD_MAGIC: any other first two bytes, also on short input', () => {
    for (const kind of kinds) {
      assertProtocolError(() => decodeEnvelope(patch(valid(kind), 0, 2, 0x4356)), BadMagicError, 'ERR_BAD_MAGIC');
      assertProtocolError(() => decodeEnvelope(patch(valid(kind), 1, 1, 0x44)), BadMagicError, 'ERR_BAD_MAGIC');
    }
    assertProtocolError(() => decodeEnvelope(utf8Encode('{"type":"join"}')), BadMagicError, 'ERR_BAD_MAGIC');
    assertProtocolError(() => decodeEnvelope(new Uint8Array([0xff, 0xd8])), BadMagicError, 'ERR_BAD_MAGIC');
  });

  test('ERR_UNSUPPORTED_VERSION: version 0, 2 and 255, with the version on the error', () => {
    for (const version of [0, 2, 255]) {
      assertProtocolError(
        () => decodeEnvelope(patch(valid('video'), 2, 1, version)),
        UnsupportedVersionError,
        'ERR_UNSUPPORTED_VERSION',
        { version },
      );
    }
  });

  test('ERR_UNKNOWN_KIND: kind bytes 0, 5 and 255', () => {
    for (const kind of [0, 5, 255]) {
      assertProtocolError(
        () => decodeEnvelope(patch(valid('levels'), 3, 1, kind)),
        UnknownKindError,
        'ERR_UNKNOWN_KIND',
      );
    }
  });

  describe('ERR_INVALID_FIELD, one per field', () => {
    const invalid = (bytes: Uint8Array, field: string): void =>
      assertProtocolError(() => decodeEnvelope(bytes), InvalidFieldError, 'ERR_INVALID_FIELD', { field });

    test('captureTimeUs at or above 2^53', () => {
      invalid(patch(valid('video'), 8, 4, 0x0020_0000), 'captureTimeUs');
      invalid(patch(valid('audio'), 8, 4, 0xffff_ffff), 'captureTimeUs');
    });

    test('source: id length not allowed for the kind', () => {
      invalid(patch(valid('video'), 16, 1, 0), 'source');
      invalid(patch(valid('audio'), 16, 1, 65), 'source');
      invalid(patch(valid('mixedAudio'), 16, 1, 1), 'source');
      invalid(patch(valid('levels'), 16, 1, 3), 'source');
    });

    test('source: characters outside the id pattern', () => {
      for (const [at, byte] of [
        [17, 0x2d], // "-" may not lead
        [17, 0x5f], // "_" may not lead
        [19, 0x2e], // "." would split a subject token
        [19, 0x2a], // "*" is a NATS wildcard
        [20, 0x20],
        [18, 0xe9], // non-ASCII
        [18, 0x00],
      ] as const) {
        invalid(patch(valid('video'), at, 1, byte), 'source');
        invalid(patch(valid('audio'), at, 1, byte), 'source');
      }
    });

    test('payload: a declared length of zero', () => {
      for (const kind of kinds) {
        const bytes = valid(kind);
        const at = payloadLengthAt(kind);
        invalid(patch(bytes, at, 4, 0).subarray(0, at + 4), 'payload');
      }
    });

    test('codec: a video codec other than JPEG, an audio codec other than Opus', () => {
      invalid(patch(valid('video'), 21 + N, 1, 2), 'codec');
      invalid(patch(valid('video'), 21 + N, 1, 0), 'codec');
      invalid(patch(valid('audio'), 17 + N, 1, 2), 'codec');
      invalid(patch(valid('mixedAudio'), 17, 1, 0), 'codec');
    });

    test('width and height: 0 and above maxVideoDimension', () => {
      const max = ENVELOPE_LIMITS.maxVideoDimension;
      invalid(patch(valid('video'), 17 + N, 2, 0), 'width');
      invalid(patch(valid('video'), 17 + N, 2, max + 1), 'width');
      invalid(patch(valid('video'), 19 + N, 2, 0), 'height');
      invalid(patch(valid('video'), 19 + N, 2, 0xffff), 'height');
    });

    test('channels: 0 and 3', () => {
      invalid(patch(valid('audio'), 18 + N, 1, 0), 'channels');
      invalid(patch(valid('mixedAudio'), 18, 1, 3), 'channels');
    });

    test('sampleRate: not an Opus rate', () => {
      for (const rate of [0, 44_100, 96_000, 0xffff_ffff]) {
        invalid(patch(valid('audio'), 19 + N, 4, rate), 'sampleRate');
        invalid(patch(valid('mixedAudio'), 19, 4, rate), 'sampleRate');
      }
    });

    test('durationUs: just outside 2.5..120 ms', () => {
      for (const d of [0, 2_499, 120_001, 0xffff_ffff]) {
        invalid(patch(valid('audio'), 23 + N, 4, d), 'durationUs');
        invalid(patch(valid('mixedAudio'), 23, 4, d), 'durationUs');
      }
    });
  });

  test('ERR_PAYLOAD_TOO_LARGE: a declared length one over the limit, checked before the bytes arrive', () => {
    const limits = {
      video: ENVELOPE_LIMITS.maxVideoPayloadBytes,
      audio: ENVELOPE_LIMITS.maxAudioPayloadBytes,
      mixedAudio: ENVELOPE_LIMITS.maxAudioPayloadBytes,
      levels: ENVELOPE_LIMITS.maxLevelsPayloadBytes,
    };
    for (const kind of kinds) {
      const at = payloadLengthAt(kind);
      const headerOnly = patch(valid(kind), at, 4, limits[kind] + 1).subarray(0, at + 4);
      assertProtocolError(() => decodeEnvelope(headerOnly), PayloadTooLargeError, 'ERR_PAYLOAD_TOO_LARGE', {
        limit: limits[kind],
      });
      const huge = patch(valid(kind), at, 4, 0xffff_ffff);
      assertProtocolError(() => decodeEnvelope(huge), PayloadTooLargeError, 'ERR_PAYLOAD_TOO_LARGE');
    }
  });

  test('ERR_TRAILING_BYTES: one byte, or a second envelope, after the payload', () => {
    for (const kind of kinds) {
      const bytes = valid(kind);
      const plusOne = new Uint8Array(bytes.length + 1);
      plusOne.set(bytes);
      assertProtocolError(() => decodeEnvelope(plusOne), TrailingBytesError, 'ERR_TRAILING_BYTES');
      const two = new Uint8Array(bytes.length * 2);
      two.set(bytes);
      two.set(bytes, bytes.length);
      assertProtocolError(() => decodeEnvelope(two), TrailingBytesError, 'ERR_TRAILING_BYTES');
    }
  });
});

describe('encodeEnvelope refuses what would not decode', () => {
  const video = envelopes.video as Extract<Envelope, { kind: 'video' }>;
  const audio = envelopes.audio as Extract<Envelope, { kind: 'audio' }>;
  const cases: [string, Envelope][] = [
    ['seq', { ...video, seq: -1 }],
    ['seq', { ...video, seq: 2 ** 32 }],
    ['seq', { ...video, seq: 1.5 }],
    ['captureTimeUs', { ...video, captureTimeUs: -1 }],
    ['captureTimeUs', { ...video, captureTimeUs: 2 ** 53 }],
    ['captureTimeUs', { ...video, captureTimeUs: Number.NaN }],
    ['source', { ...video, source: '' }],
    ['source', { ...video, source: 'a.b' }],
    ['source', { ...video, source: 'x'.repeat(65) }],
    ['source', { ...envelopes.levels, source: 'cam' } as unknown as Envelope],
    ['payload', { ...video, payload: new Uint8Array(0) }],
    ['width', { ...video, width: 0 }],
    ['width', { ...video, width: 8193 }],
    ['height', { ...video, height: 1.5 }],
    ['layer', { ...video, layer: 256 }],
    ['sampleRate', { ...audio, sampleRate: 44_100 }],
    ['channels', { ...audio, channels: 3 }],
    ['durationUs', { ...audio, durationUs: 2_499 }],
  ];
  for (const [field, env] of cases) {
    test(`ERR_INVALID_FIELD ${field}: ${JSON.stringify({ ...env, payload: env.payload.length })}`, () => {
      assertProtocolError(() => encodeEnvelope(env), InvalidFieldError, 'ERR_INVALID_FIELD', { field });
    });
  }

  test('ERR_PAYLOAD_TOO_LARGE on encode', () => {
    assertProtocolError(
      () => encodeEnvelope({ ...audio, payload: new Uint8Array(ENVELOPE_LIMITS.maxAudioPayloadBytes + 1) }),
      PayloadTooLargeError,
      'ERR_PAYLOAD_TOO_LARGE',
    );
  });
});

describe('ids and subjects', () => {
  test('ERR_INVALID_ID from assertValidId and the subject builders', () => {
    for (const bad of ['', 'a.b', '*', '>', 'a b', '-x', '_x', 'x'.repeat(65), 'é', 'a\n', 42, null, undefined]) {
      assertProtocolError(() => assertValidId('room', bad), InvalidIdError, 'ERR_INVALID_ID');
    }
    assertProtocolError(() => videoSubject('demo', 'cam.1'), InvalidIdError, 'ERR_INVALID_ID');
  });

  test('ERR_INVALID_SUBJECT from parseSubject', () => {
    for (const bad of [
      '',
      'vidchat',
      'vidchat.src.demo.cam',
      'vidchat.src.demo.cam.video.extra',
      'vidchat.src.demo.*.video',
      'vidchat.src.demo.>',
      'vidchat.mix.demo.video',
      'vidchat.mix.demo.levels.x',
      'vidchat.other.demo.audio',
      'Vidchat.src.demo.cam.video',
      'vidchat.src.-demo.cam.video',
    ]) {
      assertProtocolError(() => parseSubject(bad), InvalidSubjectError, 'ERR_INVALID_SUBJECT');
    }
  });
});

describe('ERR_INVALID_MESSAGE', () => {
  const presence: PresenceMessage = {
    v: 1,
    type: 'heartbeat',
    room: 'demo',
    source: 'cam-1',
    name: 'Cam',
    ts: 1,
    video: null,
    audio: null,
  };
  const invalid = (fn: () => unknown): void => assertProtocolError(fn, InvalidMessageError, 'ERR_INVALID_MESSAGE');
  const presenceBytes = (o: unknown): Uint8Array => utf8Encode(JSON.stringify(o));

  test('presence: not UTF-8, not JSON, too large, not an object', () => {
    invalid(() => decodePresence(new Uint8Array([0x7b, 0xff, 0x7d])));
    invalid(() => decodePresence(utf8Encode('{"v":1,')));
    invalid(() => decodePresence(new Uint8Array(MAX_PRESENCE_BYTES + 1).fill(0x20)));
    for (const text of ['null', '[]', '"x"', '1']) invalid(() => decodePresence(utf8Encode(text)));
  });

  test('presence: each field out of its schema', () => {
    const bad: Record<string, unknown>[] = [
      { v: 2 },
      { v: '1' },
      { type: 'hello' },
      { room: 'a.b' },
      { source: '' },
      { source: undefined },
      { name: 'x'.repeat(65) },
      { name: 7 },
      { ts: -1 },
      { ts: 2 ** 53 },
      { ts: '1' },
      { video: 'jpeg' },
      { video: { codec: 'png', width: 1, height: 1, fps: 1 } },
      { video: { codec: 'jpeg', width: 0, height: 1, fps: 1 } },
      { video: { codec: 'jpeg', width: 1, height: 1.5, fps: 1 } },
      { video: { codec: 'jpeg', width: 1, height: 1, fps: 0 } },
      { audio: { codec: 'opus', sampleRate: 7999, channels: 1, frameDurationMs: 20 } },
      { audio: { codec: 'opus', sampleRate: 48000, channels: 3, frameDurationMs: 20 } },
      { audio: { codec: 'opus', sampleRate: 48000, channels: 1, frameDurationMs: 121 } },
      { audio: { codec: 'aac', sampleRate: 48000, channels: 1, frameDurationMs: 20 } },
      { kind: 'robot' },
      { kind: 1 },
      { kind: null },
      { listens: 'yes' },
      { listens: 1 },
      { listens: null },
      { agent: 'x' },
      { agent: {} },
      { agent: { version: '1', host: 5 } },
    ];
    for (const patchObj of bad) {
      const o = { ...presence, ...patchObj };
      invalid(() => decodePresence(presenceBytes(o)));
      invalid(() => validatePresence(o));
      invalid(() => encodePresence(o as PresenceMessage));
    }
  });

  test('levels: each field out of its schema', () => {
    const ok = { room: 'demo', sources: [{ source: 'cam-1', dbfs: -20, peakDbfs: -3 }], active: null };
    const bad: unknown[] = [
      { ...ok, room: '' },
      { ...ok, sources: {} },
      { ...ok, sources: new Array(257).fill(ok.sources[0]) },
      { ...ok, sources: [null] },
      { ...ok, sources: [{ source: 'a b', dbfs: -1, peakDbfs: -1 }] },
      { ...ok, sources: [{ source: 'a', dbfs: 1, peakDbfs: -1 }] },
      { ...ok, sources: [{ source: 'a', dbfs: -1, peakDbfs: -101 }] },
      { ...ok, active: 'a.b' },
      { room: 'demo', sources: [] },
      [],
    ];
    for (const o of bad) invalid(() => decodeLevelsPayload(utf8Encode(JSON.stringify(o))));
    invalid(() => decodeLevelsPayload(new Uint8Array([0xc3])));
    invalid(() => decodeLevelsPayload(utf8Encode('{')));
    invalid(() => encodeLevelsEnvelope({ ...ok, active: '' }, 0, 0));
  });

  test('client messages: not JSON, too large, unknown type, bad fields', () => {
    for (const text of [
      '',
      'join',
      '{"type":"join","room":"demo"',
      'null',
      '[]',
      '{}',
      '{"type":"subscribe"}',
      '{"type":"join"}',
      '{"type":"join","room":"a.b"}',
      '{"type":"join","room":"demo","token":5}',
      `{"type":"join","room":"demo","token":"${'t'.repeat(2049)}"}`,
      '{"type":"ping","id":7}',
      `{"type":"ping","id":"${'i'.repeat(65)}"}`,
      `{"type":"leave","pad":"${' '.repeat(MAX_CLIENT_MESSAGE_BYTES + 1)}"}`,
    ]) {
      invalid(() => parseClientMessage(text));
    }
  });

  test('server messages: unknown type and bad fields, including roster media', () => {
    const src = { id: 'cam', name: 'Cam', video: null, audio: null, since: 0 };
    for (const o of [
      {},
      { type: 'hello' },
      { type: 'roster', room: 'demo' },
      { type: 'roster', room: 'demo', sources: [{ ...src, id: '' }] },
      { type: 'roster', room: 'demo', sources: [{ ...src, video: {} }] },
      { type: 'roster', room: 'demo', sources: [{ ...src, audio: { codec: 'opus' } }] },
      {
        type: 'source-joined',
        room: 'demo',
        source: { ...src, video: { codec: 'jpeg', width: -1, height: 1, fps: 1 } },
      },
      { type: 'source-joined', room: 'demo', source: { ...src, since: -1 } },
      { type: 'source-joined', room: 'demo', source: { ...src, kind: 'robot' } },
      { type: 'source-joined', room: 'demo', source: { ...src, kind: null } },
      { type: 'source-left', room: 'demo', source: 5 },
      { type: 'error', code: 'x', message: 'y'.repeat(1025) },
      { type: 'error', message: 'no code' },
      { type: 'pong', id: 1 },
    ]) {
      invalid(() => parseServerMessage(JSON.stringify(o)));
    }
    invalid(() => parseServerMessage('{"type":'));
  });

  test('a JSON syntax error is kept as the cause', () => {
    assert.throws(
      () => parseClientMessage('{'),
      (err: unknown) => err instanceof InvalidMessageError && err.cause instanceof SyntaxError,
    );
  });
});
