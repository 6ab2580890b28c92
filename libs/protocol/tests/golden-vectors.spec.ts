import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  decodeChatRecord,
  decodeHandEvent,
  decodeViewerCountReport,
  encodeViewerCountReport,
  type ViewerCountReport,
  encodeChatRecord,
  encodeHandEvent,
  type ChatRecord,
  type HandEvent,
  decodeEnvelope,
  decodeLevelsPayload,
  decodePresence,
  encodeEnvelope,
  encodeLevelsEnvelope,
  encodePresence,
  parseClientMessage,
  parseServerMessage,
  serverMessage,
  utf8Decode,
  utf8Encode,
  validateLevels,
  type Envelope,
  type LevelsMessage,
  type PresenceMessage,
  type ServerMessage,
} from '../src/index.js';
import { bytesToHex, hexToBytes, loadGoldenVectors, type GoldenVector } from './support/golden-vectors.js';

/*
 * The golden vectors of docs/PROTOCOL.md, checked in both directions. The
 * inputs come from JSON.parse, so they are typed here with assertions; a
 * malformed vector fails inside the codec, which is what a test should do.
 */

const { vectors, headings } = loadGoldenVectors();

const EXPECTED_NAMES = [
  'envelope.video',
  'envelope.audio',
  'envelope.mixedAudio',
  'envelope.levels',
  'presence.join',
  'presence.heartbeat',
  'presence.leave',
  'presence.join-participant',
  'levels',
  'client.join',
  'client.join-participant',
  'client.join-as',
  'client.leave',
  'client.ping',
  'server.roster',
  'server.roster-participant',
  'server.source-joined',
  'server.source-left',
  'server.error',
  'server.pong',
  'server.recording',
  'client.chat',
  'client.hand',
  'client.audio',
  'server.chat',
  'server.chat-history',
  'server.hand',
  'server.viewers',
  'chat.record',
  'chat.hand',
  'viewers.report',
];

test('PROTOCOL.md has one well-formed vector per envelope kind and JSON message kind', () => {
  // Every heading must have parsed: a vector with a broken block would otherwise vanish silently.
  assert.deepEqual(
    vectors.map((v) => v.name),
    headings,
  );
  assert.deepEqual([...headings].sort(), [...EXPECTED_NAMES].sort());
});

type EnvelopeInput = Omit<Envelope, 'payload'> & { payloadHex?: string; levels?: LevelsMessage };

function envelopeOf(input: EnvelopeInput): Envelope {
  const { payloadHex, levels: _levels, ...fields } = input;
  return { ...fields, payload: hexToBytes(payloadHex ?? '') } as Envelope;
}

function expectBytes(v: GoldenVector): Uint8Array {
  assert.equal(v.expected.format, 'hex', `${v.name} needs a hex block`);
  return v.expected.format === 'hex' ? v.expected.bytes : new Uint8Array();
}

function expectText(v: GoldenVector): string {
  assert.equal(v.expected.format, 'text', `${v.name} needs a text block`);
  return v.expected.format === 'text' ? v.expected.text : '';
}

/** Compares as spaced hex so that a failure shows where the bytes differ. */
function assertSameBytes(actual: Uint8Array, expected: Uint8Array): void {
  assert.equal(bytesToHex(actual), bytesToHex(expected));
}

describe('golden vectors from docs/PROTOCOL.md', () => {
  for (const v of vectors) {
    const [family] = v.name.split('.');
    test(v.name, () => {
      switch (family) {
        case 'envelope': {
          const input = v.input as EnvelopeInput;
          const bytes = expectBytes(v);
          if (input.kind === 'levels') {
            assert.ok(input.levels, 'the levels envelope vector gives its payload as "levels"');
            assertSameBytes(encodeLevelsEnvelope(input.levels, input.seq, input.captureTimeUs), bytes);
            const decoded = decodeEnvelope(bytes);
            assert.deepEqual({ ...decoded, payload: undefined }, { ...envelopeOf(input), payload: undefined });
            assert.deepEqual(decodeLevelsPayload(decoded.payload), input.levels);
          } else {
            const env = envelopeOf(input);
            assertSameBytes(encodeEnvelope(env), bytes);
            assert.deepEqual(decodeEnvelope(bytes), env);
          }
          break;
        }
        case 'presence': {
          const input = v.input as PresenceMessage;
          const text = expectText(v);
          assertSameBytes(encodePresence(input), utf8Encode(text));
          assert.equal(utf8Decode(encodePresence(input), 'presence'), text);
          assert.deepEqual(decodePresence(utf8Encode(text)), input);
          break;
        }
        case 'levels': {
          const input = v.input as LevelsMessage;
          const text = expectText(v);
          // The levels encoder only exists wrapped in an envelope; its JSON is the validated object.
          assert.equal(JSON.stringify(validateLevels(input)), text);
          assert.deepEqual(decodeLevelsPayload(utf8Encode(text)), input);
          break;
        }
        case 'client': {
          const text = expectText(v);
          assert.equal(JSON.stringify(v.input), text);
          assert.deepEqual(parseClientMessage(text), v.input);
          break;
        }
        case 'server': {
          const input = v.input as ServerMessage;
          const text = expectText(v);
          assert.equal(serverMessage(input), text);
          assert.deepEqual(parseServerMessage(text), input);
          break;
        }
        case 'chat': {
          const text = expectText(v);
          if (v.name === 'chat.record') {
            const input = v.input as ChatRecord;
            assert.equal(utf8Decode(encodeChatRecord(input), 'chat'), text);
            assert.deepEqual(decodeChatRecord(utf8Encode(text)), input);
          } else {
            const input = v.input as HandEvent;
            assert.equal(utf8Decode(encodeHandEvent(input), 'hand'), text);
            assert.deepEqual(decodeHandEvent(utf8Encode(text)), input);
          }
          break;
        }
        case 'viewers': {
          const input = v.input as ViewerCountReport;
          const text = expectText(v);
          assert.equal(utf8Decode(encodeViewerCountReport(input), 'viewers'), text);
          assert.deepEqual(decodeViewerCountReport(utf8Encode(text)), input);
          break;
        }
        default:
          assert.fail(`unknown vector family in ${v.name}`);
      }
    });
  }
});
