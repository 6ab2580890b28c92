#!/usr/bin/env node
// Glass-to-glass latency: from the moment ffmpeg generated a frame to the
// moment Chromium paints it, read from the painted pixels.
//
//   node bench/glass-to-glass.bench.mjs [--quick]
//
// A real nats-server, the built gateway and one real agent (`--video test`,
// 640x360 at 15 fps, no audio), whose frames carry their capture time as the
// protocol's timecode (libs/protocol timecode.ts). Headless Chromium opens
// the room at 1280x800 (one tile: layer 0); on every animation frame the page
// reads the tile canvas's timecode row and, when the code changes, records
// now − code: capture-to-paint through ffmpeg, JPEG, NATS, the gateway, the
// socket, decode and paint (on the same machine clock). Once with that one
// viewer, once with 99 more `ws` viewers of the room (bench/lib/load.mjs);
// each with the page's decoding as shipped (decode=auto) and with
// `&decode=blob` (Blob + createImageBitmap, as before), alternated.
/* global document, requestAnimationFrame -- these functions run inside the viewer page. */
import { launchChromium, NatsServer, startApp, waitFor, sleep } from '../libs/test-support/dist/src/index.js';
import { TIMECODE_BITS, timecodeBlockHeight, timecodeBlockWidth } from '../libs/protocol/dist/src/index.js';
import { startViewers } from './lib/load.mjs';

const ROOM = 'g2g';

const pct = (xs, p) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
};

/** Collects capture-to-paint samples in the page for `windowMs`. */
async function sampleInPage(page, windowMs) {
  return page.evaluate(
    async ({ windowMs, bits, bw, bh }) => {
      const canvas = document.querySelector('.tile-video');
      const ctx = canvas.getContext('2d');
      const samples = [];
      let last = -1;
      const span = 2 ** bits;
      const end = performance.now() + windowMs;
      await new Promise((resolve) => {
        const step = () => {
          if (canvas.width === 640) {
            const row = ctx.getImageData(0, Math.floor(bh / 2), bits * bw, 1).data;
            let low = 0;
            for (let b = 0; b < bits; b++) {
              const x = b * bw + bw / 2;
              if (row[x * 4] >= 128) low += 2 ** b;
            }
            if (low !== last) {
              last = low;
              const now = Date.now();
              let t = Math.floor(now / span) * span + low;
              if (t > now) t -= span;
              samples.push(now - t);
            }
          }
          if (performance.now() < end) requestAnimationFrame(step);
          else resolve();
        };
        requestAnimationFrame(step);
      });
      return samples;
    },
    { windowMs, bits: TIMECODE_BITS, bw: timecodeBlockWidth(640), bh: timecodeBlockHeight(640) },
  );
}

export async function run({ quick = false } = {}) {
  const windowMs = quick ? 5_000 : 20_000;
  const nats = await NatsServer.start();
  const gateway = startApp('gateway', ['--nats', nats.url, '--port', '0', '--host', '127.0.0.1']);
  let agent;
  let browser;
  let load;
  const results = [];
  try {
    const port = Number((await gateway.waitForOutput(/viewer at http:\/\/[^\s]+:(\d+)\//))[1]);
    agent = startApp('capture-agent', [
      ...['--nats', nats.url, '--room', ROOM, '--source', 'g2g', '--video', 'test', '--audio', 'none'],
      ...['--size', '640x360', '--fps', '15'],
    ]);
    browser = await launchChromium();
    const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    for (const viewers of [1, 100]) {
      if (viewers > 1) {
        load = await startViewers({ url: `ws://127.0.0.1:${port}/ws`, room: ROOM, viewers: viewers - 1 });
        await sleep(1_000);
      }
      const decodes = viewers > 1 ? ['blob', 'image-decoder'] : ['image-decoder', 'blob'];
      for (const decode of decodes) {
        await page.goto(`http://127.0.0.1:${port}/?room=${ROOM}${decode === 'blob' ? '&decode=blob' : ''}`);
        await waitFor(() => page.evaluate(() => document.querySelector('.tile-video')?.width === 640), {
          timeoutMs: 30_000,
          what: 'the tile drawing layer 0',
        });
        await sleep(1_000);
        const samples = (await sampleInPage(page, windowMs)).filter((ms) => ms >= 0 && ms < 10_000);
        results.push({
          name: `capture-to-paint, ${viewers} viewer${viewers > 1 ? 's' : ''}, ${decode === 'blob' ? 'Blob (before)' : 'as shipped (decode=auto)'}`,
          frames: samples.length,
          p50Ms: pct(samples, 50),
          p99Ms: pct(samples, 99),
          maxMs: Math.max(...samples),
        });
      }
    }
  } finally {
    await load?.stop?.();
    await browser?.close();
    await agent?.stop();
    await gateway.stop();
    await nats.stop();
  }
  return results;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  for (const r of await run({ quick: process.argv.includes('--quick') })) {
    console.log(`${r.name}: p50 ${r.p50Ms} ms, p99 ${r.p99Ms} ms, max ${r.maxMs} ms over ${r.frames} frames`);
  }
}
