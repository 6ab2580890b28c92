import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readPageParams, roomHref, socketUrl } from '../src/page-params.js';

/*
 * What the viewer reads from its URL, and the URLs it makes: a room that is
 * not a valid id is kept apart (the page says so instead of joining), and a
 * picked room keeps the token.
 */

const NO_JOIN = {
  decode: null,
  join: false,
  name: null,
  as: null,
  httpsPort: null,
  layer: null,
};

test('reads a valid room and a token from the query', () => {
  assert.deepEqual(readPageParams('?room=demo&token=abc'), {
    room: 'demo',
    invalidRoom: null,
    token: 'abc',
    ...NO_JOIN,
  });
});

test('an absent room and an empty token are null', () => {
  assert.deepEqual(readPageParams(''), { room: null, invalidRoom: null, token: null, ...NO_JOIN });
  assert.deepEqual(readPageParams('?token='), { room: null, invalidRoom: null, token: null, ...NO_JOIN });
});

test('a room that is not a valid id is reported as invalid, never joined', () => {
  assert.deepEqual(readPageParams('?room=a%20b'), { room: null, invalidRoom: 'a b', token: null, ...NO_JOIN });
  assert.deepEqual(readPageParams('?room=a.b'), { room: null, invalidRoom: 'a.b', token: null, ...NO_JOIN });
  assert.deepEqual(readPageParams('?room='), { room: null, invalidRoom: '', token: null, ...NO_JOIN });
});

test('roomHref keeps the token and round-trips through readPageParams', () => {
  assert.equal(roomHref('demo', null), '?room=demo');
  const href = roomHref('demo', 'a&b=c');
  assert.deepEqual(readPageParams(href), { room: 'demo', invalidRoom: null, token: 'a&b=c', ...NO_JOIN });
});

test('join=1 with a name joins at once; as= and https-port= are read when valid', () => {
  const p = readPageParams('?room=r&join=1&name=Ann%20Lee&as=cam-1&https-port=9443');
  assert.equal(p.join, true);
  assert.equal(p.name, 'Ann Lee');
  assert.equal(p.as, 'cam-1');
  assert.equal(p.httpsPort, 9443);
  assert.equal(readPageParams('?room=r&join=true').join, true);
  assert.equal(readPageParams('?room=r&join=0').join, false);
  assert.equal(readPageParams('?room=r&join=1&name=').name, null);
  assert.equal(readPageParams('?room=r&as=a.b').as, null);
  assert.equal(readPageParams('?room=r&https-port=70000').httpsPort, null);
  assert.equal(readPageParams('?room=r&https-port=x').httpsPort, null);
});

test('layer=0|1 forces a layer for every tile; anything else chooses per tile', () => {
  assert.equal(readPageParams('?room=r&layer=0').layer, 0);
  assert.equal(readPageParams('?room=r&layer=1').layer, 1);
  assert.equal(readPageParams('?room=r&layer=2').layer, null);
  assert.equal(readPageParams('?room=r&layer=').layer, null);
  assert.equal(readPageParams('?room=r&layer=x').layer, null);
});

test('decode=auto|image-decoder|blob picks how tiles decode; anything else leaves it to the page', () => {
  assert.equal(readPageParams('?room=r&decode=blob').decode, 'blob');
  assert.equal(readPageParams('?room=r&decode=auto').decode, 'auto');
  assert.equal(readPageParams('?room=r&decode=image-decoder').decode, 'image-decoder');
  assert.equal(readPageParams('?room=r&decode=').decode, null);
  assert.equal(readPageParams('?room=r&decode=webgl').decode, null);
  assert.equal(readPageParams('?room=r').decode, null);
});

test('socketUrl follows the page scheme and host', () => {
  const loc = (protocol: string, host: string) => ({ protocol, host }) as Location;
  assert.equal(socketUrl(loc('http:', 'localhost:8080')), 'ws://localhost:8080/ws');
  assert.equal(socketUrl(loc('https:', 'example.org')), 'wss://example.org/ws');
});
