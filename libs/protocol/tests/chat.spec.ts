import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  chatSubject,
  chatWildcards,
  checkChatText,
  decodeChatRecord,
  decodeHandEvent,
  encodeChatRecord,
  encodeHandEvent,
  handSubject,
  InvalidMessageError,
  InvalidIdError,
  MAX_CHAT_TEXT_LENGTH,
  parseClientMessage,
  ProtocolError,
  tryParseChatSubject,
  utf8Encode,
  type ChatRecord,
  type HandEvent,
} from '../src/index.js';
import { idArb } from './support/arbitraries.js';

const record: ChatRecord = {
  v: 1,
  id: '3f2a9c1e-0b7d-4e55-9a61-2c8f0d4b7e10',
  room: 'demo',
  name: 'Alice',
  from: 'participant',
  text: 'can you hear me?',
  ts: 1767225600000,
};

describe('chat subjects', () => {
  test('chat and hand subjects are one token per room, parsed back', () => {
    assert.equal(chatSubject('demo'), 'vidchat.chat.demo');
    assert.equal(handSubject('demo'), 'vidchat.hand.demo');
    assert.equal(chatWildcards.allChat(), 'vidchat.chat.*');
    assert.deepEqual(tryParseChatSubject('vidchat.chat.demo'), { scope: 'chat', room: 'demo' });
    assert.deepEqual(tryParseChatSubject('vidchat.hand.demo'), { scope: 'hand', room: 'demo' });
    for (const bad of ['vidchat.chat', 'vidchat.chat.demo.x', 'vidchat.chat.*', 'vidchat.mix.demo', 'x.chat.demo']) {
      assert.equal(tryParseChatSubject(bad), null, bad);
    }
  });

  test('a bad room never becomes a chat subject', () => {
    assert.throws(() => chatSubject('a.b'), InvalidIdError);
    assert.throws(() => handSubject('>'), InvalidIdError);
  });

  test('round trip for every valid room (property)', () => {
    fc.assert(
      fc.property(idArb, (room) => {
        assert.deepEqual(tryParseChatSubject(chatSubject(room)), { scope: 'chat', room });
      }),
    );
  });
});

describe('chat text', () => {
  test('is trimmed; empty or whitespace only is chat-empty', () => {
    assert.deepEqual(checkChatText('  hi \n'), { ok: true, text: 'hi' });
    for (const t of ['', '   ', '\n\t']) {
      const c = checkChatText(t);
      assert.equal(c.ok === false && c.code, 'chat-empty');
    }
  });

  test('2,000 characters pass, 2,001 are chat-too-long; an emoji counts as one character', () => {
    assert.equal(checkChatText('x'.repeat(MAX_CHAT_TEXT_LENGTH)).ok, true);
    assert.equal(checkChatText('😀'.repeat(MAX_CHAT_TEXT_LENGTH)).ok, true);
    const over = checkChatText('x'.repeat(MAX_CHAT_TEXT_LENGTH + 1));
    assert.equal(over.ok === false && over.code, 'chat-too-long');
    // Padding is trimmed before counting.
    assert.equal(checkChatText(` ${'x'.repeat(MAX_CHAT_TEXT_LENGTH)} `).ok, true);
  });
});

describe('chat records on NATS', () => {
  test('round trip; unknown fields are dropped', () => {
    assert.deepEqual(decodeChatRecord(encodeChatRecord(record)), record);
    const withExtra = { ...record, extra: 1 } as ChatRecord;
    assert.deepEqual(encodeChatRecord(withExtra), encodeChatRecord(record));
  });

  test('bad records give InvalidMessageError', () => {
    const bad: unknown[] = [
      { ...record, v: 2 },
      { ...record, text: '' },
      { ...record, text: ' untrimmed' },
      { ...record, text: 'x'.repeat(MAX_CHAT_TEXT_LENGTH + 1) },
      { ...record, id: 'a b' },
      { ...record, room: '' },
      { ...record, from: 'robot' },
      { ...record, ts: -1 },
      { ...record, name: 'n'.repeat(65) },
    ];
    for (const b of bad) assert.throws(() => decodeChatRecord(utf8Encode(JSON.stringify(b))), InvalidMessageError);
  });

  test('random bytes only ever give a typed protocol error (property)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => {
        try {
          decodeChatRecord(bytes);
        } catch (err) {
          assert.ok(err instanceof ProtocolError);
        }
      }),
    );
  });

  test('hand events round trip and are validated', () => {
    const e: HandEvent = { v: 1, room: 'demo', who: 'cam-1', name: 'Bob', raised: true, ts: 1767225600000 };
    assert.deepEqual(decodeHandEvent(encodeHandEvent(e)), e);
    assert.throws(() => decodeHandEvent(utf8Encode(JSON.stringify({ ...e, raised: 'yes' }))), InvalidMessageError);
  });
});

describe('client chat messages', () => {
  test('chat carries any string; the gateway checks its trimmed length', () => {
    assert.deepEqual(parseClientMessage('{"type":"chat","text":"  "}'), { type: 'chat', text: '  ' });
    assert.throws(() => parseClientMessage('{"type":"chat"}'), InvalidMessageError);
    assert.throws(() => parseClientMessage('{"type":"chat","text":5}'), InvalidMessageError);
  });

  test('hand needs raised; join name is optional, 1-64 characters', () => {
    assert.deepEqual(parseClientMessage('{"type":"hand","raised":false}'), { type: 'hand', raised: false });
    assert.throws(() => parseClientMessage('{"type":"hand"}'), InvalidMessageError);
    assert.deepEqual(parseClientMessage('{"type":"join","room":"r","name":"Ann"}'), {
      type: 'join',
      room: 'r',
      name: 'Ann',
    });
    assert.throws(() => parseClientMessage('{"type":"join","room":"r","name":" "}'), InvalidMessageError);
    assert.throws(
      () => parseClientMessage(`{"type":"join","room":"r","name":"${'n'.repeat(65)}"}`),
      InvalidMessageError,
    );
  });
});
