import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FRAME_SAMPLES } from '../src/dsp/audio-format.js';
import { DEFAULT_JITTER_OPTIONS } from '../src/dsp/jitter-buffer.js';
import { floatToInt16 } from '../src/dsp/mix.js';
import { createMixEncoder } from '../src/codec/opus-encoder.js';
import { opusPacketHasFec } from '../src/codec/opus-fec.js';
import { createStats } from '../src/room/mixer-stats.js';
import { RAMP_MS, SourceChannel } from '../src/room/source-channel.js';

/** Real Opus packets of a 0.5-amplitude 1 kHz tone, 20 ms each. */
function tonePackets(count: number): Uint8Array[] {
  const enc = createMixEncoder();
  const out: Uint8Array[] = [];
  for (let k = 0; k < count; k++) {
    const f = Float32Array.from(
      { length: FRAME_SAMPLES },
      (_, i) => Math.sin((2 * Math.PI * 1000 * (k * FRAME_SAMPLES + i)) / 48_000) * 0.5,
    );
    out.push(enc.encode(floatToInt16(f)));
  }
  enc.close();
  return out;
}

const rampSamples = (RAMP_MS * 48_000) / 1000;
const maxStep = (f: Float32Array, prev: number): number => {
  let m = Math.abs(f[0]! - prev);
  for (let i = 1; i < f.length; i++) m = Math.max(m, Math.abs(f[i]! - f[i - 1]!));
  return m;
};

test('a source fades in when it starts, conceals a lost packet at its level, and ramps to exact zero when it leaves', async () => {
  const stats = createStats();
  const ch = new SourceChannel('a', { ...DEFAULT_JITTER_OPTIONS }, stats);
  await ch.ready();
  const packets = tonePackets(12);
  const frames: Float32Array[] = [];
  const captures: Array<number | null> = [];
  // One packet arrives per 20 ms tick, packet 6 never does.
  for (let t = 0; t < 11; t++) {
    if (t !== 6) ch.push(t, packets[t]!, 1_000_000 + t * 20_000, t * 20);
    const { frame, captureTimeUs } = ch.render();
    frames.push(Float32Array.from(frame));
    captures.push(captureTimeUs);
  }
  // 60 ms of start depth: the first packet plays on the third tick.
  assert.deepEqual(captures, [
    null,
    null,
    1_000_000,
    1_020_000,
    1_040_000,
    1_060_000,
    1_080_000,
    1_100_000,
    null,
    1_140_000,
    1_160_000,
  ]);
  assert.equal(stats.lost, 1);
  // The mix encoder's packets carry in-band FEC (for viewers), and packet 7 arrived in time: rebuilt from it.
  assert.ok(opusPacketHasFec(packets[7]!));
  assert.deepEqual([stats.concealed, stats.fecRecovered], [0, 1]);
  assert.ok(frames[0]!.every((v) => v === 0) && frames[1]!.every((v) => v === 0));
  // Fade-in: the first sample is at most 1/rampSamples of the signal's amplitude.
  assert.ok(Math.abs(frames[2]![0]!) <= 0.6 / rampSamples, `first sample ${frames[2]![0]}`);
  // The loss: concealment keeps the tone going at (nearly) its level instead of fading out.
  const rms = (f: Float32Array): number => Math.sqrt(f.reduce((s, v) => s + v * v, 0) / f.length);
  assert.ok(rms(frames[8]!) >= 0.5 * rms(frames[7]!), `concealed ${rms(frames[8]!)} vs ${rms(frames[7]!)}`);
  assert.ok(rms(frames[9]!) >= 0.5 * rms(frames[7]!));
  // No clicks anywhere: a 1 kHz tone at 0.5 moves at most ~0.066 per sample; allow the codec some slack.
  let prev = 0;
  for (const f of frames) {
    assert.ok(maxStep(f, prev) < 0.12, `step ${maxStep(f, prev)}`);
    prev = f[f.length - 1]!;
  }

  ch.leave();
  const last = ch.render().frame;
  assert.equal(ch.finished, true);
  assert.ok(
    last.subarray(rampSamples - 1).every((v) => v === 0),
    'silent from the end of the ramp',
  );
  assert.ok(maxStep(last, prev) < 0.12);
  ch.close();
  ch.close();
});

test('a corrupt packet counts as corrupt and is concealed, never thrown nor printed', async () => {
  const printed: unknown[] = [];
  const original = console.error;
  console.error = (...args: unknown[]) => void printed.push(args);
  const stats = createStats();
  const ch = new SourceChannel('a', { ...DEFAULT_JITTER_OPTIONS }, stats);
  await ch.ready();
  const good = tonePackets(3);
  ch.push(0, good[0]!, 0, 0);
  ch.push(1, Uint8Array.of(0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff), 20_000, 0);
  ch.push(2, good[2]!, 40_000, 0);
  try {
    for (let t = 0; t < 5; t++) ch.render();
  } finally {
    console.error = original;
  }
  assert.equal(stats.corrupt, 1);
  assert.deepEqual(printed, [], 'garbage is counted, not written to stderr');
  ch.close();
});
