import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  decodeViewerCountReport,
  encodeViewerCountReport,
  InvalidIdError,
  InvalidMessageError,
  MAX_VIEWER_COUNT,
  MAX_VIEWER_COUNT_TTL_MS,
  parseServerMessage,
  serverMessage,
  tryParseChatSubject,
  utf8Encode,
  viewersSubject,
  type ViewerCountReport,
} from '../src/index.js';
import { idArb } from './support/arbitraries.js';

const report: ViewerCountReport = {
  v: 1,
  room: 'demo',
  gateway: '5d1c6a52-8f0e-4b7a-9c3d-2e6f1a0b9c47',
  count: 3,
  ttl: 15_000,
  ts: 1767225600000,
};

describe('viewer counts on NATS', () => {
  test('one subject per room, parsed back; a bad room never becomes one', () => {
    assert.equal(viewersSubject('demo'), 'vidchat.viewers.demo');
    assert.deepEqual(tryParseChatSubject('vidchat.viewers.demo'), { scope: 'viewers', room: 'demo' });
    for (const bad of ['vidchat.viewers', 'vidchat.viewers.demo.x', 'vidchat.viewers.*', 'vidchat.watchers.demo']) {
      assert.equal(tryParseChatSubject(bad), null, bad);
    }
    assert.throws(() => viewersSubject('a.b'), InvalidIdError);
    fc.assert(
      fc.property(idArb, (room) => {
        assert.deepEqual(tryParseChatSubject(viewersSubject(room)), { scope: 'viewers', room });
      }),
    );
  });

  test('a report round-trips field by field; extra fields never reach NATS', () => {
    assert.deepEqual(decodeViewerCountReport(encodeViewerCountReport(report)), report);
    const extra = { ...report, secret: 'x' } as ViewerCountReport;
    assert.doesNotMatch(new TextDecoder().decode(encodeViewerCountReport(extra)), /secret/);
    // A goodbye: count 0, ttl 0.
    const bye = { ...report, count: 0, ttl: 0 };
    assert.deepEqual(decodeViewerCountReport(encodeViewerCountReport(bye)), bye);
    const top = { ...report, count: MAX_VIEWER_COUNT, ttl: MAX_VIEWER_COUNT_TTL_MS };
    assert.deepEqual(decodeViewerCountReport(encodeViewerCountReport(top)), top);
  });

  test('garbage is an InvalidMessageError', () => {
    const bad: unknown[] = [
      'not json',
      { ...report, v: 2 },
      { ...report, count: -1 },
      { ...report, count: 1.5 },
      { ...report, count: MAX_VIEWER_COUNT + 1 },
      { ...report, ttl: MAX_VIEWER_COUNT_TTL_MS + 1 },
      { ...report, gateway: 'a.b' },
      { ...report, room: '>' },
      { ...report, count: '3' },
      [report],
    ];
    for (const b of bad) {
      const bytes = utf8Encode(typeof b === 'string' ? b : JSON.stringify(b));
      assert.throws(() => decodeViewerCountReport(bytes), InvalidMessageError, JSON.stringify(b));
    }
    assert.throws(() => decodeViewerCountReport(new Uint8Array(2_000).fill(0x20)), InvalidMessageError);
  });
});

describe('the viewers WebSocket message', () => {
  test('round-trips; a count that is not a non-negative integer is refused', () => {
    const msg = { type: 'viewers' as const, room: 'demo', count: 42 };
    assert.deepEqual(parseServerMessage(serverMessage(msg)), msg);
    for (const count of [-1, 0.5, '3', null]) {
      assert.throws(() => parseServerMessage(JSON.stringify({ ...msg, count })), InvalidMessageError);
    }
  });
});
