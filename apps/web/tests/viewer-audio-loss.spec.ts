import { test } from 'node:test';
import assert from 'node:assert/strict';
import { opusPacketHasFec } from '@vidchat/protocol';
import { ConcealingDecoder, FADE_IN_SAMPLES, MAX_CONCEALED_FRAMES, SequenceTracker } from '../src/audio-concealment.js';
import { FreshnessFilter } from '../src/audio-freshness.js';
import { loadLibopus } from './support/libopus-node.js';
import { frameRms, gaps, harmonicOpusPackets, randomLoss } from './support/harmonic-opus.js';

/*
 * The viewer's loss handling on real Opus (libopus encodes; the page's own
 * libopus WebAssembly build decodes, loaded from the same file the build
 * copies next to app.js), and its freshness filter, on exact numbers.
 */
const lib = await loadLibopus();
const COUNT = 750; // 15 s
const withFec = harmonicOpusPackets(COUNT);
const rms = (f: Float32Array): number => Math.sqrt(f.reduce((s, v) => s + v * v, 0) / f.length);

/** Plays `packets` through a ConcealingDecoder with `lost` ones left out; the played timeline, joined. */
function play(packets: Uint8Array[], lost: boolean[]): { pcm: Float32Array; dec: ConcealingDecoder } {
  const dec = new ConcealingDecoder(lib.decoder());
  const frames: Float32Array[] = [];
  packets.forEach((p, k) => {
    if (lost[k]) return;
    const v = dec.sequence(k);
    assert.equal(v.kind, 'next');
    if (v.kind === 'next') frames.push(...dec.frames(p, v.lost));
  });
  const pcm = new Float32Array(frames.reduce((n, f) => n + f.length, 0));
  let at = 0;
  for (const f of frames) {
    pcm.set(f, at);
    at += f.length;
  }
  return { pcm, dec };
}

test('in-order packets pass; late and duplicate ones are dropped and counted; the u32 wrap and a restart', () => {
  const s = new SequenceTracker();
  assert.deepEqual(s.sequence(7), { kind: 'next', lost: 0 });
  assert.deepEqual(s.sequence(8), { kind: 'next', lost: 0 });
  assert.deepEqual(s.sequence(8), { kind: 'late' });
  assert.deepEqual(s.sequence(5), { kind: 'late' });
  assert.equal(s.late, 2);
  const w = new SequenceTracker();
  w.sequence(0xfffffffe);
  assert.deepEqual(w.sequence(1), { kind: 'next', lost: 2 });
  assert.deepEqual(w.sequence(1_000_000), { kind: 'next', lost: 999_998 });
  assert.deepEqual(w.sequence(3), { kind: 'next', lost: 0 }, 'restart');
  assert.equal(w.restarted, true);
});

test('10% random loss: every lost packet filled with 20 ms, FEC for most, gaps only where libopus itself dips', () => {
  // Twenty loss patterns of 15 s. The baseline is no concealment: the same decoded timeline with the lost frames
  // silent (bench/viewer-loss.bench.mjs also plays what the page did before: a reversed frame fading out).
  let frames = 0;
  let gapFrames = 0;
  let silentGapFrames = 0;
  let lostTotal = 0;
  let cleanSeeds = 0;
  for (let seed = 1; seed <= 20; seed++) {
    const lost = randomLoss(COUNT, 0.1, seed);
    lost[0] = false; // nothing to conceal before the first packet
    const { pcm, dec } = play(withFec, lost);
    assert.equal(pcm.length, (lost.lastIndexOf(false) + 1) * 960, 'the timeline keeps its length');
    const s = dec.stats;
    assert.equal(s.lost, lost.slice(0, lost.lastIndexOf(false)).filter(Boolean).length);
    assert.equal(s.fecRecovered + s.concealed, s.lost);
    // Most losses are single, and libopus sends FEC for active frames: the next packet rebuilds them.
    assert.ok(s.fecRecovered >= s.lost / 3, `${s.fecRecovered} of ${s.lost} rebuilt from FEC`);
    const g = gaps(frameRms(pcm).slice(5));
    const silent = Float32Array.from(pcm);
    lost.forEach((l, k) => {
      if (l) silent.fill(0, k * 960, (k + 1) * 960);
    });
    frames += pcm.length / 960 - 5;
    gapFrames += g.gaps.length;
    if (g.gaps.length === 0) cleanSeeds++;
    silentGapFrames += gaps(frameRms(silent).slice(5)).gaps.length;
    lostTotal += s.lost;
    dec.close();
  }
  // Measured: 9 gap frames in 14,900 (0.06%) against 1,500+ silent ones; 14 of 20 patterns without any. The rest are
  // libopus's concealment of a frame whose next packet had no FEC, in the sound's quiet phase, and the frames after it.
  assert.ok(gapFrames <= frames * 0.002, `${gapFrames} gap frames of ${frames}`);
  assert.ok(silentGapFrames >= lostTotal * 0.9, `baseline: ${silentGapFrames} gap frames for ${lostTotal} lost`);
  assert.ok(cleanSeeds >= 10, `${cleanSeeds} of 20 loss patterns without a gap`);
});

test('rebuilds a lost packet from the next one when it carries FEC; the first of a pair is concealed', () => {
  const single = withFec.findIndex((_, k) => k >= 100 && opusPacketHasFec(withFec[k + 1]!));
  const pair = withFec.findIndex((_, k) => k >= 300 && opusPacketHasFec(withFec[k + 2]!));
  assert.ok(single >= 100 && single < 290 && pair >= 300 && pair < 390, 'the source carries FEC');
  const lost = withFec.map((_, k) => k === single || k === pair || k === pair + 1);
  const { dec } = play(withFec.slice(0, 400), lost);
  assert.deepEqual(
    [dec.stats.lost, dec.stats.fecRecovered, dec.stats.concealed],
    [3, 2, 1],
    'the single loss and the second of the pair from FEC; the first of the pair: its data is nowhere',
  );
});

test('a stream without FEC is concealed by the decoder, never counted as recovered, with no gap', () => {
  const plain = harmonicOpusPackets(200, { fec: false });
  assert.ok(plain.every((p) => !opusPacketHasFec(p)));
  const lost = plain.map((_, k) => k === 100 || k === 150 || k === 151);
  const { pcm, dec } = play(plain, lost);
  assert.deepEqual([dec.stats.lost, dec.stats.fecRecovered, dec.stats.concealed], [3, 0, 3]);
  assert.deepEqual(gaps(frameRms(pcm).slice(5)).gaps, []);
});

test(`a long outage is concealed for ${MAX_CONCEALED_FRAMES} frames fading to silence, then the stream fades in`, () => {
  const dec = new ConcealingDecoder(lib.decoder());
  let before: Float32Array = new Float32Array(0);
  for (let k = 0; k < 100; k++) {
    dec.sequence(k);
    before = dec.frames(withFec[k]!, 0)[0]!;
  }
  const v = dec.sequence(130);
  assert.deepEqual(v, { kind: 'next', lost: 30 });
  const out = dec.frames(withFec[130]!, 30);
  assert.equal(out.length, MAX_CONCEALED_FRAMES + 1);
  assert.ok(rms(out[0]!) > 0.3 * rms(before), 'concealment carries on');
  const fade = out[MAX_CONCEALED_FRAMES - 1]!;
  assert.equal(Math.abs(fade[fade.length - 1]!), 0, 'the last concealed frame ends in silence');
  const resumed = out[MAX_CONCEALED_FRAMES]!;
  // A twin decoder given the same calls, without the fade: the first frame after the outage ramps up from it.
  const twin = lib.decoder();
  for (let k = 0; k < 100; k++) twin.decode(withFec[k]!);
  for (let k = 0; k < MAX_CONCEALED_FRAMES; k++) twin.recover(undefined, 960);
  const raw = twin.decode(withFec[130]!)!;
  twin.close();
  assert.ok(rms(raw) > 0, 'the twin decodes sound');
  for (const i of [0, 10, FADE_IN_SAMPLES - 1, FADE_IN_SAMPLES + 10])
    assert.equal(resumed[i], Math.fround(raw[i]! * Math.min(1, (i + 1) / FADE_IN_SAMPLES)), `sample ${i} faded in`);
  assert.deepEqual([dec.stats.lost, dec.stats.fecRecovered, dec.stats.concealed], [30, 0, MAX_CONCEALED_FRAMES]);
  dec.close();
});

test('a corrupt packet is counted, plays nothing, and the next frame fades in; packets dropped on purpose are not filled', () => {
  const dec = new ConcealingDecoder(lib.decoder());
  for (let k = 0; k < 50; k++) dec.frames(withFec[k]!, 0);
  // A packet whose TOC announces code 3 with zero frames does not decode.
  assert.deepEqual(dec.frames(Uint8Array.of(0xfb, 0x00), 0), []);
  assert.equal(dec.stats.decodeErrors, 1);
  const next = dec.frames(withFec[51]!, 0);
  assert.equal(next.length, 1);
  const f = next[0]!;
  assert.ok(rms(f.subarray(0, FADE_IN_SAMPLES / 4)) < 0.25 * rms(f), 'the frame after it fades in');
  dec.interrupt();
  assert.equal(dec.frames(withFec[60]!, 0).length, 1);
  assert.equal(dec.stats.concealed + dec.stats.fecRecovered, 0);
  dec.close();
});

test('drops packets that arrive later than the baseline transit by more than the limit', () => {
  const f = new FreshnessFilter({ maxLateMs: 100, creepMsPerPacket: 0.5 });
  // The browser clock runs 5 s ahead of the mixer's; the transit is 20 ms.
  const at = (captureMs: number, arrivalMs: number): boolean => f.accept(captureMs * 1000, arrivalMs + 5_000);
  assert.equal(at(0, 20), true);
  assert.equal(at(20, 40), true);
  assert.equal(f.baselineMs, 5_020);
  // The main thread was blocked for a second: the backlog arrives at once.
  const burst = [...Array(50).keys()].map((i) => at(40 + i * 20, 1_040));
  // Packet i is late by 1,040 - (40 + 20i) - 20 ms against a baseline that crept 0.5 (i + 1) ms:
  // stale while 980 - 20.5i - 0.5 > 100, so packets 0…42; the newest seven play.
  assert.equal(burst.filter((ok) => !ok).length, 43);
  assert.deepEqual(burst.slice(43), [true, true, true, true, true, true, true]);
  assert.equal(f.stale, 43);
  assert.equal(at(1_040, 1_060), true, 'back to normal at once');
});

test('the baseline follows a transit that grows for good, slowly', () => {
  const f = new FreshnessFilter({ maxLateMs: 100, creepMsPerPacket: 1 });
  f.accept(0, 10);
  for (let i = 1; i <= 300; i++) f.accept(i * 20_000, i * 20 + 210); // 200 ms more transit from now on
  assert.equal(f.baselineMs, 210);
  // Packet i is 200 ms late against a baseline of 10 + i ms: stale while 200 - i > 100, so packets 1…99.
  assert.equal(f.stale, 99, 'until the baseline crept up by 100 ms');
});
