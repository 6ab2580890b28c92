import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  InvalidMessageError,
  parseHealthResponse,
  parseHttpError,
  parseRoomSourcesResponse,
  parseRoomsResponse,
  type HealthResponse,
  type RoomsResponse,
  type RoomSourcesResponse,
} from '../src/index.js';
import { idArb, sourceInfoArb } from './support/arbitraries.js';

/*
 * The gateway's HTTP JSON bodies: what the gateway sends (built from these
 * types, sent through JSON) reads back unchanged, unknown fields are ignored,
 * and anything else is an InvalidMessageError, never a TypeError.
 */

/** Through JSON text and back, as `res.json()` and `response.json()` do (plain objects, no null prototypes). */
const viaJson = (v: unknown): unknown => JSON.parse(JSON.stringify(v)) as unknown;

const roomsArb: fc.Arbitrary<RoomsResponse> = fc.record({
  rooms: fc.array(fc.record({ room: idArb, sources: fc.array(sourceInfoArb, { maxLength: 4 }), watchers: fc.nat() }), {
    maxLength: 5,
  }),
});
const sourcesArb: fc.Arbitrary<RoomSourcesResponse> = fc.record({
  room: idArb,
  sources: fc.array(sourceInfoArb, { maxLength: 6 }),
});

describe('HTTP API bodies round trip (property)', () => {
  test('GET /api/rooms', () => {
    fc.assert(
      fc.property(roomsArb, (body) => assert.deepEqual(parseRoomsResponse(viaJson(body)), viaJson(body))),
      { numRuns: 300 },
    );
  });

  test('GET /api/rooms/:room/sources', () => {
    fc.assert(
      fc.property(sourcesArb, (body) => assert.deepEqual(parseRoomSourcesResponse(viaJson(body)), viaJson(body))),
      { numRuns: 300 },
    );
  });

  test('any JSON value either parses or throws InvalidMessageError', () => {
    const parsers = [parseRoomsResponse, parseRoomSourcesResponse, parseHealthResponse, parseHttpError];
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 4 }), fc.constantFrom(...parsers), (v, parse) => {
        try {
          parse(v);
        } catch (err) {
          assert.ok(err instanceof InvalidMessageError, String(err));
        }
      }),
      { numRuns: 1000 },
    );
  });
});

describe('HTTP API bodies on examples', () => {
  const health: HealthResponse = { status: 'ok', nats: 'connected', viewers: 3, rooms: 1 };

  test('the health body, with unknown fields ignored', () => {
    assert.deepEqual(parseHealthResponse({ ...health, uptime: 12 }), health);
    assert.deepEqual(parseHealthResponse({ status: 'unavailable', nats: 'reconnecting', viewers: 0, rooms: 0 }), {
      status: 'unavailable',
      nats: 'reconnecting',
      viewers: 0,
      rooms: 0,
    });
  });

  test('a health body with an unknown status, a fractional or negative count is rejected', () => {
    assert.throws(() => parseHealthResponse({ ...health, status: 'fine' }), InvalidMessageError);
    assert.throws(() => parseHealthResponse({ ...health, nats: 'up' }), InvalidMessageError);
    assert.throws(() => parseHealthResponse({ ...health, viewers: 1.5 }), InvalidMessageError);
    assert.throws(() => parseHealthResponse({ ...health, rooms: -1 }), InvalidMessageError);
  });

  test('a room list with an invalid room id, or without a list, is rejected', () => {
    assert.deepEqual(parseRoomsResponse({ rooms: [] }), { rooms: [] });
    assert.throws(
      () => parseRoomsResponse({ rooms: [{ room: 'a.b', sources: [], watchers: 0 }] }),
      InvalidMessageError,
    );
    assert.throws(() => parseRoomsResponse({ rooms: [{ room: 'a', sources: 2, watchers: 0 }] }), InvalidMessageError);
    assert.throws(() => parseRoomsResponse([]), InvalidMessageError);
    assert.throws(() => parseRoomsResponse(null), InvalidMessageError);
  });

  test('a source that fails the roster rules is rejected', () => {
    const bad = { id: 'cam', name: 'Cam', video: { width: 0 }, audio: null, since: 1 };
    assert.throws(() => parseRoomSourcesResponse({ room: 'r', sources: [bad] }), InvalidMessageError);
  });

  test('error bodies: known and unknown codes are read, a missing message is not', () => {
    assert.deepEqual(parseHttpError({ error: 'unauthorized', message: 'no token' }), {
      error: 'unauthorized',
      message: 'no token',
    });
    assert.deepEqual(parseHttpError({ error: 'from-the-future', message: 'm' }), {
      error: 'from-the-future',
      message: 'm',
    });
    assert.throws(() => parseHttpError({ error: 'bad-id' }), InvalidMessageError);
    assert.throws(() => parseHttpError({ error: 'x'.repeat(65), message: '' }), InvalidMessageError);
  });
});
