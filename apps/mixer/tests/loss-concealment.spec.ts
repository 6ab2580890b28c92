import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { opusPacketHasFec } from '../src/codec/opus-fec.js';
import { DEFAULT_JITTER_OPTIONS } from '../src/dsp/jitter-buffer.js';
import { FRAME_SAMPLES } from '../src/dsp/audio-format.js';
import { createStats } from '../src/room/mixer-stats.js';
import { MAX_CONCEAL_MS, SourceChannel } from '../src/room/source-channel.js';
import { gaps, harmonicPackets, randomLoss, runLossyMix } from './helpers/lossy-mix.js';

/*
 * Packet loss on real Opus packets (libopus, the capture agent's settings:
 * voip, 32 kbit/s, in-band FEC, 10% expected loss) of a vowel-like sound,
 * through a real room mix and back through a decoder.
 */
const COUNT = 1_000; // 20 s
const withFec = harmonicPackets(COUNT, { fec: true, packetLossPercent: 10 });

const rms = (f: Float32Array): number => Math.sqrt(f.reduce((s, v) => s + v * v, 0) / f.length);

describe('loss concealment in the mix', () => {
  for (const seed of [1, 2, 3]) {
    it(`10% random loss on one source leaves no audible gap (seed ${seed})`, async () => {
      const lost = randomLoss(COUNT, 0.1, seed);
      const { rms: frames, stats } = await runLossyMix(withFec, lost);
      // The signal is continuous from the first packet played until the last one, plus the jitter depth.
      const g = gaps(frames, 10, COUNT);
      assert.deepEqual(g.gaps, [], `min ${g.min} vs median ${g.median}`);
      assert.ok(stats.lost >= 70, `${stats.lost} lost`);
      // Most losses are single: FEC rebuilds those whose next packet carried it (libopus sends FEC for active frames).
      assert.ok(stats.fecRecovered >= stats.lost / 3, `${stats.fecRecovered} of ${stats.lost} rebuilt from FEC`);
      assert.ok(stats.concealed > 0);
    });
  }

  it('rebuilds a lost packet from the next packet when it carries FEC, and counts it', async () => {
    // Pick losses whose successor carries FEC: one single loss, and a pair (the first of which has no successor).
    const nextCarriesFec = (from: number, gap: number): number =>
      withFec.findIndex((_, k) => k >= from && opusPacketHasFec(withFec[k + gap]!));
    const single = nextCarriesFec(100, 1);
    const pair = nextCarriesFec(300, 2);
    assert.ok(single >= 100 && single < 290 && pair >= 300 && pair < 390, 'the source carries FEC');
    const lost = withFec.map((_, k) => k === single || k === pair || k === pair + 1);
    // No ticks after the last packet: no underrun at the end to conceal.
    const { stats } = await runLossyMix(withFec.slice(0, 400), lost, 0);
    assert.equal(stats.lost, 3);
    assert.equal(stats.fecRecovered, 2, 'the single loss and the second of the pair');
    assert.equal(stats.concealed, 1, 'the first of the pair: its data is nowhere');
  });

  it('a packet without FEC is concealed, never counted as recovered', async () => {
    const plain = harmonicPackets(200, { fec: false, packetLossPercent: 0 });
    assert.ok(plain.every((p) => !opusPacketHasFec(p)));
    const lost = plain.map((_, k) => k === 100);
    const { stats, rms: frames } = await runLossyMix(plain, lost, 0);
    assert.deepEqual([stats.lost, stats.fecRecovered, stats.concealed], [1, 0, 1]);
    assert.deepEqual(gaps(frames, 10, 200).gaps, []);
  });

  it(`a long outage is concealed for ${MAX_CONCEAL_MS} ms, then fades to exact silence, then resumes`, async () => {
    const stats = createStats();
    const ch = new SourceChannel('a', { ...DEFAULT_JITTER_OPTIONS }, stats);
    await ch.ready();
    const frames: Float32Array[] = [];
    const concealedAt: boolean[] = [];
    // Packets 0..99 arrive, then nothing for 600 ms (the source's network is gone), then 130.. again.
    for (let k = 0; k < 220; k++) {
      if (k < 100 || k >= 130) ch.push(k, withFec[k]!, 1_000_000 + k * 20_000, k * 20);
      const before = stats.concealed;
      frames.push(Float32Array.from(ch.render().frame));
      concealedAt.push(stats.concealed > before);
    }
    const first = concealedAt.indexOf(true);
    const maxFrames = MAX_CONCEAL_MS / 20;
    assert.ok(first > 90, `concealment starts when the buffer runs dry (tick ${first})`);
    assert.deepEqual(
      concealedAt.slice(first, first + maxFrames + 1),
      [...Array<boolean>(maxFrames).fill(true), false],
      'concealment for MAX_CONCEAL_MS, then no more',
    );
    assert.equal(stats.concealed, maxFrames);
    // Concealment holds the sound, its last frame fades to exact zero, then silence until packets return.
    const before = rms(frames[first - 1]!);
    assert.ok(rms(frames[first]!) >= 0.5 * before, 'the first concealed frame carries on');
    const last = frames[first + maxFrames - 1]!;
    assert.equal(last[FRAME_SAMPLES - 1], 0);
    const resumed = frames.findIndex((f, k) => k > first + maxFrames && rms(f) > 0);
    assert.ok(resumed > 130, `silent until the packets return (tick ${resumed})`);
    for (let k = first + maxFrames; k < resumed; k++)
      assert.ok(
        frames[k]!.every((v) => v === 0),
        `tick ${k} silent`,
      );
    // And the source is back at its level a few frames later.
    assert.ok(rms(frames[resumed + 3]!) >= 0.5 * before);
    assert.ok(stats.underruns >= 1);
    ch.close();
  });
});
