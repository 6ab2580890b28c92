import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import type { NatsConnection } from '@nats-io/transport-node';
import { requireBinary, sleep, SmallStack } from '@vidchat/test-support';
import { gridLayout } from '../src/index.js';
import { audioPcm, probe } from './helpers/media-check.js';
import { downloadRecording, expectRecording, recorderRequest } from './helpers/recorder-client.js';

/*
 * Lip sync in a recording: one agent running the sync test (`--video test
 * --audio test`: a white flash and a beep at each whole second of capture
 * time), the real mixer and the real recorder, for about 8 s. In the MP4,
 * ffmpeg reads the mean luma of the middle of the tile's picture frame by
 * frame (with each frame's time) and the audio's envelope; each flash onset
 * is paired with the nearest beep onset. The median offset must be within
 * ±80 ms (a frame of the recording's grid is up to 67 ms at 15 fps).
 */

const ROOM = 'recsync';
const W = 640;
const H = 360;
const STARTUP_MS = 60_000;

let stack: SmallStack;
let nc: NatsConnection;
let outDir: string;

before(async () => {
  requireBinary('ffmpeg');
  requireBinary('ffprobe');
  stack = await SmallStack.start({ jetstream: true, connect: true });
  nc = stack.nc;
  outDir = stack.tempDir('vidchat-recsync-out-');
  const mixer = stack.mixer();
  const workDir = stack.tempDir('vidchat-recsync-work-');
  const recorder = stack.recorder({ workDir, size: `${W}x${H}`, statusIntervalMs: 2000 });
  const agent = stack.agent({ room: ROOM, source: 'sync', name: 'Sync', audio: 'test', tone: 440, fps: 15 });
  await stack.ready([mixer, recorder, agent], STARTUP_MS);
  // The mix needs the source's audio before the recording starts.
  await sleep(2_000);
});

after(async () => {
  await stack?.stop();
});

/** Mean luma of `rect` in every video frame, with the frame's time (s). */
function frameLumas(
  file: string,
  rect: { x: number; y: number; width: number; height: number },
): { t: number; y: number }[] {
  // showinfo logs each frame's time as ffmpeg passes it on: the same frames as the luma bytes, in order.
  const r = spawnSync(
    requireBinary('ffmpeg'),
    [
      ...['-v', 'info', '-i', file, '-an', '-fps_mode', 'passthrough'],
      ...['-vf', `crop=${rect.width}:${rect.height}:${rect.x}:${rect.y},scale=1:1:flags=area,format=gray,showinfo`],
      ...['-f', 'rawvideo', 'pipe:1'],
    ],
    { maxBuffer: 64 * 1024 * 1024 },
  );
  assert.equal(r.status, 0, r.stderr.toString().slice(-2000));
  const raw = r.stdout;
  const times = [...r.stderr.toString().matchAll(/pts_time:\s*([-\d.]+)/g)].map((m) => Number(m[1]));
  assert.equal(raw.length, times.length, `one luma per frame time: ${raw.length} lumas, ${times.length} times`);
  return times.map((t, i) => ({ t, y: raw[i] ?? 0 }));
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? NaN;
}

test(
  'an 8 s recording of the sync test keeps the flash and the beep within ±80 ms',
  { timeout: 180_000 },
  async (t) => {
    const started = expectRecording(await recorderRequest(nc, ROOM, { action: 'start' }));
    await sleep(8_000);
    const stopped = expectRecording(await recorderRequest(nc, ROOM, { action: 'stop', id: started.id }));
    assert.equal(stopped.state, 'done', JSON.stringify(stopped));
    const file = await downloadRecording(nc, stopped, outDir);
    const p = probe(file);
    assert.deepEqual([p.width, p.height], [W, H]);

    // The middle ninth of the one tile's picture: inside the flash box (the middle quarter).
    const pic = gridLayout(1, W, H)[0]!.picture;
    const rect = {
      x: Math.round(pic.x + pic.width / 3) & ~1,
      y: Math.round(pic.y + pic.height / 3) & ~1,
      width: Math.round(pic.width / 3) & ~1,
      height: Math.round(pic.height / 3) & ~1,
    };
    const frames = frameLumas(file, rect);
    const flashes: number[] = [];
    for (let i = 1; i < frames.length; i++) {
      if (frames[i]!.y > 200 && frames[i - 1]!.y <= 200) flashes.push(frames[i]!.t);
    }

    const pcm = audioPcm(file, 0, p.durationS + 1);
    const STEP = 120; // 2.5 ms
    const env: number[] = [];
    for (let i = 0; i + STEP <= pcm.length; i += STEP) {
      let peak = 0;
      for (let j = i; j < i + STEP; j++) peak = Math.max(peak, Math.abs(pcm[j]!));
      env.push(peak);
    }
    const sorted = [...env].sort((a, b) => a - b);
    const tone = sorted[Math.floor(sorted.length / 2)]!;
    const loud = sorted[Math.floor(sorted.length * 0.97)]!;
    assert.ok(loud > 2 * tone, `beep peak ${loud}, tone peak ${tone}`);
    const threshold = (tone + loud) / 2;
    const beeps: number[] = [];
    for (let i = 1; i < env.length; i++) {
      const at = (i * STEP) / 48_000;
      if (env[i]! > threshold && env[i - 1]! <= threshold && at - (beeps.at(-1) ?? -1) > 0.5) beeps.push(at);
    }

    const offsets = flashes
      .map((f) => {
        const b = beeps.reduce((best, x) => (Math.abs(x - f) < Math.abs(best - f) ? x : best), Infinity);
        return (f - b) * 1000;
      })
      .filter((o) => Math.abs(o) < 500);
    const mid = median(offsets);
    t.diagnostic(
      `${flashes.length} flashes, ${beeps.length} beeps in ${p.durationS.toFixed(1)} s; flash − beep ` +
        `${offsets.map((o) => o.toFixed(0)).join(', ')} ms, median ${mid.toFixed(1)} ms`,
    );
    assert.ok(flashes.length >= 5 && beeps.length >= 5, `${flashes.length} flashes, ${beeps.length} beeps`);
    assert.ok(offsets.length >= 5, `${offsets.length} flashes paired with a beep`);
    assert.ok(Math.abs(mid) <= 80, `flash − beep median ${mid.toFixed(1)} ms`);
  },
);
