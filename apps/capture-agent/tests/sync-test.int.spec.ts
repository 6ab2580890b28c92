import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { OpusDecoder } from 'opus-decoder';
import { readTimecode, unwrapTimecode, type Envelope } from '@vidchat/protocol';
import { requireBinary, waitFor, type RunningProcess } from '@vidchat/test-support';
import { AgentRun, RoomRecorder, type Received } from './support/agent-harness.js';

/*
 * `--video test --audio test` is the lip-sync test: a white flash and a beep
 * at each whole second of capture time. Real ffmpeg and a real nats-server;
 * the JPEGs are decoded by ffmpeg, the Opus by opus-decoder. Judged on
 * capture times only (arrival times on a loaded machine say nothing about
 * sync): the frames that flash are those captured in the first tenth of a
 * second, in both layers, and the beep starts on the sample captured at the
 * whole second.
 */

const FPS = 15;
const W = 640;
const H = 360;
/** The flash window: the first tenth of each second (at 15 fps: one or two frames). */
const FLASH_S = 0.1;
/** Luma of the middle of the picture above which a frame counts as flashed (the pattern there is darker). */
const WHITE = 235;

/** The luma of every frame, decoded by ffmpeg in one run (frames concatenated as an MJPEG stream). */
function grayFrames(frames: Received<Envelope>[], width: number, height: number): Uint8Array[] {
  const input = Buffer.concat(frames.map((f) => f.msg.payload));
  const raw = execFileSync(
    'ffmpeg',
    ['-loglevel', 'error', '-f', 'mjpeg', '-i', '-', '-f', 'rawvideo', '-pix_fmt', 'gray', '-'],
    { input, maxBuffer: 512 * 1024 * 1024 },
  );
  const size = width * height;
  assert.equal(raw.length, size * frames.length, 'one decoded picture per JPEG');
  return frames.map((_, i) => raw.subarray(i * size, (i + 1) * size));
}

/** Mean luma of the middle ninth of the picture (inside the flash box, clear of the clock and the timecode). */
function middleLuma(gray: Uint8Array, width: number, height: number): number {
  let sum = 0;
  let n = 0;
  for (let y = Math.floor(height / 3); y < Math.floor((2 * height) / 3); y += 2) {
    for (let x = Math.floor(width / 3); x < Math.floor((2 * width) / 3); x += 2) {
      sum += gray[y * width + x] ?? 0;
      n++;
    }
  }
  return sum / n;
}

/** Seconds into the second (0..1) of a capture time in µs. */
function phase(captureTimeUs: number): number {
  return (captureTimeUs / 1e6) % 1;
}

describe('capture agent sync test: flash and beep at each whole second', { timeout: 90_000 }, () => {
  let run: AgentRun;
  let recorder: RoomRecorder;
  let agent: RunningProcess;
  const room = 'agent-sync';

  before(async () => {
    requireBinary('ffmpeg');
    run = await AgentRun.start(room, 'cam1', [
      ...['--video', 'test', '--size', `${W}x${H}`, '--fps', String(FPS)],
      ...['--audio', 'test', '--tone', '440'],
    ]);
    ({ recorder, agent } = run);
    // Six seconds of capture time: five whole seconds in both tracks.
    await waitFor(
      () => {
        const v = recorder.video;
        const a = recorder.audio;
        return v.length > 2 &&
          a.length > 2 &&
          v.at(-1)!.msg.captureTimeUs - v[0]!.msg.captureTimeUs > 6e6 &&
          a.at(-1)!.msg.captureTimeUs - a[0]!.msg.captureTimeUs > 6e6
          ? true
          : null;
      },
      { timeoutMs: 60_000, what: 'six seconds of video and audio' },
    );
    await agent.stop();
  });

  after(async () => {
    await run?.stop();
  });

  for (const layer of [0, 1] as const) {
    it(`flashes exactly the layer-${layer} frames captured in the first tenth of each second, timecode intact`, () => {
      const frames = layer === 0 ? recorder.video : recorder.video1;
      const [w, h] = layer === 0 ? [W, H] : [W / 2, H / 2];
      assert.ok(frames.length > 30, `${frames.length} layer-${layer} frames`);
      const gray = grayFrames(frames, w, h);
      let flashed = 0;
      const seconds = new Set<number>();
      for (const [i, f] of frames.entries()) {
        const p = phase(f.msg.captureTimeUs);
        const luma = middleLuma(gray[i]!, w, h);
        const white = luma > WHITE;
        // ±1 ms: the flash's enable expression and the pts written differ by rounding only.
        if (p > 0.001 && p < FLASH_S - 0.001) assert.ok(white, `frame at phase ${p.toFixed(4)} s: luma ${luma}`);
        if (p > FLASH_S + 0.001 && p < 0.999) assert.ok(!white, `frame at phase ${p.toFixed(4)} s: luma ${luma}`);
        if (white) {
          flashed++;
          seconds.add(Math.floor(f.msg.captureTimeUs / 1e6));
          // The machine-readable capture time is still drawn over the flash.
          const low = readTimecode((x, y) => gray[i]![Math.floor(y) * w + Math.floor(x)] ?? 0, w);
          const ms = unwrapTimecode(low, f.msg.captureTimeUs / 1000);
          assert.ok(Math.abs(ms - f.msg.captureTimeUs / 1000) <= 2, `timecode ${ms}, capture ${f.msg.captureTimeUs}`);
        }
      }
      const span = (frames.at(-1)!.msg.captureTimeUs - frames[0]!.msg.captureTimeUs) / 1e6;
      assert.ok(seconds.size >= Math.floor(span) - 1, `flashes in ${seconds.size} of ${span.toFixed(1)} seconds`);
      assert.ok(flashed >= 4);
    });
  }

  it('beeps at each whole second of capture time, in step with the flash (±40 ms)', async (t) => {
    const decoder = new OpusDecoder({ channels: 1 });
    await decoder.ready;
    // Each decoded sample with its capture time: the packet's, plus its index.
    const samples: { t: number; pcm: Float32Array }[] = [];
    for (const { msg } of recorder.audio) {
      if (msg.kind !== 'audio') continue;
      const out = decoder.decodeFrame(msg.payload);
      assert.equal(out.errors.length, 0);
      samples.push({ t: msg.captureTimeUs / 1e6, pcm: out.channelData[0]!.slice(0, out.samplesDecoded) });
    }
    decoder.free();
    // Envelope: the peak over each 2.5 ms (longer than a 440 Hz period), with its capture time.
    const env: { t: number; peak: number }[] = [];
    const STEP = 120;
    for (const s of samples.slice(10)) {
      for (let i = 0; i + STEP <= s.pcm.length; i += STEP) {
        let peak = 0;
        for (let j = i; j < i + STEP; j++) peak = Math.max(peak, Math.abs(s.pcm[j]!));
        env.push({ t: s.t + i / 48_000, peak });
      }
    }
    const sorted = env.map((e) => e.peak).sort((a, b) => a - b);
    const tone = sorted[Math.floor(sorted.length / 2)]!;
    const loud = sorted[Math.floor(sorted.length * 0.97)]!;
    // The tone goes on between beeps; the beeps are three times louder.
    assert.ok(tone > 0.05 && loud > 2 * tone, `tone peak ${tone}, beep peak ${loud}`);
    const threshold = (tone + loud) / 2;
    const onsets: number[] = [];
    for (let i = 1; i < env.length; i++) {
      if (env[i]!.peak > threshold && env[i - 1]!.peak <= threshold && env[i]!.t - (onsets.at(-1) ?? 0) > 0.5) {
        onsets.push(env[i]!.t);
      }
    }
    const offsetsMs = onsets.map((o) => {
      const nearest = Math.round(o);
      return (o - nearest) * 1000;
    });
    t.diagnostic(`beep onsets relative to the whole second: ${offsetsMs.map((x) => x.toFixed(1)).join(', ')} ms`);
    assert.ok(onsets.length >= 4, `${onsets.length} beeps`);
    const span = env.at(-1)!.t - env[0]!.t;
    assert.ok(onsets.length >= Math.floor(span) - 1, `${onsets.length} beeps in ${span.toFixed(1)} s`);
    // The flash starts on the frame captured at the whole second (tested above, to a frame interval);
    // the beep on the sample captured there: the source's own A/V offset is the beep onset's.
    for (const ms of offsetsMs) assert.ok(Math.abs(ms) <= 40, `beep onset ${ms.toFixed(1)} ms from the second`);
    // And every beep is a tenth of a second long: loud until the flash window ends.
    // A beep that begins as the recording ends has no tenth of a second to judge.
    const lastT = env.at(-1)!.t;
    for (const o of onsets.filter((x) => x + 0.5 < lastT)) {
      const during = env.filter((e) => e.t > o + 0.01 && e.t < o + FLASH_S - 0.01);
      const afterBeep = env.filter((e) => e.t > o + FLASH_S + 0.02 && e.t < o + 0.5);
      // Most of it: the codec can dip for a window or two where it switches modes at the loudness step.
      const loudShare = during.filter((e) => e.peak > threshold).length / Math.max(1, during.length);
      assert.ok(during.length > 0 && loudShare >= 0.9, `beep at ${o} stays loud (${(loudShare * 100).toFixed(0)}%)`);
      assert.ok(
        afterBeep.every((e) => e.peak < threshold),
        `beep at ${o} ends`,
      );
    }
  });
});
