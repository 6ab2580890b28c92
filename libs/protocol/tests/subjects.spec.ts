import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  videoSubject,
  videoLayerSubject,
  InvalidFieldError,
  audioSubject,
  presenceSubject,
  sourceSubject,
  mixAudioSubject,
  mixSubject,
  parseSubject,
  tryParseSubject,
  wildcards,
  InvalidIdError,
  InvalidSubjectError,
  mixLevelsSubject,
  mixMinusSubject,
  recPeerSubject,
  recPeerStartWildcard,
  tryParseRecPeerSubject,
  tryParseRecSubject,
  type MixTrack,
  type SourceTrack,
} from '../src/index.js';
import { idArb } from './support/arbitraries.js';

test('source subjects round-trip through the parser', () => {
  const s = videoSubject('demo', 'cam-1');
  assert.equal(s, 'vidchat.src.demo.cam-1.video');
  assert.deepEqual(parseSubject(s), { scope: 'src', room: 'demo', source: 'cam-1', track: 'video' });
  assert.deepEqual(parseSubject(mixLevelsSubject('demo')), { scope: 'mix', room: 'demo', track: 'levels' });
});

test('video layers: layer 0 keeps `.video`, layer 1 is `.video1`, which no `.video` wildcard matches', () => {
  assert.equal(videoLayerSubject('demo', 'cam-1', 0), 'vidchat.src.demo.cam-1.video');
  assert.equal(videoLayerSubject('demo', 'cam-1', 1), 'vidchat.src.demo.cam-1.video1');
  assert.deepEqual(parseSubject('vidchat.src.demo.cam-1.video1'), {
    scope: 'src',
    room: 'demo',
    source: 'cam-1',
    track: 'video',
    layer: 1,
  });
  assert.equal(tryParseSubject('vidchat.src.demo.cam-1.video2'), null);
  assert.equal(tryParseSubject('vidchat.src.demo.cam-1.video0'), null);
  assert.equal(tryParseSubject('vidchat.src.demo.cam-1.video01'), null);
  assert.throws(() => videoLayerSubject('demo', 'cam-1', 2), InvalidFieldError);
  assert.throws(() => videoLayerSubject('demo', 'cam-1', 0.5), InvalidFieldError);
  assert.ok(!wildcards.roomTrack('demo', 'video').endsWith('video1'));
});

test('ids that would escape a subject token are rejected before they become a subject', () => {
  for (const bad of ['', 'a.b', '*', '>', 'a b', '-lead', 'x'.repeat(65), 'é']) {
    assert.throws(() => videoSubject(bad, 'cam'), InvalidIdError);
    assert.throws(() => wildcards.roomSources(bad), InvalidIdError);
  }
  assert.equal(tryParseSubject('vidchat.src.demo.cam.unknown'), null);
  assert.equal(tryParseSubject('other.src.demo.cam.video'), null);
});

describe('subject tree (property)', () => {
  const sourceTrack = fc.constantFrom<SourceTrack>('video', 'audio', 'presence');
  const mixTrack = fc.constantFrom<MixTrack>('audio', 'levels');

  test('every built source subject parses back to its room, source and track', () => {
    fc.assert(
      fc.property(idArb, idArb, sourceTrack, (room, source, track) => {
        const s = sourceSubject(room, source, track);
        assert.equal(s.split('.').length, 5, 'ids never add a token');
        assert.deepEqual(parseSubject(s), { scope: 'src', room, source, track });
      }),
      { numRuns: 500 },
    );
  });

  test('every built mix subject parses back to its room and track', () => {
    fc.assert(
      fc.property(idArb, mixTrack, (room, track) => {
        assert.deepEqual(parseSubject(mixSubject(room, track)), { scope: 'mix', room, track });
      }),
      { numRuns: 500 },
    );
  });

  test('every built mix-minus subject parses back to its room and listener', () => {
    fc.assert(
      fc.property(idArb, idArb, (room, source) => {
        const s = mixMinusSubject(room, source);
        assert.equal(s.split('.').length, 5, 'ids never add a token');
        assert.deepEqual(parseSubject(s), { scope: 'mix', room, track: 'minus', source });
      }),
      { numRuns: 500 },
    );
  });

  test('any string either parses or gives InvalidSubjectError, never another throw', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string({ unit: 'binary' }),
          fc.array(fc.string({ maxLength: 8 })).map((p) => p.join('.')),
        ),
        (s) => {
          try {
            parseSubject(s);
          } catch (err) {
            assert.ok(err instanceof InvalidSubjectError);
            assert.equal(err.code, 'ERR_INVALID_SUBJECT');
          }
        },
      ),
      { numRuns: 3000 },
    );
  });
});

test('named builders and wildcards draw the documented tree', () => {
  assert.equal(audioSubject('demo', 'cam-1'), 'vidchat.src.demo.cam-1.audio');
  assert.equal(presenceSubject('demo', 'cam-1'), 'vidchat.src.demo.cam-1.presence');
  assert.equal(mixAudioSubject('demo'), 'vidchat.mix.demo.audio');
  assert.equal(wildcards.roomSources('demo'), 'vidchat.src.demo.>');
  assert.equal(wildcards.roomTrack('demo', 'video'), 'vidchat.src.demo.*.video');
  assert.equal(wildcards.roomMix('demo'), 'vidchat.mix.demo.>');
  assert.equal(wildcards.roomSharedMix('demo'), 'vidchat.mix.demo.*');
  assert.equal(wildcards.allPresence(), 'vidchat.src.*.*.presence');
  assert.equal(wildcards.allTrack('audio'), 'vidchat.src.*.*.audio');
  // Wildcards are for subscribing; a message subject never contains one.
  assert.equal(tryParseSubject(wildcards.roomTrack('demo', 'video')), null);
});

test('mix-minus subjects: built, parsed, matched by their wildcards, and nothing near them parses', () => {
  assert.equal(mixMinusSubject('demo', 'cam-1'), 'vidchat.mix.demo.minus.cam-1');
  assert.deepEqual(parseSubject('vidchat.mix.demo.minus.cam-1'), {
    scope: 'mix',
    room: 'demo',
    track: 'minus',
    source: 'cam-1',
  });
  assert.equal(wildcards.roomMinus('demo'), 'vidchat.mix.demo.minus.*');
  for (const bad of [
    'vidchat.mix.demo.minus',
    'vidchat.mix.demo.minus.*',
    'vidchat.mix.demo.minus.a.b',
    'vidchat.mix.demo.minus.-x',
    'vidchat.mix.demo.plus.cam-1',
    'vidchat.mix.demo.audio.cam-1',
    'vidchat.mix.-demo.minus.cam-1',
  ]) {
    assert.equal(tryParseSubject(bad), null, bad);
  }
  for (const bad of ['a.b', '*', '>', '']) {
    assert.throws(() => mixMinusSubject('demo', bad), InvalidIdError);
    assert.throws(() => mixMinusSubject(bad, 'cam'), InvalidIdError);
    assert.throws(() => wildcards.roomMinus(bad), InvalidIdError);
  }
});

test('recorder peer subjects: one token deeper than the requests, parsed back, never a request', () => {
  assert.equal(recPeerSubject('demo', 'stop'), 'vidchat.rec.demo.peer.stop');
  assert.equal(recPeerStartWildcard, 'vidchat.rec.*.peer.start');
  assert.deepEqual(tryParseRecPeerSubject('vidchat.rec.demo.peer.list'), { room: 'demo', action: 'list' });
  assert.equal(tryParseRecPeerSubject('vidchat.rec.demo.peer.events'), null);
  assert.equal(tryParseRecPeerSubject('vidchat.rec.bad$room.peer.stop'), null);
  assert.equal(tryParseRecPeerSubject('vidchat.rec.demo.stop'), null);
  assert.equal(tryParseRecSubject('vidchat.rec.demo.peer.stop'), null);
  assert.throws(() => recPeerSubject('a.b', 'start'), InvalidIdError);
});
