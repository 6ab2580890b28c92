import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import type { Browser } from 'playwright-core';
import {
  launchChromium,
  makeOpusTonePackets,
  REPO_ROOT,
  startApp,
  startNatsFixture,
  waitFor,
  type NatsFixture,
  type RunningProcess,
} from '@vidchat/test-support';
import { hooks, watchConsole } from './support/page-hooks.js';
import { publishMix } from './mix-publisher.js';

/*
 * The browser viewer in real headless Chromium, against the real gateway
 * and a real nats-server, with real capture agents (ffmpeg test patterns).
 * The mixed audio is real Opus made by ffmpeg, published from this process.
 */

const ROOM = 'e2e';
const ARTIFACTS = join(REPO_ROOT, 'test-artifacts');

/** A real capture agent publishing ffmpeg's test pattern (no audio) into the room. */
function startAgent(natsUrl: string, source: string, name: string): RunningProcess {
  return startApp('capture-agent', [
    '--nats',
    natsUrl,
    '--room',
    ROOM,
    '--source',
    source,
    '--name',
    name,
    '--video',
    'test',
    '--audio',
    'none',
    '--size',
    '320x180',
    '--fps',
    '10',
  ]);
}

/** Pids of the ffmpeg processes under `pid` (the agent's capture children). */
function ffmpegDescendants(pid: number): number[] {
  const out = execFileSync('ps', ['-e', '-o', 'pid=,ppid=,comm=']).toString();
  const rows = out
    .trim()
    .split('\n')
    .map((l) => l.trim().split(/\s+/))
    .map(([p, pp, comm]) => ({ pid: Number(p), ppid: Number(pp), comm: comm ?? '' }));
  const found: number[] = [];
  const parents = new Set([pid]);
  for (let grew = true; grew;) {
    grew = false;
    for (const r of rows) {
      if (parents.has(r.ppid) && !parents.has(r.pid)) {
        parents.add(r.pid);
        grew = true;
        if (r.comm === 'ffmpeg') found.push(r.pid);
      }
    }
  }
  return found;
}

describe('viewer (Chromium, real gateway, real NATS)', { timeout: 180_000 }, () => {
  let nats: NatsFixture;
  let gateway: RunningProcess;
  let nc: NatsConnection;
  let browser: Browser;
  let baseUrl: string;
  const agents: RunningProcess[] = [];

  before(async () => {
    mkdirSync(ARTIFACTS, { recursive: true });
    nats = await startNatsFixture();
    gateway = startApp('gateway', ['--nats', nats.url, '--port', '0', '--log-level', 'info']);
    const m = await gateway.waitForOutput(/viewer at https?:\/\/\S+?:(\d+)/, 30_000);
    baseUrl = `http://127.0.0.1:${m[1]}`;
    nc = await connect({ servers: nats.url });
    browser = await launchChromium();
  });

  after(async () => {
    await Promise.all(agents.map((a) => a.stop()));
    await browser?.close();
    await nc?.drain();
    await gateway?.stop();
    await nats?.stop();
  });

  it('shows two live tiles, drops the one that stops, and shows names as text', { timeout: 90_000 }, async () => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 720 } });
    const problems = watchConsole(page);
    agents.push(startAgent(nats.url, 'cam1', 'Demo 1'), startAgent(nats.url, 'cam2', '<b>x</b>'));

    await page.goto(`${baseUrl}/?room=${ROOM}`);
    const first = await waitFor(
      async () => {
        const h = await hooks(page);
        const a = h?.tiles['cam1'];
        const b = h?.tiles['cam2'];
        return h?.state === 'live' && a && b && a.framesDrawn > 5 && b.framesDrawn > 5 ? h : null;
      },
      { timeoutMs: 20_000, what: 'two tiles drawing frames' },
    );
    // Frames keep coming: the counters grow.
    await waitFor(
      async () => {
        const h = await hooks(page);
        return (
          (h?.tiles['cam1']?.framesDrawn ?? 0) > (first.tiles['cam1']?.framesDrawn ?? 0) + 5 &&
          (h?.tiles['cam2']?.framesDrawn ?? 0) > (first.tiles['cam2']?.framesDrawn ?? 0) + 5
        );
      },
      { timeoutMs: 10_000, what: 'frame counters to grow' },
    );
    const h = await hooks(page);
    assert.equal(h?.room, ROOM);
    assert.ok((h?.tiles['cam1']?.lastCaptureTimeUs ?? 0) > 0);
    assert.equal(typeof h?.tiles['cam1']?.latencyMs, 'number');

    // The name is text, not markup.
    const tile2 = page.locator('.tile[data-source="cam2"]');
    assert.equal(await tile2.locator('.tile-name').textContent(), '<b>x</b>');
    assert.equal(await tile2.locator('b').count(), 0);
    assert.equal(await page.locator('.tile').count(), 2);

    // Stats overlay on demand.
    await page.click('#stats-button');
    await waitFor(async () => /fps/.test((await page.locator('.tile-stats').first().textContent()) ?? ''), {
      what: 'the stats overlay',
    });
    await page.screenshot({ path: join(ARTIFACTS, 'viewer.png') });
    await page.click('#stats-button');

    // A source that stops leaves the grid.
    await agents[1]?.stop();
    await waitFor(async () => ((await hooks(page))?.tiles['cam2'] === undefined ? true : null), {
      timeoutMs: 10_000,
      what: 'cam2 to leave',
    });
    await waitFor(async () => (await page.locator('.tile').count()) === 1, { what: 'one tile left' });
    assert.deepEqual(problems, []);
    await page.close();
  });

  it('enlarges a tile on click and on Enter, and fits a phone screen', { timeout: 60_000 }, async () => {
    const page = await browser.newPage({ viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true });
    const problems = watchConsole(page);
    await page.goto(`${baseUrl}/?room=${ROOM}`);
    const tile = page.locator('.tile[data-source="cam1"]');
    await tile.waitFor();
    await waitFor(async () => ((await hooks(page))?.tiles['cam1']?.framesDrawn ?? 0) > 3, { what: 'frames' });

    // Nothing overflows the phone's width.
    const widths = await page.evaluate(() => [document.documentElement.scrollWidth, window.innerWidth]);
    assert.ok((widths[0] ?? 0) <= (widths[1] ?? 0), `page is ${widths[0]} px wide in a ${widths[1]} px viewport`);

    await tile.click();
    assert.equal(await tile.getAttribute('aria-pressed'), 'true');
    await page.screenshot({ path: join(ARTIFACTS, 'viewer-phone-focus.png') });
    await page.keyboard.press('Escape');
    assert.equal(await tile.getAttribute('aria-pressed'), 'false');
    await tile.focus();
    await page.keyboard.press('Enter');
    assert.equal(await tile.getAttribute('aria-pressed'), 'true');
    await page.keyboard.press('Escape');
    await page.screenshot({ path: join(ARTIFACTS, 'viewer-phone.png') });
    assert.deepEqual(problems, []);
    await page.close();
  });

  it('plays the mixed audio after "Enable audio" and shows levels', { timeout: 60_000 }, async () => {
    const packets = await makeOpusTonePackets(440, 4);
    const page = await browser.newPage({ viewport: { width: 1280, height: 720 } });
    const problems = watchConsole(page);
    await page.goto(`${baseUrl}/?room=${ROOM}`);
    await waitFor(async () => (await hooks(page))?.state === 'live', { what: 'live' });

    const stopMix = publishMix(nc, ROOM, packets, { speaker: 'cam1' });
    try {
      await page.getByRole('button', { name: 'Enable audio' }).click();
      const start = await waitFor(
        async () => {
          const a = (await hooks(page))?.audio;
          return a?.enabled && a.packetsDecoded > 0 ? a : null;
        },
        { timeoutMs: 15_000, what: 'the first decoded packet' },
      );
      await waitFor(async () => ((await hooks(page))?.audio?.packetsDecoded ?? 0) > start.packetsDecoded + 25, {
        timeoutMs: 15_000,
        what: 'packetsDecoded to grow',
      });
      await waitFor(async () => (await page.locator('.tile.speaking[data-source="cam1"]').count()) === 1, {
        what: 'the active speaker highlight',
      });
    } finally {
      stopMix();
    }
    assert.deepEqual(problems, []);
    await page.close();
  });

  it('lists live rooms when no room is given', { timeout: 30_000 }, async () => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 720 } });
    const problems = watchConsole(page);
    await page.goto(`${baseUrl}/`);
    const link = page.locator('a.picker-room', { hasText: ROOM });
    await link.waitFor({ timeout: 10_000 });
    await page.screenshot({ path: join(ARTIFACTS, 'viewer-picker.png') });
    await page.fill('#picker-input', 'bad room!');
    await page.click('button[type="submit"]');
    assert.match((await page.locator('#picker-hint').textContent()) ?? '', /letters, digits/i);
    await link.click();
    await page.waitForURL(/\?room=e2e/);
    await waitFor(async () => (await hooks(page))?.state === 'live', { what: 'live after picking' });
    assert.deepEqual(problems, []);
    await page.close();
  });

  it("shows the server's error in plain words, and joins with ?token=", { timeout: 60_000 }, async () => {
    const secret = 'e2e-viewer-secret-0123456789abcdef';
    const guarded = startApp('gateway', ['--nats', nats.url, '--port', '0', '--viewer-secret', secret]);
    try {
      const m = await guarded.waitForOutput(/viewer at https?:\/\/\S+?:(\d+)/, 30_000);
      const url = `http://127.0.0.1:${m[1]}`;
      const minted = startApp('gateway', ['token', '--room', ROOM, '--ttl', '1h', '--viewer-secret', secret]);
      await minted.exited;
      const token = minted.output().trim().split('\n').pop() ?? '';
      assert.match(token, /^[\w-]+\.[\w-]+\.[\w-]+$/);

      // The refused WebSocket is logged by the browser itself; that line is expected here.
      const page = await browser.newPage({ viewport: { width: 1280, height: 720 } });
      const problems = watchConsole(page, /WebSocket/);
      await page.goto(`${url}/?room=${ROOM}`);
      const failed = await waitFor(
        async () => {
          const h = await hooks(page);
          return h?.state === 'failed' ? h : null;
        },
        { timeoutMs: 15_000, what: 'the join to be refused' },
      );
      assert.equal(failed.lastError?.code, 'unauthorized');
      const banner = (await page.locator('#banner').textContent()) ?? '';
      assert.match(banner, /needs a valid access link/);
      assert.equal(await page.locator('#banner').isVisible(), true);
      assert.equal(await page.locator('#status').textContent(), 'Disconnected');
      await page.screenshot({ path: join(ARTIFACTS, 'viewer-unauthorized.png') });

      await page.goto(`${url}/?room=${ROOM}&token=${encodeURIComponent(token)}`);
      await waitFor(async () => ((await hooks(page))?.tiles['cam1']?.framesDrawn ?? 0) > 3, {
        timeoutMs: 15_000,
        what: 'frames with a token',
      });
      assert.equal(await page.locator('#banner').isVisible(), false);
      assert.deepEqual(problems, []);
      await page.close();
    } finally {
      await guarded.stop();
    }
  });

  it('reconnects and re-joins the room after the gateway restarts', { timeout: 90_000 }, async () => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 720 } });
    // While the gateway is down the browser logs each refused WebSocket.
    const problems = watchConsole(page, /WebSocket connection to .* failed/);
    await page.goto(`${baseUrl}/?room=${ROOM}`);
    await waitFor(async () => ((await hooks(page))?.tiles['cam1']?.framesDrawn ?? 0) > 3, { what: 'frames' });

    const port = new URL(baseUrl).port;
    await gateway.stop();
    await waitFor(async () => (await hooks(page))?.state === 'reconnecting', { what: 'reconnecting' });
    assert.match((await page.locator('#status').textContent()) ?? '', /^Reconnecting/);
    await page.screenshot({ path: join(ARTIFACTS, 'viewer-reconnecting.png') });

    gateway = startApp('gateway', ['--nats', nats.url, '--port', port]);
    await gateway.waitForOutput(/viewer at /, 30_000);
    const before = (await hooks(page))?.tiles['cam1']?.framesDrawn ?? 0;
    await waitFor(
      async () => {
        const h = await hooks(page);
        return h?.state === 'live' && (h.tiles['cam1']?.framesDrawn ?? 0) > before + 3;
      },
      { timeoutMs: 40_000, what: 'live again with frames after the restart' },
    );
    assert.equal(await page.locator('#status').textContent(), 'Live');
    assert.deepEqual(problems, []);
    await page.close();
  });

  it('marks a tile stalled when its frames stop, and live again when they resume', { timeout: 60_000 }, async () => {
    const agent = startAgent(nats.url, 'cam3', 'Stalls');
    agents.push(agent);
    const page = await browser.newPage({ viewport: { width: 1280, height: 720 } });
    const problems = watchConsole(page);
    let paused: number[] = [];
    try {
      await page.goto(`${baseUrl}/?room=${ROOM}`);
      await waitFor(async () => ((await hooks(page))?.tiles['cam3']?.framesDrawn ?? 0) > 3, {
        timeoutMs: 20_000,
        what: 'cam3 frames',
      });
      // Pausing the agent's ffmpeg stops the frames while its presence heartbeats go on.
      paused = ffmpegDescendants(agent.child.pid ?? -1);
      assert.ok(paused.length > 0, 'the agent runs ffmpeg');
      for (const p of paused) process.kill(p, 'SIGSTOP');
      await waitFor(async () => (await hooks(page))?.tiles['cam3']?.stalled === true, {
        timeoutMs: 10_000,
        what: 'the stalled mark',
      });
      const tile = page.locator('.tile[data-source="cam3"]');
      assert.match((await tile.locator('.tile-badge').textContent()) ?? '', /Stalled/);
      await page.screenshot({ path: join(ARTIFACTS, 'viewer-stalled.png') });
    } finally {
      for (const p of paused) process.kill(p, 'SIGCONT');
    }
    await waitFor(async () => (await hooks(page))?.tiles['cam3']?.stalled === false, {
      timeoutMs: 15_000,
      what: 'frames to resume',
    });
    await agent.stop();
    assert.deepEqual(problems, []);
    await page.close();
  });
});
