import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  videoSubject,
  parseSubject,
  tryParseSubject,
  wildcards,
  InvalidIdError,
  mixLevelsSubject,
} from '../src/index.js';

test('source subjects round-trip through the parser', () => {
  const s = videoSubject('demo', 'cam-1');
  assert.equal(s, 'vidchat.src.demo.cam-1.video');
  assert.deepEqual(parseSubject(s), { scope: 'src', room: 'demo', source: 'cam-1', track: 'video' });
  assert.deepEqual(parseSubject(mixLevelsSubject('demo')), { scope: 'mix', room: 'demo', track: 'levels' });
});

test('ids that would escape a subject token are rejected before they become a subject', () => {
  for (const bad of ['', 'a.b', '*', '>', 'a b', '-lead', 'x'.repeat(65), 'é']) {
    assert.throws(() => videoSubject(bad, 'cam'), InvalidIdError);
    assert.throws(() => wildcards.roomSources(bad), InvalidIdError);
  }
  assert.equal(tryParseSubject('vidchat.src.demo.cam.unknown'), null);
  assert.equal(tryParseSubject('other.src.demo.cam.video'), null);
});
