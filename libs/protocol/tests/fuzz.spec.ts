import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  decodeEnvelope,
  decodeLevelsPayload,
  decodePresence,
  encodeEnvelope,
  ENVELOPE_MAGIC,
  ENVELOPE_VERSION,
  InvalidFieldError,
  parseClientMessage,
  parseServerMessage,
  peekEnvelope,
  ProtocolError,
  serverMessage,
  utf8Encode,
  type Envelope,
} from '../src/index.js';
import { clientMessageArb, envelopeArb, levelsArb, presenceArb, serverMessageArb } from './support/arbitraries.js';

/*
 * Random bytes only ever give a typed protocol error (see "General rules" in
 * docs/PROTOCOL.md). Every decoder meets pure noise, noise that gets past the
 * first checks, and valid messages with bytes flipped, cut or appended. Any throw that is
 * not a ProtocolError fails the test and fast-check prints the input and the
 * seed to replay it.
 */

const RUNS = 20_000;

/** Runs `fn`; returns its result, or the ProtocolError it threw. Anything else is re-thrown. */
function typedOnly<T>(fn: () => T): { ok: true; value: T } | { ok: false; error: ProtocolError } {
  try {
    return { ok: true, value: fn() };
  } catch (error) {
    if (error instanceof ProtocolError) return { ok: false, error };
    throw new assert.AssertionError({ message: `a non-ProtocolError escaped: ${String(error)}`, actual: error });
  }
}

/** Codes for which the header itself is rejected, so peekEnvelope must say null. */
function rejectsHeader(error: ProtocolError): boolean {
  if (error.code === 'ERR_BAD_MAGIC' || error.code === 'ERR_UNSUPPORTED_VERSION' || error.code === 'ERR_UNKNOWN_KIND') {
    return true;
  }
  return error instanceof InvalidFieldError && (error.field === 'source' || error.field === 'captureTimeUs');
}

/**
 * The full contract of the envelope decoder on any input: a typed error or
 * an envelope; what decodes re-encodes to the same bytes; peek never throws,
 * agrees on success and is null where the header is rejected.
 */
function checkEnvelopeBytes(bytes: Uint8Array): void {
  const result = typedOnly(() => decodeEnvelope(bytes));
  let peeked: ReturnType<typeof peekEnvelope> = null;
  try {
    peeked = peekEnvelope(bytes);
  } catch (error) {
    assert.fail(`peekEnvelope threw ${String(error)}`);
  }
  if (result.ok) {
    assert.deepEqual(encodeEnvelope(result.value), bytes, 'a decoded envelope re-encodes to its bytes');
    assert.deepEqual(peeked, { kind: result.value.kind, source: result.value.source });
  } else if (rejectsHeader(result.error)) {
    assert.equal(peeked, null, `peek accepted a header that decode rejects with ${result.error.message}`);
  }
}

/** Valid envelopes with some bytes overwritten, mostly in the header where the checks are. */
const flippedArb = envelopeArb.chain((env: Envelope) => {
  const bytes = encodeEnvelope(env);
  const index = fc.oneof(fc.nat({ max: Math.min(40, bytes.length - 1) }), fc.nat({ max: bytes.length - 1 }));
  return fc.array(fc.tuple(index, fc.nat({ max: 255 })), { minLength: 1, maxLength: 4 }).map((flips) => {
    const out = bytes.slice();
    for (const [i, b] of flips) out[i] = b;
    return out;
  });
});

const truncatedArb = envelopeArb.chain((env: Envelope) => {
  const bytes = encodeEnvelope(env);
  return fc.nat({ max: bytes.length - 1 }).map((cut) => bytes.slice(0, cut));
});

const extendedArb = fc.tuple(envelopeArb, fc.uint8Array({ minLength: 1, maxLength: 32 })).map(([env, extra]) => {
  const bytes = encodeEnvelope(env);
  const out = new Uint8Array(bytes.length + extra.length);
  out.set(bytes);
  out.set(extra, bytes.length);
  return out;
});

/** Noise behind a valid magic, version and a plausible kind, so that it reaches the deeper checks. */
const plausibleHeaderArb = fc
  .tuple(fc.integer({ min: 0, max: 5 }), fc.uint8Array({ minLength: 0, maxLength: 120 }))
  .map(([kind, rest]) => {
    const out = new Uint8Array(4 + rest.length);
    out[0] = ENVELOPE_MAGIC >> 8;
    out[1] = ENVELOPE_MAGIC & 0xff;
    out[2] = ENVELOPE_VERSION;
    out[3] = kind;
    out.set(rest, 4);
    return out;
  });

describe('decodeEnvelope and peekEnvelope on hostile bytes', () => {
  test(`${RUNS} random byte arrays`, () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 96 }), checkEnvelopeBytes), { numRuns: RUNS });
  });
  test('5000 random tails behind a valid magic and version', () => {
    fc.assert(fc.property(plausibleHeaderArb, checkEnvelopeBytes), { numRuns: 5000 });
  });
  test('5000 valid envelopes with bytes flipped', () => {
    fc.assert(fc.property(flippedArb, checkEnvelopeBytes), { numRuns: 5000 });
  });
  test('3000 valid envelopes cut at a random point', () => {
    fc.assert(
      fc.property(truncatedArb, (bytes) => {
        checkEnvelopeBytes(bytes);
        assert.throws(() => decodeEnvelope(bytes), ProtocolError);
      }),
      { numRuns: 3000 },
    );
  });
  test('3000 valid envelopes with bytes appended', () => {
    fc.assert(
      fc.property(extendedArb, (bytes) => {
        checkEnvelopeBytes(bytes);
        assert.throws(() => decodeEnvelope(bytes), { code: 'ERR_TRAILING_BYTES' });
      }),
      { numRuns: 3000 },
    );
  });
});

/** Text with one character replaced, deleted or inserted; structural JSON characters are favoured. */
function mutatedTextArb(base: fc.Arbitrary<string>): fc.Arbitrary<string> {
  const ch = fc.oneof(
    fc.constantFrom(...'{}[]",:-.0123456789eEtrufalsn \\'.split('')),
    fc.string({ minLength: 1, maxLength: 1, unit: 'binary' }),
  );
  return base.chain((text) =>
    fc
      .tuple(fc.nat({ max: Math.max(0, text.length) }), fc.constantFrom('replace', 'delete', 'insert'), ch)
      .map(([i, op, c]) =>
        op === 'insert'
          ? text.slice(0, i) + c + text.slice(i)
          : text.slice(0, i) + (op === 'replace' ? c : '') + text.slice(i + 1),
      ),
  );
}

/** A valid message with one field (known or not) replaced by any JSON value. */
function fieldSwappedArb(base: fc.Arbitrary<object>, keys: readonly string[]): fc.Arbitrary<string> {
  return fc
    .tuple(base, fc.oneof(fc.constantFrom(...keys), fc.string({ maxLength: 8 })), fc.jsonValue({ maxDepth: 3 }))
    .map(([msg, key, value]) => JSON.stringify({ ...msg, [key]: value }));
}

const anyJsonText = fc.json({ maxDepth: 4 });
const anyText = fc.string({ maxLength: 200, unit: 'binary' });

describe('JSON decoders on hostile input', () => {
  const presenceKeys = ['v', 'type', 'room', 'source', 'name', 'ts', 'video', 'audio', 'kind', 'listens', 'agent'];
  const presenceText = presenceArb.map((m) => JSON.stringify(m));
  test(`decodePresence: ${RUNS} random byte arrays, random JSON, mutated and field-swapped presence`, () => {
    const decode = (bytes: Uint8Array): void => void typedOnly(() => decodePresence(bytes));
    fc.assert(fc.property(fc.uint8Array({ maxLength: 200 }), decode), { numRuns: RUNS });
    fc.assert(fc.property(anyJsonText.map(utf8Encode), decode), { numRuns: 3000 });
    fc.assert(fc.property(mutatedTextArb(presenceText).map(utf8Encode), decode), { numRuns: 3000 });
    fc.assert(fc.property(fieldSwappedArb(presenceArb, presenceKeys).map(utf8Encode), decode), { numRuns: 3000 });
  });

  const levelsKeys = ['room', 'sources', 'active'];
  test(`decodeLevelsPayload: ${RUNS} random byte arrays, random JSON, mutated and field-swapped levels`, () => {
    const decode = (bytes: Uint8Array): void => void typedOnly(() => decodeLevelsPayload(bytes));
    fc.assert(fc.property(fc.uint8Array({ maxLength: 200 }), decode), { numRuns: RUNS });
    fc.assert(fc.property(anyJsonText.map(utf8Encode), decode), { numRuns: 3000 });
    fc.assert(fc.property(mutatedTextArb(levelsArb.map((m) => JSON.stringify(m))).map(utf8Encode), decode), {
      numRuns: 3000,
    });
    fc.assert(fc.property(fieldSwappedArb(levelsArb, levelsKeys).map(utf8Encode), decode), { numRuns: 3000 });
  });

  test(`parseClientMessage: ${RUNS} random strings, random JSON, mutated and field-swapped messages`, () => {
    const parse = (text: string): void => void typedOnly(() => parseClientMessage(text));
    fc.assert(fc.property(anyText, parse), { numRuns: RUNS });
    fc.assert(fc.property(anyJsonText, parse), { numRuns: 3000 });
    fc.assert(fc.property(mutatedTextArb(clientMessageArb.map((m) => JSON.stringify(m))), parse), { numRuns: 3000 });
    fc.assert(fc.property(fieldSwappedArb(clientMessageArb, ['type', 'room', 'token', 'id']), parse), {
      numRuns: 3000,
    });
  });

  test(`parseServerMessage: ${RUNS} random strings, random JSON, mutated and field-swapped messages`, () => {
    const parse = (text: string): void => void typedOnly(() => parseServerMessage(text));
    fc.assert(fc.property(anyText, parse), { numRuns: RUNS });
    fc.assert(fc.property(anyJsonText, parse), { numRuns: 3000 });
    fc.assert(fc.property(mutatedTextArb(serverMessageArb.map(serverMessage)), parse), { numRuns: 3000 });
    fc.assert(
      fc.property(
        fieldSwappedArb(serverMessageArb, ['type', 'room', 'sources', 'source', 'code', 'message', 'id']),
        parse,
      ),
      { numRuns: 3000 },
    );
  });

  test('deeply nested and oversized JSON is a typed error, not a stack overflow', () => {
    const deep = '['.repeat(100_000) + ']'.repeat(100_000);
    for (const fn of [
      () => parseClientMessage(deep),
      () => parseServerMessage(deep),
      () => decodePresence(utf8Encode(deep)),
      () => decodeLevelsPayload(utf8Encode(deep)),
      () => parseServerMessage('['.repeat(1 << 20)),
    ]) {
      assert.throws(fn, { code: 'ERR_INVALID_MESSAGE' });
    }
  });
});
