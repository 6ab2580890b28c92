import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import type { Browser, Page } from 'playwright-core';
import { encodeEnvelope, mixAudioSubject } from '@vidchat/protocol';
import {
  FakeSource,
  launchChromium,
  launchChromiumWithTabs,
  makeJpeg,
  startApp,
  startNatsFixture,
  waitFor,
  type NatsFixture,
  type RunningProcess,
} from '@vidchat/test-support';

/*
 * Per-tile layer choice in real headless Chromium, against the real gateway
 * and nats-server. Nine sources publish both layers from this process (nine
 * real agents would take the two cores a loaded CI machine has); their
 * JPEGs are real (ffmpeg) at the announced sizes, so the tiles decode and
 * draw the layer the gateway forwards.
 */

const ROOM = 'e2e-layers';
const LAYERS = [
  { layer: 0, width: 640, height: 360, fps: 8 },
  { layer: 1, width: 320, height: 180, fps: 8 },
];

interface TileView {
  framesDrawn: number;
  layer: number | null;
  layerAsked: number | null;
  width: number;
}
interface Hooks {
  state: string;
  tiles: Record<string, TileView>;
  audio: { packetsReceived: number } | null;
  received: { bytes: number; videoBytes: number; videoFrames: number; audioBytes: number; audioPackets: number };
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
/** A host name for this machine that is not localhost (mapped in the test browser). */
const LAN_HOST = 'lan.test';

function hooks(page: Page): Promise<Hooks | null> {
  return page.evaluate(() => {
    const w = window as unknown as { vidchat?: unknown };
    return (w.vidchat ? JSON.parse(JSON.stringify(w.vidchat)) : null) as Hooks | null;
  });
}

describe('viewer video layers (Chromium, real gateway, real NATS)', { timeout: 180_000 }, () => {
  let nats: NatsFixture;
  let gateway: RunningProcess;
  let nc: NatsConnection;
  let browser: Browser;
  let baseUrl: string;
  const sources: FakeSource[] = [];
  let timer: NodeJS.Timeout | undefined;
  let mixSeq = 0;
  /** Off: the sources publish no video (the mix goes on). */
  let videoOn = true;

  before(async () => {
    nats = await startNatsFixture();
    gateway = startApp('gateway', ['--nats', nats.url, '--port', '0']);
    const m = await gateway.waitForOutput(/viewer at https?:\/\/\S+?:(\d+)/, 30_000);
    baseUrl = `http://127.0.0.1:${m[1]}`;
    nc = await connect({ servers: nats.url });
    const big = makeJpeg('640x360');
    const small = makeJpeg('320x180');
    for (let i = 1; i <= 9; i++) {
      const s = new FakeSource(nc, ROOM, `cam${i}`, { width: 640, height: 360, fps: 8, layers: LAYERS });
      s.startHeartbeats(1_000);
      sources.push(s);
    }
    // Both layers of every source at 8 fps, and the room's mix every 20 ms (a few bytes: enough to count).
    let tick = 0;
    timer = setInterval(() => {
      if (videoOn && tick++ % 6 === 0) {
        for (const s of sources) {
          s.videoLayer(0, big, 640, 360);
          s.videoLayer(1, small, 320, 180);
        }
      }
      nc.publish(
        mixAudioSubject(ROOM),
        encodeEnvelope({
          kind: 'mixedAudio',
          source: '',
          seq: mixSeq++,
          captureTimeUs: Date.now() * 1000,
          codec: 'opus',
          sampleRate: 48000,
          channels: 1,
          durationUs: 20_000,
          payload: new Uint8Array([0xf8, 0xff, 0xfe]),
        }),
      );
    }, 20);
    browser = await launchChromium();
  });

  after(async () => {
    if (timer) clearInterval(timer);
    for (const s of sources) s.stopHeartbeats();
    await browser?.close();
    await nc?.drain();
    await gateway?.stop();
    await nats?.stop();
  });

  it('draws layer 1 in a 3x3 grid at 1280x800, and layer 0 in the focused tile', { timeout: 90_000 }, async () => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    await page.goto(`${baseUrl}/?room=${ROOM}`);
    const ids = sources.map((s) => s.id);
    await waitFor(
      async () => {
        const h = await hooks(page);
        return ids.every((id) => h?.tiles[id]?.layer === 1 && (h.tiles[id]?.framesDrawn ?? 0) > 2) ? h : null;
      },
      { timeoutMs: 30_000, what: 'nine tiles drawing layer 1' },
    );
    const grid = await hooks(page);
    for (const id of ids) {
      assert.equal(grid?.tiles[id]?.layerAsked, 1);
      assert.equal(grid?.tiles[id]?.width, 320, `${id} draws the 320 px layer`);
    }

    await page.click('.tile[data-source="cam5"]');
    const focused = await waitFor(
      async () => {
        const h = await hooks(page);
        return h?.tiles['cam5']?.layer === 0 && h.tiles['cam5'].width === 640 ? h : null;
      },
      { timeoutMs: 15_000, what: 'the focused tile drawing layer 0' },
    );
    assert.equal(focused.tiles['cam5']?.layerAsked, 0);
    // The others stay on layer 1 (hidden behind the focused tile or not, they are not focused).
    await page.keyboard.press('Escape');
    await waitFor(async () => (await hooks(page))?.tiles['cam5']?.layer === 1, {
      timeoutMs: 15_000,
      what: 'back to layer 1 after unfocusing',
    });
    await page.close();
  });

  it('pauses tiles scrolled out of view while audio goes on, and shows them again', { timeout: 90_000 }, async () => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    await page.goto(`${baseUrl}/?room=${ROOM}`);
    await waitFor(
      async () => {
        const h = await hooks(page);
        return h && Object.keys(h.tiles).length === 9 && h.state === 'live' ? h : null;
      },
      { timeoutMs: 30_000, what: 'nine tiles' },
    );
    // The page fits every tile in the viewport; a grid made 6 000 px tall
    // puts its lower rows below the viewport, as a long page scrolled would.
    await page.evaluate(() => {
      const grid = document.getElementById('grid')!;
      grid.style.flex = 'none';
      grid.style.height = '6000px';
    });
    const paused = await waitFor(
      async () => {
        const h = await hooks(page);
        const n = Object.values(h?.tiles ?? {}).filter((t) => t.layerAsked === null).length;
        return n >= 3 ? h : null;
      },
      { timeoutMs: 15_000, what: 'tiles out of view paused' },
    );
    const pausedIds = Object.entries(paused.tiles)
      .filter(([, t]) => t.layerAsked === null)
      .map(([id]) => id);
    // Frames already sent, decoding, or held for lip sync (up to a second)
    // still land after the pause: count only once those have drained.
    await new Promise((r) => setTimeout(r, 1_500));
    const before = await hooks(page);
    await new Promise((r) => setTimeout(r, 2_000));
    const later = await hooks(page);
    for (const id of pausedIds) {
      const grew = (later?.tiles[id]?.framesDrawn ?? 0) - (before?.tiles[id]?.framesDrawn ?? 0);
      assert.ok(grew <= 1, `${id} drew ${grew} frames while out of view`);
    }
    assert.ok(
      (later?.audio?.packetsReceived ?? 0) > (before?.audio?.packetsReceived ?? 0) + 20,
      'the mix keeps coming',
    );
    // Back in view: frames again.
    const id = pausedIds[pausedIds.length - 1]!;
    const drawn = later?.tiles[id]?.framesDrawn ?? 0;
    await page.evaluate(() => {
      const grid = document.getElementById('grid')!;
      grid.style.flex = '';
      grid.style.height = '';
    });
    await waitFor(async () => ((await hooks(page))?.tiles[id]?.framesDrawn ?? 0) > drawn, {
      timeoutMs: 15_000,
      what: `${id} drawing again once in view`,
    });
    await page.close();
  });
  it(
    'a hidden tab receives (almost) no video while the mix goes on, and the latest frames at once when shown',
    { timeout: 120_000 },
    async () => {
      // A browser whose tabs really hide (see launchChromiumWithTabs); the page from a name that is not localhost.
      const tabs = await launchChromiumWithTabs([`--host-resolver-rules=MAP ${LAN_HOST} 127.0.0.1`]);
      // Someone else watches the grid meanwhile (a visible page of the other browser): the gateway keeps
      // every source's layer 1 and its latest frame, as it does in any room with more than one viewer.
      const other = await browser.newPage({ viewport: { width: 1280, height: 800 } });
      try {
        await other.goto(`${baseUrl}/?room=${ROOM}`);
        const page = await tabs.context.newPage();
        await page.setViewportSize({ width: 1280, height: 800 });
        await page.goto(`${baseUrl.replace('127.0.0.1', LAN_HOST)}/?room=${ROOM}`);
        const ids = sources.map((s) => s.id);
        for (const p of [page, other]) {
          await waitFor(
            async () => {
              const h = await hooks(p);
              return h?.state === 'live' && ids.every((id) => (h.tiles[id]?.framesDrawn ?? 0) > 2) ? h : null;
            },
            { timeoutMs: 30_000, what: 'nine tiles drawing' },
          );
        }
        const visibility = (): Promise<string> => page.evaluate(() => document.visibilityState);
        assert.equal(await visibility(), 'visible');
        await page.evaluate(() => {
          const w = window as unknown as { visibilityEvents: string[] };
          w.visibilityEvents = [];
          document.addEventListener('visibilitychange', () => w.visibilityEvents.push(document.visibilityState));
        });
        // What a visible tab receives over a window of 3 s.
        const v0 = (await hooks(page))!.received;
        await sleep(3_000);
        const v1 = (await hooks(page))!.received;
        const visibleVideo = v1.videoBytes - v0.videoBytes;
        assert.ok(visibleVideo > 0 && v1.videoFrames - v0.videoFrames >= 9, 'video flows to the visible tab');

        // Another tab in front: the page is hidden (a real visibilitychange) and pauses every tile.
        const cover = await tabs.context.newPage();
        await waitFor(async () => ((await visibility()) === 'hidden' ? true : null), {
          timeoutMs: 10_000,
          what: 'the page hidden behind another tab',
        });
        await waitFor(
          async () => {
            const h = await hooks(page);
            return ids.every((id) => h?.tiles[id]?.layerAsked === null) ? h : null;
          },
          { timeoutMs: 15_000, what: 'every tile of the hidden tab paused' },
        );
        // Frames already on the way when the pause went out still land: count once they have.
        await sleep(1_500);
        const h0 = (await hooks(page))!.received;
        await sleep(3_000);
        const h1 = (await hooks(page))!.received;
        const hiddenFrames = h1.videoFrames - h0.videoFrames;
        const hiddenVideo = h1.videoBytes - h0.videoBytes;
        assert.ok(hiddenFrames <= ids.length, `${hiddenFrames} video frames reached the hidden tab in 3 s`);
        assert.ok(
          hiddenVideo <= visibleVideo * 0.05,
          `the hidden tab got ${hiddenVideo} video bytes in 3 s, the visible one ${visibleVideo}`,
        );
        assert.ok(h1.audioPackets - h0.audioPackets >= 50, `only ${h1.audioPackets - h0.audioPackets} mix packets`);
        assert.ok((await hooks(other))!.received.videoFrames > 0, 'the other viewer still gets video');

        // The sources stop publishing video; shown again, every tile gets the gateway's latest frame at once.
        videoOn = false;
        await sleep(1_000);
        const before = (await hooks(page))!;
        await page.bringToFront();
        await waitFor(async () => ((await visibility()) === 'visible' ? true : null), {
          timeoutMs: 10_000,
          what: 'the page visible again',
        });
        const shown = await waitFor(
          async () => {
            const h = await hooks(page);
            return ids.every((id) => (h?.tiles[id]?.framesDrawn ?? 0) > (before.tiles[id]?.framesDrawn ?? 0))
              ? h
              : null;
          },
          { timeoutMs: 15_000, what: 'a new frame in every tile without a new publish' },
        );
        assert.ok(shown.received.videoFrames - before.received.videoFrames >= ids.length);
        assert.deepEqual(
          await page.evaluate(() => (window as unknown as { visibilityEvents: string[] }).visibilityEvents),
          ['hidden', 'visible'],
        );
        await cover.close();
      } finally {
        videoOn = true;
        await other.close();
        await tabs.close();
      }
    },
  );
});
