import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readTimecode, unwrapTimecode } from '@vidchat/protocol';
import { requireBinary, sleep, waitFor, type RunningProcess } from '@vidchat/test-support';
import { jpegSize, AgentRun, RoomRecorder, type Received } from './support/agent-harness.js';
import type { Envelope } from '@vidchat/protocol';

/*
 * Two video layers from one ffmpeg: layer 0 at the asked size on `.video`,
 * layer 1 at half the width and at most 15 fps on `.video1`, each with its
 * layer byte; presence lists both. `--layers 1` publishes layer 0 only.
 */

/** The ffmpeg children of `pid` (ps lists every process with its parent). */
function ffmpegChildren(pid: number): number {
  const ps = execFileSync('ps', ['-eo', 'ppid=,comm='], { encoding: 'utf8' });
  return ps.split('\n').filter((l) => {
    const [ppid, comm] = l.trim().split(/\s+/);
    return Number(ppid) === pid && comm === 'ffmpeg';
  }).length;
}

function assertLayer(frames: Received<Envelope>[], layer: number, width: number, height: number): void {
  assert.ok(frames.length > 0, `layer ${layer}: no frames`);
  for (const { msg } of frames) {
    assert.equal(msg.kind, 'video');
    if (msg.kind !== 'video') continue;
    assert.equal(msg.layer, layer);
    assert.deepEqual([msg.width, msg.height], [width, height]);
    assert.deepEqual(jpegSize(msg.payload), { width, height });
  }
  for (let i = 1; i < frames.length; i++) {
    assert.equal(frames[i]!.msg.seq, (frames[i - 1]!.msg.seq + 1) >>> 0, `layer ${layer}: sequence numbers`);
  }
}

describe('capture agent video layers', { timeout: 90_000 }, () => {
  let run: AgentRun;
  let recorder: RoomRecorder;
  let agent: RunningProcess;
  const room = 'agent-layers';
  const measureMs = 4_000;
  let windowStart = 0;
  let windowEnd = 0;
  let ffmpegs = 0;

  before(async () => {
    requireBinary('ffmpeg');
    run = await AgentRun.start(room, 'cam2', [
      '--video',
      'test',
      '--size',
      '640x360',
      '--fps',
      '30',
      '--audio',
      'none',
    ]);
    ({ recorder, agent } = run);
    await waitFor(() => recorder.video.length > 10 && recorder.video1.length > 5, {
      timeoutMs: 20_000,
      what: 'both layers from the agent',
    });
    ffmpegs = ffmpegChildren(agent.child.pid!);
    windowStart = Date.now();
    await sleep(measureMs);
    windowEnd = Date.now();
  });

  after(async () => {
    await run?.stop();
  });

  it('publishes layer 0 at the asked size and layer 1 at half of it, from one ffmpeg', () => {
    assert.deepEqual(recorder.errors, []);
    assert.equal(ffmpegs, 1, 'one ffmpeg makes both layers');
    assertLayer(recorder.video, 0, 640, 360);
    assertLayer(recorder.video1, 1, 320, 180);
  });

  it('keeps layer 1 at half the rate of a 30 fps layer 0, with the same capture times', () => {
    // Rates by the frames' own capture times (ffmpeg's clock), not arrivals,
    // which a loaded machine bunches up.
    const fps = (frames: Received<Envelope>[]): number => {
      const w = frames.filter((r) => r.at >= windowStart && r.at < windowEnd);
      if (w.length < 2) return 0;
      return (w.length - 1) / ((w[w.length - 1]!.msg.captureTimeUs - w[0]!.msg.captureTimeUs) / 1e6);
    };
    const fps0 = fps(recorder.video);
    const fps1 = fps(recorder.video1);
    // Layer 1 keeps one frame in two of layer 0.
    assert.ok(fps0 >= 20, `layer 0 at ${fps0} fps`);
    assert.ok(fps1 <= 16.5 && fps1 >= fps0 / 2 - 3, `layer 1 at ${fps1} fps (layer 0 at ${fps0})`);
    // Each layer-1 frame is a layer-0 frame scaled: it carries the same capture time.
    const times0 = new Set(recorder.video.map((r) => r.msg.captureTimeUs));
    const matched = recorder.video1.filter((r) => times0.has(r.msg.captureTimeUs)).length;
    assert.ok(matched >= recorder.video1.length - 2, `${matched} of ${recorder.video1.length} layer-1 times match`);
  });

  it('draws each frame’s capture time into it as the timecode, readable in both layers', () => {
    for (const frames of [recorder.video, recorder.video1]) {
      const { msg } = frames.at(-1)!;
      if (msg.kind !== 'video') continue;
      // ffmpeg decodes the JPEG to 8-bit luma, as a canvas would paint it.
      const gray = execFileSync(
        'ffmpeg',
        ['-loglevel', 'error', '-f', 'mjpeg', '-i', '-', '-f', 'rawvideo', '-pix_fmt', 'gray', '-'],
        {
          input: msg.payload,
        },
      );
      const low = readTimecode((x, y) => gray[Math.floor(y) * msg.width + Math.floor(x)] ?? 0, msg.width);
      const ms = unwrapTimecode(low, Date.now());
      assert.ok(
        Math.abs(ms - msg.captureTimeUs / 1000) <= 2,
        `layer ${msg.layer}: code ${ms}, capture ${msg.captureTimeUs / 1000}`,
      );
    }
  });

  it('announces both layers in presence', () => {
    const last = recorder.presence.at(-1)?.msg;
    assert.ok(last, 'presence');
    assert.deepEqual(last.layers, [
      { layer: 0, width: 640, height: 360, fps: 30 },
      { layer: 1, width: 320, height: 180, fps: 15 },
    ]);
  });
});

describe('capture agent with --layers 1', { timeout: 60_000 }, () => {
  let run: AgentRun;
  let recorder: RoomRecorder;
  const room = 'agent-one-layer';

  before(async () => {
    requireBinary('ffmpeg');
    run = await AgentRun.start(room, 'cam3', [
      '--video',
      'test',
      '--size',
      '640x360',
      '--fps',
      '10',
      '--audio',
      'none',
      '--layers',
      '1',
    ]);
    ({ recorder } = run);
    await waitFor(() => recorder.video.length > 10 && recorder.presence.length > 0, {
      timeoutMs: 20_000,
      what: 'layer 0 from the agent',
    });
  });

  after(async () => {
    await run?.stop();
  });

  it('publishes layer 0 only and says so in presence', () => {
    assert.deepEqual(recorder.errors, []);
    assertLayer(recorder.video, 0, 640, 360);
    assert.equal(recorder.video1.length, 0);
    assert.deepEqual(recorder.presence.at(-1)?.msg.layers, [{ layer: 0, width: 640, height: 360, fps: 10 }]);
  });
});
