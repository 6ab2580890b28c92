import { test } from 'node:test';
import assert from 'node:assert/strict';
import sharp from 'sharp';
import { createLogger } from '@vidchat/service-kit';
import { waitFor } from '@vidchat/test-support';
import { Compositor, gridLayout, queueDepthFor, type Rect } from '../src/index.js';

/*
 * The compositor with real JPEG decoding (sharp, in-process): which frame a
 * tile shows for a given capture time, holding the last frame, and the grid
 * following joins and leaves.
 */
const W = 320;
const H = 180;

async function solidJpeg(r: number, g: number, b: number): Promise<Uint8Array> {
  return sharp({ create: { width: 160, height: 90, channels: 3, background: { r, g, b } } })
    .jpeg({ quality: 90 })
    .toBuffer();
}

/** Mean colour of the middle of `rect` in the canvas. */
function colourAt(canvas: Buffer, rect: Rect): [number, number, number] {
  const x = rect.x + Math.floor(rect.width / 2);
  const y = rect.y + Math.floor(rect.height / 2);
  const i = (y * W + x) * 3;
  return [canvas[i]!, canvas[i + 1]!, canvas[i + 2]!];
}

const near = (got: [number, number, number], want: [number, number, number]): boolean =>
  got.every((v, i) => Math.abs(v - want[i]!) < 24);

function compositor(): Compositor {
  return new Compositor({
    width: W,
    height: H,
    maxTiles: 4,
    maxQueuedFrames: 8,
    minFrameIntervalUs: 50_000,
    maxDecodesInFlight: 4,
    log: createLogger('test'),
  });
}

test('each tile shows the newest frame captured at or before the render time, and holds it when the camera stalls', async () => {
  const c = compositor();
  const [red, blue, green] = await Promise.all([solidJpeg(255, 0, 0), solidJpeg(0, 0, 255), solidJpeg(0, 255, 0)]);
  c.addSource('a', 'Alice');
  c.addSource('b', 'Bob');
  const [ra, rb] = gridLayout(2, W, H);
  c.pushJpeg('a', 100_000, red);
  c.pushJpeg('a', 200_000, blue);
  c.pushJpeg('b', 100_000, green);
  await waitFor(() => c.stats.decoded >= 3 || null, { timeoutMs: 10_000, what: 'three decodes' });
  let canvas = c.render(150_000);
  assert.ok(near(colourAt(canvas, ra!.picture), [255, 0, 0]), `a at 150 ms: ${colourAt(canvas, ra!.picture)}`);
  assert.ok(near(colourAt(canvas, rb!.picture), [0, 255, 0]));
  canvas = c.render(250_000);
  assert.ok(near(colourAt(canvas, ra!.picture), [0, 0, 255]), 'a at 250 ms shows its second frame');
  canvas = c.render(5_000_000);
  assert.ok(near(colourAt(canvas, ra!.picture), [0, 0, 255]), 'a stalled: its last frame is held');
  assert.ok(near(colourAt(canvas, rb!.picture), [0, 255, 0]), 'b stalled: held too');
  c.close();
});

test('a source leaving gives the others the canvas; its held frame is redrawn at the new size', async () => {
  const c = compositor();
  const [red, green] = await Promise.all([solidJpeg(255, 0, 0), solidJpeg(0, 255, 0)]);
  c.addSource('a', 'Alice');
  c.addSource('b', 'Bob');
  c.pushJpeg('a', 100_000, red);
  c.pushJpeg('b', 100_000, green);
  await waitFor(() => c.stats.decoded >= 2 || null, { timeoutMs: 10_000, what: 'two decodes' });
  c.render(200_000);
  c.removeSource('a');
  assert.deepEqual(c.sources, ['b']);
  await waitFor(() => c.stats.decoded >= 3 || null, { timeoutMs: 10_000, what: 'the redraw at the new size' });
  const [full] = gridLayout(1, W, H);
  const canvas = c.render(300_000);
  assert.ok(near(colourAt(canvas, full!.picture), [0, 255, 0]), 'b now fills the canvas');
  // Where a's tile was (left half, middle) is now part of b's picture or black, never red.
  const [oldA] = gridLayout(2, W, H);
  assert.ok(!near(colourAt(canvas, oldA!.picture), [255, 0, 0]));
  c.close();
});

test('when the grid changes, every tile keeps showing its held frame at once, before the redecode', async () => {
  const c = compositor();
  const [red, green] = await Promise.all([solidJpeg(255, 0, 0), solidJpeg(0, 255, 0)]);
  c.addSource('a', 'Alice');
  c.addSource('b', 'Bob');
  c.pushJpeg('a', 100_000, red);
  c.pushJpeg('b', 100_000, green);
  await waitFor(() => c.stats.decoded >= 2 || null, { timeoutMs: 10_000, what: 'two decodes' });
  c.render(200_000);
  const decoded = c.stats.decoded;
  c.addSource('c', 'Carol');
  // Rendered in the same turn as the change: no decode can have finished yet.
  const canvas = c.render(200_000);
  assert.equal(c.stats.decoded, decoded, 'no redecode yet');
  const [ra, rb, rc] = gridLayout(3, W, H);
  assert.ok(near(colourAt(canvas, ra!.picture), [255, 0, 0]), `a keeps red: ${colourAt(canvas, ra!.picture)}`);
  assert.ok(near(colourAt(canvas, rb!.picture), [0, 255, 0]), `b keeps green: ${colourAt(canvas, rb!.picture)}`);
  assert.deepEqual(colourAt(canvas, rc!.picture), [0, 0, 0], 'c has no frame yet');
  c.close();
});

test('a bad JPEG is counted and dropped; tiles beyond max-tiles are not drawn', async () => {
  const c = compositor();
  c.addSource('a', 'Alice');
  c.pushJpeg('a', 1, new Uint8Array([0xff, 0xd8, 1, 2, 3]));
  await waitFor(() => c.stats.badJpeg >= 1 || null, { timeoutMs: 10_000, what: 'the bad JPEG to be counted' });
  for (const s of ['b', 'c', 'd', 'e']) c.addSource(s, s);
  assert.deepEqual(c.sources, ['a', 'b', 'c', 'd']);
  c.close();
});

test('frames closer together than the minimum interval are thinned before decoding', async () => {
  const c = compositor();
  const red = await solidJpeg(255, 0, 0);
  c.addSource('a', 'Alice');
  // 10 frames 20 ms apart with a 50 ms minimum interval: 0, 60, 120, 180 ms are decoded.
  for (let i = 0; i < 10; i++) c.pushJpeg('a', i * 20_000, red);
  await waitFor(() => c.stats.decoded + c.stats.droppedBusy >= 4 || null, { timeoutMs: 10_000, what: 'decodes' });
  assert.equal(c.stats.thinned, 6);
  c.close();
});

test('the queue depth covers the composing latency at the recording frame rate', () => {
  assert.ok(queueDepthFor(500, 15) >= 0.5 * 15 + 2);
  assert.ok(queueDepthFor(500, 25) >= 0.5 * 25 + 2);
  assert.ok(queueDepthFor(2_000, 30) >= 2 * 30 + 2);
});
