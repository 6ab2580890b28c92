import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { AudioEnvelope, AudioMode } from '@vidchat/protocol';
import {
  gainOf,
  parseVolume,
  SourceAudio,
  type MixPlayer,
  type StreamPlayer,
  type VolumeSetting,
} from '../src/source-audio.js';

/*
 * When the page asks for per-source audio and what it does with it, with
 * stand-in players (the real ones need Web Audio; the e2e test plays them).
 */

class FakeMain implements MixPlayer<string> {
  enabled = false;
  delay: number | null = 120;
  get bus(): string | null {
    return this.enabled ? 'bus' : null;
  }
  lipSyncDelayMs(): number | null {
    return this.delay;
  }
}

class FakeStream implements StreamPlayer<{ pushed: number }> {
  gain = 1;
  pushed: number[] = [];
  closed = false;
  delay: number | null = null;
  started: Promise<void>;
  private resolve: () => void = () => undefined;
  constructor(readonly bus: string) {
    this.started = new Promise((r) => (this.resolve = r));
  }
  enable(): Promise<void> {
    return this.started;
  }
  start(): void {
    this.resolve();
  }
  push(env: AudioEnvelope): void {
    this.pushed.push(env.seq);
  }
  setGain(gain: number): void {
    this.gain = gain;
  }
  close(): void {
    this.closed = true;
  }
  lipSyncDelayMs(): number | null {
    return this.delay;
  }
  snapshot(): { pushed: number } {
    return { pushed: this.pushed.length };
  }
}

function env(source: string, seq: number): AudioEnvelope {
  return {
    kind: 'audio',
    source,
    seq,
    captureTimeUs: 0,
    codec: 'opus',
    sampleRate: 48_000,
    channels: 1,
    durationUs: 20_000,
    payload: new Uint8Array([0xf8]),
  };
}

function setup(): {
  main: FakeMain;
  sent: AudioMode[];
  streams: Map<string, FakeStream>;
  audio: SourceAudio<string, { pushed: number }>;
  socketOpen: { value: boolean };
} {
  const main = new FakeMain();
  const sent: AudioMode[] = [];
  const socketOpen = { value: true };
  const created: FakeStream[] = [];
  const streams = new Map<string, FakeStream>();
  const audio = new SourceAudio<string, { pushed: number }>(
    main,
    (mode) => {
      if (!socketOpen.value) return false;
      sent.push(mode);
      return true;
    },
    (bus) => {
      const s = new FakeStream(bus);
      created.push(s);
      return s;
    },
  );
  // Streams by the source of their first packet.
  const origPush = audio.push.bind(audio);
  audio.push = (e: AudioEnvelope) => {
    const before = created.length;
    origPush(e);
    if (created.length > before) streams.set(e.source, created[created.length - 1]!);
  };
  return { main, sent, streams, audio, socketOpen };
}

const at = (percent: number, muted = false): VolumeSetting => ({ percent, muted });

test('every tile at 100%: the mix; a changed tile: sources, once audio plays; all back: the mix again', () => {
  const { main, sent, audio } = setup();
  audio.set('a', at(100));
  audio.set('b', at(100));
  assert.deepEqual(sent, []);
  audio.set('a', at(100, true));
  assert.deepEqual(sent, [], 'no audio playing yet: the cheaper mix');
  assert.equal(audio.mode, 'mix');
  main.enabled = true;
  audio.resync();
  assert.deepEqual(sent, ['sources']);
  assert.equal(audio.mode, 'sources');
  audio.set('b', at(150));
  assert.deepEqual(sent, ['sources'], 'told once');
  audio.set('a', at(100));
  assert.deepEqual(sent, ['sources']);
  audio.set('b', at(100));
  assert.deepEqual(sent, ['sources', 'mix']);
  assert.equal(audio.anyChanged, false);
});

test('a changed tile that leaves the roster no longer holds the page in sources mode', () => {
  const { main, sent, audio } = setup();
  main.enabled = true;
  audio.set('a', at(100));
  audio.set('b', at(0));
  assert.deepEqual(sent, ['sources']);
  audio.remove('b');
  assert.deepEqual(sent, ['sources', 'mix']);
});

test('a new socket starts at the mix: resync tells it again; a closed socket is told at the next resync', () => {
  const { main, sent, audio, socketOpen } = setup();
  main.enabled = true;
  audio.set('a', at(50));
  assert.deepEqual(sent, ['sources']);
  audio.resync();
  assert.deepEqual(sent, ['sources', 'sources']);
  socketOpen.value = false;
  audio.resync();
  assert.equal(audio.mode, 'mix', 'nothing told: the new socket sends the mix');
  socketOpen.value = true;
  audio.resync();
  assert.deepEqual(sent, ['sources', 'sources', 'sources']);
  assert.equal(audio.mode, 'sources');
});

test('one stream per source, at its gain, on the mix player’s bus; none for unknown sources or in mix mode', async () => {
  const { main, audio, streams } = setup();
  main.enabled = true;
  audio.set('a', at(200));
  audio.set('b', at(100, true));
  audio.push(env('a', 1));
  audio.push(env('a', 2));
  audio.push(env('b', 1));
  audio.push(env('stranger', 1));
  assert.deepEqual([...streams.keys()].sort(), ['a', 'b']);
  const a = streams.get('a')!;
  const b = streams.get('b')!;
  assert.equal(a.bus, 'bus');
  assert.deepEqual(a.pushed, [1, 2]);
  assert.equal(a.gain, 2);
  assert.equal(b.gain, 0);
  audio.set('b', at(40));
  assert.equal(b.gain, 0.4, 'a change reaches the playing stream');
  assert.deepEqual(Object.keys(audio.snapshot().sources).sort(), ['a', 'b']);
  assert.deepEqual(audio.snapshot().sources['a'], { pushed: 2, percent: 200, muted: false });
  // The source leaves: its stream closes.
  audio.remove('b');
  assert.equal(b.closed, true);
  // Back to the mix: every stream closes, and late packets start none.
  audio.set('a', at(100));
  assert.equal(audio.mode, 'mix');
  assert.equal(a.closed, true);
  streams.clear();
  audio.push(env('a', 3));
  assert.equal(streams.size, 0);
  assert.deepEqual(audio.snapshot(), { mode: 'mix', sources: {} });
});

test('a stream closed while it was starting is closed again once started', async () => {
  const { main, audio, streams } = setup();
  main.enabled = true;
  audio.set('a', at(50));
  audio.push(env('a', 1));
  const s = streams.get('a')!;
  audio.remove('a');
  assert.equal(s.closed, true);
  s.closed = false;
  s.start();
  await s.started;
  await new Promise((r) => setImmediate(r));
  assert.equal(s.closed, true);
});

test('lip sync: the mix’s delay, or in sources mode the longest source delay', () => {
  const { main, audio, streams } = setup();
  main.enabled = true;
  assert.equal(audio.lipSyncDelayMs(), 120);
  audio.set('a', at(50));
  audio.set('b', at(100));
  audio.push(env('a', 1));
  audio.push(env('b', 1));
  assert.equal(audio.lipSyncDelayMs(), 120, 'no source delay known yet: the mix’s');
  streams.get('a')!.delay = 90;
  streams.get('b')!.delay = 140;
  assert.equal(audio.lipSyncDelayMs(), 140);
});

test('stored settings: only well-formed ones are read back', () => {
  assert.deepEqual(parseVolume('{"percent":150,"muted":false}'), { percent: 150, muted: false });
  assert.deepEqual(parseVolume('{"percent":0,"muted":true}'), { percent: 0, muted: true });
  for (const bad of [
    null,
    '',
    'nope',
    '150',
    '{"percent":201,"muted":false}',
    '{"percent":-1,"muted":false}',
    '{"percent":50.5,"muted":false}',
    '{"percent":"50","muted":false}',
    '{"percent":50}',
  ]) {
    assert.equal(parseVolume(bad), null, String(bad));
  }
  assert.equal(gainOf({ percent: 150, muted: false }), 1.5);
  assert.equal(gainOf({ percent: 150, muted: true }), 0);
});
