import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { PresenceMessage } from '@vidchat/protocol';
import { AudioPresence, ListenerPresence } from '../src/presence/audio-presence.js';

const audio = { codec: 'opus', sampleRate: 48000, channels: 1, frameDurationMs: 20 } as const;
function presence(type: PresenceMessage['type'], source: string, withAudio = true): PresenceMessage {
  return { v: 1, type, room: 'r1', source, name: source, ts: 0, video: null, audio: withAudio ? audio : null };
}

test('a source with audio joins once; heartbeats keep it', () => {
  const p = new AudioPresence(3000);
  assert.deepEqual(p.apply(presence('join', 'a'), 0), { type: 'joined', room: 'r1', source: 'a' });
  assert.equal(p.apply(presence('heartbeat', 'a'), 1000), null);
  assert.deepEqual(p.expire(3900), []);
  assert.deepEqual(p.sourcesOf('r1'), ['a']);
});

test('a heartbeat from an unknown source joins it (the mixer started after the agent)', () => {
  const p = new AudioPresence(3000);
  assert.deepEqual(p.apply(presence('heartbeat', 'a'), 0), { type: 'joined', room: 'r1', source: 'a' });
});

test('a source without audio is not mixed; one that drops its audio leaves', () => {
  const p = new AudioPresence(3000);
  assert.equal(p.apply(presence('join', 'v', false), 0), null);
  assert.deepEqual(p.roomIds(), []);
  p.apply(presence('join', 'a'), 0);
  assert.deepEqual(p.apply(presence('heartbeat', 'a', false), 10), {
    type: 'left',
    room: 'r1',
    source: 'a',
    reason: 'no-audio',
  });
});

test('leave removes at once; silence past the timeout removes; the room goes with its last source', () => {
  const p = new AudioPresence(3000);
  p.apply(presence('join', 'a'), 0);
  p.apply(presence('join', 'b'), 0);
  assert.deepEqual(p.apply(presence('leave', 'a'), 100), { type: 'left', room: 'r1', source: 'a', reason: 'leave' });
  assert.equal(p.apply(presence('leave', 'a'), 150), null, 'a second leave changes nothing');
  assert.deepEqual(p.expire(3000), []);
  assert.deepEqual(p.expire(3001), [{ type: 'left', room: 'r1', source: 'b', reason: 'timeout' }]);
  assert.deepEqual(p.roomIds(), []);
});

test('listeners: a source that says listens joins, with or without audio; one that stops saying it leaves', () => {
  const l = new ListenerPresence(3000);
  assert.equal(l.apply(presence('join', 'a'), 0), null, 'a source that does not say listens is no listener');
  assert.deepEqual(l.apply({ ...presence('join', 'v', false), listens: true }, 0), {
    type: 'joined',
    room: 'r1',
    source: 'v',
  });
  assert.deepEqual(l.apply({ ...presence('join', 'b'), listens: true }, 0), {
    type: 'joined',
    room: 'r1',
    source: 'b',
  });
  assert.deepEqual(l.apply({ ...presence('heartbeat', 'b'), listens: false }, 10), {
    type: 'left',
    room: 'r1',
    source: 'b',
    reason: 'not-listening',
  });
  assert.deepEqual(l.expire(3001), [{ type: 'left', room: 'r1', source: 'v', reason: 'timeout' }]);
  assert.deepEqual(l.roomIds(), []);
});
