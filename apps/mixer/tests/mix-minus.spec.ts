import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeEnvelope } from '@vidchat/protocol';
import { FRAME_SAMPLES } from '../src/dsp/audio-format.js';
import { DEFAULT_JITTER_OPTIONS } from '../src/dsp/jitter-buffer.js';
import { LIMITER_KNEE, softLimit } from '../src/dsp/limiter.js';
import { floatToInt16, mixMinusInto } from '../src/dsp/mix.js';
import { MixBus } from '../src/dsp/mix-bus.js';
import { createMixEncoder } from '../src/codec/opus-encoder.js';
import { createStats } from '../src/room/mixer-stats.js';
import { RoomMix, type TickOutput } from '../src/room/room-mix.js';
import { decodeOpusPackets, goertzel } from './helpers/audio-analysis.js';

/*
 * Mix-minus: exact samples of the bus on synthetic frames (the listener's
 * own frame comes out of the sum before the limiter), then RoomMix's
 * listeners on real Opus packets.
 */

const i16 = (x: number): number => Math.round(x * 32767);

test('mixMinusInto: out = sum - own sample by sample, or a copy of the sum without own', () => {
  const sum = Float32Array.from([0.75, -0.5, 0.25, 1.5]);
  const own = Float32Array.from([0.25, -0.5, 0.5, 0.75]);
  assert.deepEqual([...mixMinusInto(new Float32Array(4), sum, own)], [0.5, 0, -0.25, 0.75]);
  assert.deepEqual([...mixMinusInto(new Float32Array(4), sum, null)], [...sum]);
  assert.throws(() => mixMinusInto(new Float32Array(3), sum, own), RangeError);
  assert.throws(() => mixMinusInto(new Float32Array(4), sum, new Float32Array(3)), RangeError);
});

test('MixBus: each minus is the sum of the others, limited; the room mix is the whole sum, limited', () => {
  // Dyadic values: every sum and difference is exact in float32.
  const a = Float32Array.from([0.5, 0.25, -0.125, 0]);
  const b = Float32Array.from([0.125, -0.25, -0.5, 0.375]);
  const c = Float32Array.from([0.0625, 0.5, 0.25, -0.25]);
  const bus = new MixBus(4);
  bus.begin();
  bus.add('a', a);
  bus.add('b', b);
  bus.add('c', c);
  const expect = (frames: Float32Array[]): number[] =>
    [0, 1, 2, 3].map((i) => i16(softLimit(frames.reduce((s, f) => s + f[i]!, 0))));
  assert.deepEqual([...bus.minus('a')], expect([b, c]));
  assert.deepEqual([...bus.minus('b')], expect([a, c]));
  assert.deepEqual([...bus.minus('c')], expect([a, b]));
  assert.deepEqual([...bus.mix()], expect([a, b, c]));
  assert.deepEqual([...bus.minus('a')], [i16(0.1875), i16(0.25), i16(-0.25), i16(0.125)]);
  // A listener that added nothing this tick hears everyone.
  assert.deepEqual([...bus.minus('viewer')], expect([a, b, c]));
  // A new tick starts from silence.
  bus.begin();
  assert.deepEqual([...bus.mix()], [0, 0, 0, 0]);
  assert.deepEqual([...bus.minus('a')], [0, 0, 0, 0]);
});

test('MixBus: the own frame is taken out BEFORE the limiter, so a loud room leaves no residue of it', () => {
  // Two sources at 0.625 each: the sum (1.25) is above the knee and bent by
  // the limiter; A's minus must be exactly B, untouched (0.625 < knee).
  assert.ok(0.625 < LIMITER_KNEE && 1.25 > LIMITER_KNEE);
  const a = new Float32Array(FRAME_SAMPLES).fill(0.625);
  const b = new Float32Array(FRAME_SAMPLES).fill(0.625);
  const bus = new MixBus();
  bus.begin();
  bus.add('a', a);
  bus.add('b', b);
  const minusA = Int16Array.from(bus.minus('a'));
  assert.ok(
    minusA.every((v) => v === i16(0.625)),
    `minus of A is B exactly: ${minusA[0]}`,
  );
  // Subtracting after the limiter would have given limit(1.25) - 0.625 instead.
  assert.notEqual(i16(softLimit(1.25) - 0.625), i16(0.625));
  const mix = Int16Array.from(bus.mix());
  assert.ok(
    mix.every((v) => v === i16(softLimit(1.25))),
    `room mix limited: ${mix[0]}`,
  );
  // The limiter still guards each minus: three loud sources, minus one, is above the knee.
  bus.begin();
  bus.add('a', a);
  bus.add('b', b);
  bus.add('c', b);
  assert.ok(bus.minus('a').every((v) => v === i16(softLimit(1.25))));
});

test('MixBus: the minus of a source whose frame ramps (gain applied) removes exactly that ramped frame', () => {
  const own = Float32Array.from([0.5, 0.375, 0.25, 0.125]); // a ramp-out of a 0.5 DC source
  const other = Float32Array.from([0.25, 0.25, 0.25, 0.25]);
  const bus = new MixBus(4);
  bus.begin();
  bus.add('own', own);
  bus.add('other', other);
  assert.deepEqual([...bus.minus('own')], [...other].map(i16));
});

/** Real Opus packets of a 0.25-amplitude tone, 20 ms each. */
function tonePackets(hz: number, count: number): Uint8Array[] {
  const enc = createMixEncoder();
  const out: Uint8Array[] = [];
  for (let k = 0; k < count; k++) {
    const f = Float32Array.from(
      { length: FRAME_SAMPLES },
      (_, i) => Math.sin((2 * Math.PI * hz * (k * FRAME_SAMPLES + i)) / 48_000) * 0.25,
    );
    out.push(enc.encode(floatToInt16(f)));
  }
  enc.close();
  return out;
}

const roomOptions = { jitter: DEFAULT_JITTER_OPTIONS, levelsEveryTicks: 5, maxSources: 8, bitrate: 48_000 };

test('RoomMix: one mix-minus per listener, each with its own sequence numbers; none for others; freed on leave', async () => {
  const stats = createStats();
  const mix = new RoomMix('r', { ...roomOptions, maxListeners: 2 }, stats);
  const p440 = tonePackets(440, 60);
  const p660 = tonePackets(660, 60);
  assert.ok(mix.addSource('a') && mix.addSource('b') && mix.addSource('mute'));
  await Promise.all(['a', 'b', 'mute'].map((s) => mix.channel(s)!.ready()));
  assert.equal(mix.addListener('a'), true);
  assert.equal(mix.addListener('a'), true, 'adding twice is one listener');
  assert.equal(mix.addListener('viewer'), true, 'a listener needs no audio of its own');
  assert.equal(mix.addListener('third'), false, 'over maxListeners');
  assert.equal(stats.overLimit, 1);
  assert.deepEqual(mix.listenerIds, ['a', 'viewer']);

  const outs: TickOutput[] = [];
  for (let t = 0; t < 60; t++) {
    mix.push('a', t, p440[t]!, 3_000_000 + t * 20_000, t * 20);
    mix.push('b', t, p660[t]!, 2_000_000 + t * 20_000, t * 20);
    outs.push(mix.tick(t * 20));
  }
  for (const [t, out] of outs.entries()) {
    assert.deepEqual(
      out.minus.map((m) => m.source),
      ['a', 'viewer'],
    );
    for (const m of out.minus) {
      const env = decodeEnvelope(m.audio);
      assert.equal(env.kind, 'mixedAudio');
      assert.equal(env.seq, t, 'each listener counts its own packets from 0');
    }
    // The viewer adds nothing to the mix: its minus is the room mix, encoded by
    // an encoder of its own that saw the same samples, so the same bytes.
    assert.deepEqual(decodeEnvelope(out.minus[1]!.audio).payload, decodeEnvelope(out.audio).payload);
  }
  assert.equal(stats.minusOut, 120);
  assert.equal(stats.encodes, 180);
  // Capture times: the room mix carries a's (the newest), a's minus the newest
  // without a (b's), the viewer's the room mix's.
  const last = outs[outs.length - 1]!;
  const roomCapture = decodeEnvelope(last.audio).captureTimeUs;
  const minusCapture = decodeEnvelope(last.minus[0]!.audio).captureTimeUs;
  assert.ok(roomCapture >= 3_000_000, `room mix capture ${roomCapture}`);
  assert.equal(minusCapture, roomCapture - 1_000_000, 'the minus of a is stamped with b, played in the same tick');
  assert.equal(decodeEnvelope(last.minus[1]!.audio).captureTimeUs, roomCapture);

  // A's minus holds B's tone and not A's; the room mix holds both.
  const steady = outs.slice(20);
  const minusA = await decodeOpusPackets(steady.map((o) => decodeEnvelope(o.minus[0]!.audio).payload));
  const room = await decodeOpusPackets(steady.map((o) => decodeEnvelope(o.audio).payload));
  const [m440, m660, r440, r660] = [
    goertzel(minusA, 440),
    goertzel(minusA, 660),
    goertzel(room, 440),
    goertzel(room, 660),
  ];
  assert.ok(m660 > 1000 * m440, `minus of a: 660 Hz ${m660} vs 440 Hz ${m440}`);
  assert.ok(r440 > 0.5 * r660 && r660 > 0.5 * r440, `room mix: 440 Hz ${r440}, 660 Hz ${r660}`);

  // The listener leaves: its stream stops, the other keeps its own count.
  mix.removeListener('a');
  mix.removeListener('a');
  const after = mix.tick(60 * 20);
  assert.deepEqual(
    after.minus.map((m) => [m.source, decodeEnvelope(m.audio).seq]),
    [['viewer', 60]],
  );
  assert.equal(mix.addListener('third'), true, 'the freed place can be taken');
  mix.close();
  mix.close();
  assert.equal(mix.listenerCount, 0, 'close frees every listener encoder');
  assert.equal(mix.addListener('late'), false, 'a closed room takes no listener');
});

test('RoomMix: a listener alone in the room hears silence; without listeners a tick has no minus', async () => {
  const stats = createStats();
  const mix = new RoomMix('r', { ...roomOptions, maxListeners: 4 }, stats);
  const p = tonePackets(440, 10);
  mix.addSource('a');
  await mix.channel('a')!.ready();
  const silent = createMixEncoder();
  const zeros = new Int16Array(FRAME_SAMPLES);
  for (let t = 0; t < 10; t++) {
    mix.push('a', t, p[t]!, t * 20_000, t * 20);
    assert.deepEqual(mix.tick(t * 20).minus, []);
  }
  mix.addListener('a');
  for (let t = 10; t < 20; t++) {
    const out = mix.tick(t * 20);
    assert.deepEqual(decodeEnvelope(out.minus[0]!.audio).payload, silent.encode(zeros), `tick ${t}`);
  }
  silent.close();
  mix.close();
});
