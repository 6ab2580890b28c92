import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  decodeEnvelope,
  encodedLength,
  encodeEnvelope,
  encodeInto,
  ENVELOPE_LIMITS,
  FIXED_HEADER_BYTES,
  PAYLOAD_LENGTH_BYTES,
  peekEnvelope,
  PayloadTooLargeError,
  type Envelope,
  type EnvelopeLimits,
  type VideoEnvelope,
} from '../src/index.js';
import {
  audioEnvelopeArb,
  envelopeArb,
  levelsEnvelopeArb,
  mixedAudioEnvelopeArb,
  videoEnvelopeArb,
} from './support/arbitraries.js';

const video = (payload: Uint8Array, overrides: Partial<VideoEnvelope> = {}): VideoEnvelope => ({
  kind: 'video',
  source: 'cam-1',
  seq: 1,
  captureTimeUs: 1_767_225_600_000_000,
  width: 640,
  height: 360,
  codec: 'jpeg',
  layer: 0,
  payload,
  ...overrides,
});

describe('envelope round trip (property)', () => {
  const kinds = [
    ['video', videoEnvelopeArb],
    ['audio', audioEnvelopeArb],
    ['mixedAudio', mixedAudioEnvelopeArb],
    ['levels', levelsEnvelopeArb],
  ] as const;
  for (const [kind, arb] of kinds) {
    test(`${kind}: decode(encode(env)) equals env, and the length is encodedLength`, () => {
      fc.assert(
        fc.property(arb, (env: Envelope) => {
          const bytes = encodeEnvelope(env);
          assert.equal(bytes.length, encodedLength(env));
          assert.deepEqual(decodeEnvelope(bytes), env);
        }),
        { numRuns: 1000 },
      );
    });
  }

  test('an envelope that decodes re-encodes to the same bytes (one canonical encoding)', () => {
    fc.assert(
      fc.property(envelopeArb, (env) => {
        const bytes = encodeEnvelope(env);
        assert.deepEqual(encodeEnvelope(decodeEnvelope(bytes)), bytes);
      }),
      { numRuns: 500 },
    );
  });

  test('the total length follows the byte table for every kind', () => {
    fc.assert(
      fc.property(envelopeArb, (env) => {
        const fields = { video: 6, audio: 10, mixedAudio: 10, levels: 0 }[env.kind];
        const expected = FIXED_HEADER_BYTES + env.source.length + fields + PAYLOAD_LENGTH_BYTES + env.payload.length;
        assert.equal(encodeEnvelope(env).length, expected);
      }),
      { numRuns: 200 },
    );
  });
});

describe('buffers, offsets and views', () => {
  test('encodeInto writes at a non-zero offset of a larger buffer and touches nothing else', () => {
    fc.assert(
      fc.property(envelopeArb, fc.nat({ max: 64 }), fc.nat({ max: 64 }), (env, before, after) => {
        const len = encodedLength(env);
        const buf = new Uint8Array(before + len + after).fill(0xee);
        assert.equal(encodeInto(env, buf, before), len);
        assert.ok(
          buf.subarray(0, before).every((b) => b === 0xee),
          'bytes before the offset are untouched',
        );
        assert.ok(
          buf.subarray(before + len).every((b) => b === 0xee),
          'bytes after the envelope are untouched',
        );
        assert.deepEqual(buf.subarray(before, before + len), encodeEnvelope(env));
        assert.deepEqual(decodeEnvelope(buf.subarray(before, before + len)), env);
      }),
      { numRuns: 300 },
    );
  });

  test('encodeInto into a subarray view honours the view byteOffset', () => {
    const env = video(new Uint8Array([1, 2, 3]));
    const backing = new Uint8Array(200).fill(0xaa);
    const view = backing.subarray(50, 150);
    const n = encodeInto(env, view, 7);
    assert.deepEqual(backing.subarray(57, 57 + n), encodeEnvelope(env));
    assert.equal(backing[56], 0xaa);
    assert.equal(backing[57 + n], 0xaa);
  });

  test('encodeInto reuses one buffer for many envelopes', () => {
    const buf = new Uint8Array(4096);
    for (let seq = 0; seq < 50; seq++) {
      const env = video(new Uint8Array(seq + 1).fill(seq), { seq });
      const n = encodeInto(env, buf);
      assert.deepEqual(decodeEnvelope(buf.subarray(0, n)), env);
    }
  });

  test('encodeInto throws a RangeError, and writes nothing, when the buffer is too small', () => {
    const env = video(new Uint8Array(10));
    const len = encodedLength(env);
    for (const [size, offset] of [
      [len - 1, 0],
      [len, 1],
      [0, 0],
    ] as const) {
      const buf = new Uint8Array(size).fill(0x11);
      assert.throws(() => encodeInto(env, buf, offset), RangeError);
      assert.ok(
        buf.every((b) => b === 0x11),
        'a failed encodeInto leaves the buffer as it was',
      );
    }
  });

  test('the decoded payload is a view into the input, not a copy', () => {
    const bytes = encodeEnvelope(video(new Uint8Array([10, 20, 30, 40])));
    const env = decodeEnvelope(bytes);
    assert.equal(env.payload.buffer, bytes.buffer, 'same backing memory');
    assert.equal(env.payload.byteOffset, bytes.length - 4);
    // Writing through the input shows through the payload: this is why a kept payload must be copied.
    bytes[bytes.length - 1] = 99;
    assert.equal(env.payload[3], 99);
  });

  test('decode reads from a Buffer or subarray with a non-zero byteOffset, as NATS hands them out', () => {
    fc.assert(
      fc.property(envelopeArb, fc.integer({ min: 1, max: 100 }), (env, offset) => {
        const bytes = encodeEnvelope(env);
        const shared = Buffer.alloc(offset + bytes.length + 13);
        shared.set(bytes, offset);
        const view = shared.subarray(offset, offset + bytes.length);
        assert.ok(view.byteOffset > 0);
        const decoded = decodeEnvelope(view);
        assert.deepEqual({ ...decoded, payload: [...decoded.payload] }, { ...env, payload: [...env.payload] });
        assert.equal(decoded.payload.buffer, shared.buffer);
      }),
      { numRuns: 200 },
    );
  });
});

describe('peekEnvelope', () => {
  test('agrees with decodeEnvelope on every valid envelope', () => {
    fc.assert(
      fc.property(envelopeArb, (env) => {
        const bytes = encodeEnvelope(env);
        const decoded = decodeEnvelope(bytes);
        assert.deepEqual(peekEnvelope(bytes), { kind: decoded.kind, source: decoded.source });
      }),
      { numRuns: 1000 },
    );
  });

  test('needs only the header and the source id, not the kind fields or the payload', () => {
    const bytes = encodeEnvelope(video(new Uint8Array(100)));
    assert.deepEqual(peekEnvelope(bytes.subarray(0, FIXED_HEADER_BYTES + 5)), { kind: 'video', source: 'cam-1' });
    assert.equal(peekEnvelope(bytes.subarray(0, FIXED_HEADER_BYTES + 4)), null);
  });

  test('returns null for headers that decodeEnvelope rejects', () => {
    const good = encodeEnvelope(video(new Uint8Array([1])));
    const withByte = (at: number, value: number): Uint8Array => {
      const b = good.slice();
      b[at] = value;
      return b;
    };
    assert.equal(peekEnvelope(new Uint8Array(0)), null);
    assert.equal(peekEnvelope(good.subarray(0, FIXED_HEADER_BYTES - 1)), null);
    assert.equal(peekEnvelope(withByte(0, 0x57)), null, 'bad magic');
    assert.equal(peekEnvelope(withByte(2, 2)), null, 'unknown version');
    assert.equal(peekEnvelope(withByte(3, 9)), null, 'unknown kind');
    assert.equal(peekEnvelope(withByte(8, 1)), null, 'capture time above 2^53');
    assert.equal(peekEnvelope(withByte(9, 0x20)), null, 'capture time at 2^53');
    assert.equal(peekEnvelope(withByte(16, 0)), null, 'a video envelope without a source id');
    assert.equal(peekEnvelope(withByte(17, 0x2e)), null, 'a "." in the source id');
    assert.equal(peekEnvelope(withByte(17, 0xe9)), null, 'a non-ASCII source id');
    assert.equal(peekEnvelope(withByte(3, 4)), null, 'a levels envelope carrying a source id');
  });
});

describe('limits', () => {
  const sizes: readonly [Envelope['kind'], keyof EnvelopeLimits][] = [
    ['video', 'maxVideoPayloadBytes'],
    ['audio', 'maxAudioPayloadBytes'],
    ['mixedAudio', 'maxAudioPayloadBytes'],
    ['levels', 'maxLevelsPayloadBytes'],
  ];
  const base = (kind: Envelope['kind'], payload: Uint8Array): Envelope => {
    const common = { seq: 0, captureTimeUs: 0, payload };
    const audio = { codec: 'opus', sampleRate: 48000, channels: 1, durationUs: 20_000 } as const;
    switch (kind) {
      case 'video':
        return video(payload);
      case 'audio':
        return { kind, source: 'mic', ...audio, ...common };
      case 'mixedAudio':
        return { kind, source: '', ...audio, ...common };
      case 'levels':
        return { kind, source: '', ...common };
    }
  };

  for (const [kind, limit] of sizes) {
    test(`${kind}: a payload of exactly ${limit} round-trips; one byte more is refused on encode`, () => {
      const max = ENVELOPE_LIMITS[limit];
      const atLimit = base(kind, new Uint8Array(max).fill(7));
      assert.equal(decodeEnvelope(encodeEnvelope(atLimit)).payload.length, max);
      const over = base(kind, new Uint8Array(max + 1));
      assert.throws(
        () => encodeEnvelope(over),
        (err: unknown) =>
          err instanceof PayloadTooLargeError && err.code === 'ERR_PAYLOAD_TOO_LARGE' && err.limit === max,
      );
    });
  }

  test('custom limits tighten both encode and decode', () => {
    const limits: EnvelopeLimits = { ...ENVELOPE_LIMITS, maxVideoPayloadBytes: 8, maxVideoDimension: 100 };
    const env = video(new Uint8Array(9), { width: 100, height: 100 });
    assert.throws(() => encodeEnvelope(env, limits), { code: 'ERR_PAYLOAD_TOO_LARGE' });
    const bytes = encodeEnvelope(env);
    assert.throws(() => decodeEnvelope(bytes, limits), { code: 'ERR_PAYLOAD_TOO_LARGE' });
    const wide = encodeEnvelope(video(new Uint8Array(8), { width: 101 }));
    assert.throws(() => decodeEnvelope(wide, limits), { code: 'ERR_INVALID_FIELD', field: 'width' });
    assert.deepEqual(
      decodeEnvelope(encodeEnvelope(video(new Uint8Array(8), { width: 100, height: 1 }), limits), limits).kind,
      'video',
    );
  });
});
