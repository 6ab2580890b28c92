import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { launchChromium, requireBinary, SmallStack, startApp, waitFor } from '@vidchat/test-support';
import { hooks, watchConsole, type RecordingView } from './support/page-hooks.js';

/*
 * Recording from the browser, end to end: headless Chromium, the real
 * gateway, the real recorder and a real capture agent on a JetStream
 * nats-server. One tab clicks Record; a second tab of the same room shows
 * the REC badge; Stop; the recording appears in both tabs' lists with a
 * link whose download is an MP4. A token without the `record` grant gets
 * the refusal in words and a disabled button.
 */
const ROOM = 'recweb';
const STARTUP_MS = 60_000;
/** Stop answers once the file is stored; a loaded machine takes its time. */
const STOP_MS = 120_000;
const SECRET = 'recording-e2e-secret-of-at-least-32-bytes!!';

async function recordingOf(page: Page): Promise<RecordingView> {
  const h = await hooks(page);
  assert.ok(h, 'the page installed window.vidchat');
  return h.recording;
}

describe('recording in the browser (Chromium, gateway, recorder, agent)', { timeout: 400_000 }, () => {
  let stack: SmallStack;
  let browser: Browser;
  let baseUrl: string;

  before(async () => {
    requireBinary('ffmpeg');
    stack = await SmallStack.start({ jetstream: true });
    const recorder = stack.recorder({ workDir: stack.tempDir('vidchat-recweb-') });
    const agent = stack.agent({ room: ROOM, source: 'cam1', fps: 10 });
    const { port } = await stack.gateway(['--host', '127.0.0.1'], STARTUP_MS);
    baseUrl = `http://127.0.0.1:${port}`;
    await stack.ready([recorder, agent], STARTUP_MS);
    browser = await launchChromium();
  });

  after(async () => {
    await browser?.close();
    await stack?.stop();
  });

  it('Record in one tab shows REC in another; Stop lists a downloadable MP4', async () => {
    const context = await browser.newContext({ viewport: { width: 1280, height: 720 }, acceptDownloads: true });
    const a = await context.newPage();
    const b = await context.newPage();
    const problems = [...watchConsole(a), ...watchConsole(b)];
    try {
      await a.goto(`${baseUrl}/?room=${ROOM}`);
      await b.goto(`${baseUrl}/?room=${ROOM}`);
      await waitFor(async () => (await hooks(b))?.state === 'live', { timeoutMs: 30_000, what: 'tab b live' });
      await a.locator('#record-button').click();

      const live = await waitFor(
        async () => {
          const r = await recordingOf(b);
          return r.active && r.badge?.startsWith('REC ') ? r : null;
        },
        { timeoutMs: 60_000, intervalMs: 200, what: 'the REC badge in the second tab' },
      );
      assert.ok(await b.locator('#rec-badge').isVisible());
      assert.match(live.badge ?? '', /^REC \d+:\d\d$/);
      // The elapsed time moves.
      await waitFor(async () => (await b.locator('#rec-badge').textContent()) !== live.badge, {
        timeoutMs: 10_000,
        what: 'the badge counting',
      });
      const id = live.active!.id;
      assert.equal((await recordingOf(a)).active?.id, id);
      assert.equal(await a.locator('#record-button').textContent(), 'Stop recording');

      await a.locator('#record-button').click();
      await waitFor(async () => (await recordingOf(b)).badge === null, {
        timeoutMs: STOP_MS,
        intervalMs: 500,
        what: 'the badge gone after Stop',
      });
      assert.ok(await b.locator('#rec-badge').isHidden());

      const listed = await waitFor(
        async () => (await recordingOf(b)).recordings.find((r) => r.id === id && r.url !== null) ?? null,
        { timeoutMs: 30_000, intervalMs: 300, what: 'the stored recording in the list' },
      );
      assert.equal(listed.state, 'done');
      await b.locator('#recordings-panel summary').click();
      const link = b.locator(`#recordings-list a[data-id="${id}"]`);
      await link.waitFor({ state: 'visible', timeout: 10_000 });
      const href = await link.getAttribute('href');
      assert.equal(href, listed.url);

      const res = await fetch(`${baseUrl}${href}`);
      assert.equal(res.status, 200);
      assert.equal(res.headers.get('content-type'), 'video/mp4');
      const body = Buffer.from(await res.arrayBuffer());
      assert.equal(body.length, listed.bytes);
      assert.equal(body.subarray(4, 8).toString('latin1'), 'ftyp');

      const [download] = await Promise.all([b.waitForEvent('download', { timeout: 30_000 }), link.click()]);
      assert.equal(download.suggestedFilename(), `${ROOM}-${id}.mp4`);
      assert.deepEqual(problems, []);
    } finally {
      await context.close();
    }
  });

  it('a token without the record grant: the refusal in words, Record disabled', async () => {
    const { gateway: guarded, port } = await stack.gateway(
      ['--host', '127.0.0.1', '--viewer-secret', SECRET],
      STARTUP_MS,
    );
    try {
      const minted = startApp('gateway', ['token', '--room', ROOM, '--ttl', '1h', '--viewer-secret', SECRET]);
      await minted.exited;
      const token = minted.output().trim().split('\n').pop() ?? '';
      assert.match(token, /^[\w-]+\.[\w-]+\.[\w-]+$/);
      const page = await browser.newPage({ viewport: { width: 1280, height: 720 } });
      try {
        await page.goto(`http://127.0.0.1:${port}/?room=${ROOM}&token=${encodeURIComponent(token)}`);
        await waitFor(async () => (await hooks(page))?.state === 'live', { timeoutMs: 30_000, what: 'live' });
        await page.locator('#record-button').click();
        const r = await waitFor(
          async () => {
            const v = await recordingOf(page);
            return v.refused ? v : null;
          },
          { timeoutMs: 30_000, what: 'the refusal' },
        );
        assert.equal(r.lastError?.code, 'forbidden');
        assert.match((await page.locator('#rec-note').textContent()) ?? '', /does not allow recording/);
        assert.ok(await page.locator('#record-button').isDisabled());
      } finally {
        await page.close();
      }
    } finally {
      await guarded.stop();
    }
  });
});
