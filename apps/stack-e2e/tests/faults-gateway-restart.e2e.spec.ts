import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { launchChromium, NatsServer, waitFor } from '@vidchat/test-support';
import { healthStatus, killHard, startStack, type Stack } from '../src/index.js';

/*
 * The gateway restarts under a real browser viewer (headless Chromium on the
 * gateway's own page): reconnecting and restoring the room is the page's job,
 * with no reload and no click. The gateway comes back on the same port, once
 * after a clean stop (viewers get 1001) and once after a crash (SIGKILL: the
 * socket just dies). Frames are drawn again and the mixed audio, enabled
 * once before the restart, decodes again: the page restored the whole room.
 */

const ROOM = 'gwrestart';
/** The page's reconnect back-off grows 0.5, 1, 2, 4 s… (±20 %); a restart takes a few seconds. */
const RECONNECT_BUDGET_MS = 20_000;

interface PageHooks {
  state: string;
  room: string | null;
  tiles: Record<string, { framesDrawn: number }>;
  audio: { enabled: boolean; packetsReceived: number; packetsDecoded: number } | null;
}

function hooks(page: Page): Promise<PageHooks | null> {
  return page.evaluate(() => {
    const w = window as unknown as { vidchat?: unknown };
    return (w.vidchat ? JSON.parse(JSON.stringify(w.vidchat)) : null) as PageHooks | null;
  });
}

/** Waits until the page is live and cam1's tile drew `n` frames more than when it first looked. */
async function framesFlow(page: Page, n: number, timeoutMs: number, what: string): Promise<number> {
  let base: number | null = null;
  await waitFor(
    async () => {
      const h = await hooks(page);
      const drawn = h?.state === 'live' ? h.tiles['cam1']?.framesDrawn : undefined;
      if (drawn === undefined) return false;
      base ??= drawn;
      return drawn >= base + n;
    },
    { timeoutMs, intervalMs: 50, what },
  );
  return Date.now();
}

describe('gateway restarted under a browser viewer', { timeout: 180_000 }, () => {
  let nats: NatsServer;
  let stack: Stack | undefined;
  let browser: Browser | undefined;

  before(async () => {
    nats = await NatsServer.start();
    stack = await startStack({ nats: nats.url, room: ROOM, mixer: true, agents: [{ source: 'cam1', audio: true }] });
    browser = await launchChromium();
  });

  after(async () => {
    await browser?.close();
    await stack?.stop();
    await nats?.stop();
  });

  for (const how of ['stopped cleanly', 'killed'] as const) {
    it(`reconnects and restores the room by itself after the gateway is ${how}`, { timeout: 80_000 }, async (t) => {
      const s = stack!;
      const page = await browser!.newPage();
      try {
        await page.goto(`http://127.0.0.1:${s.port}/?room=${ROOM}`);
        await framesFlow(page, 5, 20_000, 'cam1 drawing frames before the restart');
        await page.getByRole('button', { name: 'Enable audio' }).click();
        await waitFor(async () => ((await hooks(page))?.audio?.packetsDecoded ?? 0) > 10, {
          timeoutMs: 15_000,
          what: 'the mix decoding in the page',
        });
        const port = s.port;

        if (how === 'killed') await killHard(s.gateway!);
        else await s.gateway!.stop();
        const downAt = Date.now();
        await waitFor(async () => (await hooks(page))?.state !== 'live', {
          timeoutMs: 5_000,
          what: 'the page to notice the gateway is gone',
        });
        const noticed = (await hooks(page))?.state;

        await s.startGateway(port);
        assert.equal(s.port, port, 'the gateway is back on the same port');
        const upAt = Date.now();
        assert.equal(await healthStatus(port), 200);
        const liveAt = await framesFlow(page, 5, RECONNECT_BUDGET_MS, 'cam1 drawing frames after the restart');
        const decoded = (await hooks(page))?.audio?.packetsDecoded ?? 0;
        await waitFor(async () => ((await hooks(page))?.audio?.packetsDecoded ?? 0) >= decoded + 25, {
          timeoutMs: 10_000,
          what: 'the mix decoding again after the restart',
        });
        const audioAt = Date.now();
        t.diagnostic(
          `gateway ${how}: page went "${noticed}"; gateway down ${upAt - downAt} ms; ` +
            `frames drawn again ${liveAt - upAt} ms after it was back, mix decoding by ${audioAt - upAt} ms`,
        );
        const h = await hooks(page);
        assert.equal(h?.room, ROOM);
        assert.deepEqual(Object.keys(h?.tiles ?? {}), ['cam1']);
      } finally {
        await page.close();
      }
    });
  }
});
