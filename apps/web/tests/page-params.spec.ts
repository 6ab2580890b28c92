import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readPageParams, roomHref, socketUrl } from '../src/page-params.js';

/*
 * What the viewer reads from its URL, and the URLs it makes: a room that is
 * not a valid id is kept apart (the page says so instead of joining), and a
 * picked room keeps the token.
 */

test('reads a valid room and a token from the query', () => {
  assert.deepEqual(readPageParams('?room=demo&token=abc'), { room: 'demo', invalidRoom: null, token: 'abc' });
});

test('an absent room and an empty token are null', () => {
  assert.deepEqual(readPageParams(''), { room: null, invalidRoom: null, token: null });
  assert.deepEqual(readPageParams('?token='), { room: null, invalidRoom: null, token: null });
});

test('a room that is not a valid id is reported as invalid, never joined', () => {
  assert.deepEqual(readPageParams('?room=a%20b'), { room: null, invalidRoom: 'a b', token: null });
  assert.deepEqual(readPageParams('?room=a.b'), { room: null, invalidRoom: 'a.b', token: null });
  assert.deepEqual(readPageParams('?room='), { room: null, invalidRoom: '', token: null });
});

test('roomHref keeps the token and round-trips through readPageParams', () => {
  assert.equal(roomHref('demo', null), '?room=demo');
  const href = roomHref('demo', 'a&b=c');
  assert.deepEqual(readPageParams(href), { room: 'demo', invalidRoom: null, token: 'a&b=c' });
});

test('socketUrl follows the page scheme and host', () => {
  const loc = (protocol: string, host: string) => ({ protocol, host }) as Location;
  assert.equal(socketUrl(loc('http:', 'localhost:8080')), 'ws://localhost:8080/ws');
  assert.equal(socketUrl(loc('https:', 'example.org')), 'wss://example.org/ws');
});
