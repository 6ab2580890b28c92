import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import sharp from 'sharp';
import type { NatsConnection } from '@nats-io/transport-node';
import { type RecordingInfo, type RecordingRequest } from '@vidchat/protocol';
import { FakeSource, requireBinary, SmallStack, waitFor, type RunningProcess } from '@vidchat/test-support';
import { gridLayout } from '../src/index.js';
import { frameAt, probe, regionStats } from './helpers/media-check.js';
import { downloadRecording, expectRecording, recorderRequest } from './helpers/recorder-client.js';
import { num, statusLines, type StatusLine } from './helpers/status-lines.js';

/*
 * The recorder follows each camera on the smallest layer that fits its grid
 * cell, as the web viewer does. Cameras published from the test (presence
 * with two layers, JPEGs on `.video` and `.video1`) on a real nats-server;
 * the real recorder and ffmpeg. Sources are 320x180 (layer 1: 160x90) on a
 * 640x360 canvas: with 1–2 tiles a picture is ~312 px wide and needs 208 px
 * (layer 0); with 9 tiles it is ~205 px wide and needs 137 px (layer 1).
 * What the recorder received per layer is read from its status lines.
 */
const ROOM = 'layers';
const W = 640;
const H = 360;
const SRC_W = 320;
const SRC_H = 180;
const FPS = 8;
const LAYERS = [
  { layer: 0, width: SRC_W, height: SRC_H, fps: FPS },
  { layer: 1, width: SRC_W / 2, height: SRC_H / 2, fps: FPS },
];

let stack: SmallStack;
let nc: NatsConnection;
let recorder: RunningProcess;
let outDir: string;
const sources = new Map<string, { src: FakeSource; timer: NodeJS.Timeout }>();

const request = async (req: RecordingRequest): Promise<RecordingInfo> =>
  expectRecording(await recorderRequest(nc, ROOM, req));

async function solidJpeg(width: number, height: number, grey: number): Promise<Buffer> {
  return sharp({ create: { width, height, channels: 3, background: { r: grey, g: grey, b: grey } } })
    .jpeg()
    .toBuffer();
}

let jpeg0: Buffer;
let jpeg1: Buffer;

function addSource(id: string): void {
  const src = new FakeSource(nc, ROOM, id, { width: SRC_W, height: SRC_H, fps: FPS, layers: LAYERS });
  src.startHeartbeats(1_000);
  const timer = setInterval(() => {
    src.videoLayer(0, jpeg0, SRC_W, SRC_H);
    src.videoLayer(1, jpeg1, SRC_W / 2, SRC_H / 2);
  }, 1_000 / FPS);
  sources.set(id, { src, timer });
}

function removeSource(id: string): void {
  const s = sources.get(id);
  if (!s) return;
  clearInterval(s.timer);
  s.src.stop();
  sources.delete(id);
}

/**
 * Waits for two consecutive status lines of `id` (after the first `skip`),
 * both showing `tiles` tiles, between which frames of layer `layer` arrived
 * and none of the other layer did: the recorder follows only that layer.
 * Returns the second line and how many lines there were up to it.
 */
async function waitForOnlyLayer(
  id: string,
  tiles: number,
  layer: 0 | 1,
  skip: number,
): Promise<{ line: StatusLine; seen: number }> {
  const other = layer === 0 ? 'layer1Frames' : 'layer0Frames';
  const mine = `layer${layer}Frames`;
  const found = await waitFor(
    () => {
      const lines = statusLines(recorder.output(), id);
      for (let i = Math.max(1, skip + 1); i < lines.length; i++) {
        const [a, b] = [lines[i - 1]!, lines[i]!];
        if (num(a, 'tiles') !== tiles || num(b, 'tiles') !== tiles) continue;
        if (num(b, mine) > num(a, mine) && num(b, other) === num(a, other)) return { line: b, seen: i + 1 };
      }
      return null;
    },
    { timeoutMs: 60_000, what: `status lines showing ${tiles} tiles fed by layer ${layer} only` },
  ).catch((err: Error) => {
    throw new Error(`${err.message}\n${recorder.output().slice(-4000)}`);
  });
  return found;
}

before(async () => {
  requireBinary('ffmpeg');
  requireBinary('ffprobe');
  stack = await SmallStack.start({ jetstream: true, connect: true });
  nc = stack.nc;
  outDir = stack.tempDir('vidchat-layers-out-');
  jpeg0 = await solidJpeg(SRC_W, SRC_H, 200);
  jpeg1 = await solidJpeg(SRC_W / 2, SRC_H / 2, 120);
  recorder = stack.recorder({
    workDir: stack.tempDir('vidchat-layers-work-'),
    size: `${W}x${H}`,
    fps: 5,
    statusIntervalMs: 1000,
    args: ['--preset', 'ultrafast'],
  });
  await stack.ready([recorder]);
});

after(async () => {
  for (const id of [...sources.keys()]) removeSource(id);
  await stack?.stop();
});

test(
  'two tiles take layer 0, nine take layer 1, and back to layer 0 when seven leave',
  { timeout: 240_000 },
  async () => {
    // The layer rule itself, on the grid the recorder draws.
    assert.ok(gridLayout(2, W, H)[0]!.picture.width * (2 / 3) > SRC_W / 2, 'two tiles need more than layer 1');
    assert.ok(gridLayout(9, W, H)[0]!.picture.width * (2 / 3) <= SRC_W / 2, 'nine tiles are served by layer 1');

    addSource('cam-1');
    addSource('cam-2');
    const started = await request({ action: 'start' });
    const two = await waitForOnlyLayer(started.id, 2, 0, 0);
    assert.equal(two.line['layers'], 'cam-1:0,cam-2:0');

    for (let i = 3; i <= 9; i++) addSource(`cam-${i}`);
    const nine = await waitForOnlyLayer(started.id, 9, 1, two.seen);
    assert.equal(
      nine.line['layers'],
      Array.from({ length: 9 }, (_, i) => `cam-${i + 1}:1`).join(','),
      'every tile draws layer 1',
    );

    for (let i = 3; i <= 9; i++) removeSource(`cam-${i}`);
    const back = await waitForOnlyLayer(started.id, 2, 0, nine.seen);
    assert.equal(back.line['layers'], 'cam-1:0,cam-2:0');
    // cam-1 and cam-2 went 0 → 1 → 0; cam-3 … cam-9 started on layer 1 (no switch).
    assert.equal(num(back.line, 'layerSwitches'), 4, `switches: ${back.line['layerSwitches']}`);

    const stopped = await request({ action: 'stop', id: started.id });
    assert.equal(stopped.state, 'done', JSON.stringify(stopped));
    const file = await downloadRecording(nc, stopped, outDir);
    const p = probe(file);
    assert.ok(p.codecs.includes('h264'), JSON.stringify(p));
    // The last frame shows both tiles (a solid grey picture), not a black hole left by a switch.
    const last = frameAt(file, Math.max(0, p.durationS - 0.5), W, H);
    for (const [i, tile] of gridLayout(2, W, H).entries()) {
      const s = regionStats(last, W, tile.picture);
      assert.ok(s.mean > 150, `tile ${i} mean ${s.mean.toFixed(1)} (layer 0 is grey 200)`);
    }
  },
);
