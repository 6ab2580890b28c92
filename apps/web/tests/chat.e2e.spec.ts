import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { launchChromium, NatsServer, REPO_ROOT, startApp, waitFor, type RunningProcess } from '@vidchat/test-support';

/*
 * Room chat in real headless Chromium: two tabs on a real gateway and a real
 * JetStream nats-server. What one tab types appears in the other, as text,
 * with links that open safely; a raised hand shows in the other tab. The
 * people list says how many watch, summed over two gateways of the room.
 */

const ROOM = 'chat-e2e';
/** A host name for this machine that is not localhost (mapped in the test browser). */
const LAN_HOST = 'lan.test';
const ARTIFACTS = join(REPO_ROOT, 'test-artifacts');

interface ChatHooks {
  state: string;
  chat?: { messages: { id: string; name: string; text: string; history: boolean }[]; unread: number; open: boolean };
  people?: { hands: { who: string; name: string }[]; watching: number | null; watchingText: string };
}

async function hooks(page: Page): Promise<ChatHooks | null> {
  return page.evaluate(() => (window as unknown as { vidchat?: ChatHooks }).vidchat ?? null);
}

async function live(page: Page): Promise<void> {
  await waitFor(async () => ((await hooks(page))?.state === 'live' ? true : null), {
    timeoutMs: 20_000,
    what: 'the page to be live',
  });
}

describe('chat (Chromium, real gateway, real JetStream)', { timeout: 120_000 }, () => {
  let nats: NatsServer;
  let gateway: RunningProcess;
  let gateway2: RunningProcess;
  let browser: Browser;
  let baseUrl: string;
  /** The second gateway of the same broker, by a name that is not localhost. */
  let lanUrl: string;

  before(async () => {
    mkdirSync(ARTIFACTS, { recursive: true });
    nats = await NatsServer.start({ jetstream: true });
    gateway = startApp('gateway', ['--nats', nats.url, '--port', '0', '--host', '127.0.0.1']);
    const m = await gateway.waitForOutput(/viewer at https?:\/\/\S+?:(\d+)/, 30_000);
    baseUrl = `http://127.0.0.1:${m[1]}`;
    await waitFor(
      async () => {
        const body = (await (await fetch(`${baseUrl}/healthz`)).json()) as { chat?: { state: string } };
        return body.chat?.state === 'ready' ? true : null;
      },
      { timeoutMs: 20_000, what: 'chat ready' },
    );
    gateway2 = startApp('gateway', ['--nats', nats.url, '--port', '0', '--host', '127.0.0.1']);
    const m2 = await gateway2.waitForOutput(/viewer at https?:\/\/\S+?:(\d+)/, 30_000);
    lanUrl = `http://${LAN_HOST}:${m2[1]}`;
    browser = await launchChromium({ args: [`--host-resolver-rules=MAP ${LAN_HOST} 127.0.0.1`] });
  });

  after(async () => {
    await browser?.close();
    await gateway2?.stop();
    await gateway?.stop();
    await nats?.stop();
  });

  it('a message typed in one tab appears in the other, as text, with safe links; unread counts', async () => {
    const alice = await browser.newPage({ viewport: { width: 1280, height: 720 } });
    const bob = await browser.newPage({ viewport: { width: 600, height: 800 } });
    const problems: string[] = [];
    for (const p of [alice, bob]) p.on('pageerror', (err) => problems.push(err.message));
    await alice.goto(`${baseUrl}/?room=${ROOM}`);
    await bob.goto(`${baseUrl}/?room=${ROOM}`);
    await live(alice);
    await live(bob);
    assert.equal((await hooks(alice))?.chat?.open, true, 'open beside the video on a wide screen');
    assert.equal((await hooks(bob))?.chat?.open, false, 'closed (a drawer) on a narrow one');

    const text = '<b>bold?</b> <img src=x onerror=alert(1)> see https://example.org/a?b=1. and javascript:alert(1)';
    await alice.fill('.chat-input', text);
    await alice.press('.chat-input', 'Enter');

    const got = await waitFor(
      async () => {
        const h = await hooks(bob);
        return h?.chat?.messages.some((m) => m.text === text) ? h : null;
      },
      { timeoutMs: 15_000, what: 'the message in the other tab' },
    );
    assert.equal(got.chat?.unread, 1, 'counted unread while the drawer is closed');
    assert.equal(await bob.locator('.chat-unread').textContent(), '1');
    await bob.click('#chat-button');
    assert.equal((await hooks(bob))?.chat?.unread, 0);

    const item = bob.locator('.chat-item').last();
    // Shown as text: no element was made from the markup.
    assert.equal(await item.locator('.chat-text').textContent(), text);
    assert.equal(await item.locator('b, img').count(), 0);
    // One link, the http(s) one, without the sentence's full stop; javascript: is left as text.
    const links = item.locator('a');
    assert.equal(await links.count(), 1);
    assert.equal(await links.first().getAttribute('href'), 'https://example.org/a?b=1');
    assert.equal(await links.first().getAttribute('rel'), 'noopener noreferrer');
    assert.equal(await links.first().getAttribute('target'), '_blank');
    // Clickable: it opens a new tab. The test machine has no internet: the page is answered locally.
    await bob
      .context()
      .route('https://example.org/**', (route) =>
        route.fulfill({ status: 200, contentType: 'text/html', body: '<p>example</p>' }),
      );
    const [popup] = await Promise.all([bob.context().waitForEvent('page'), links.first().click()]);
    await popup.waitForLoadState();
    assert.equal(popup.url(), 'https://example.org/a?b=1');
    assert.equal(await popup.evaluate(() => window.opener === null), true, 'the new tab has no handle on this page');
    await popup.close();
    assert.match((await item.locator('.chat-name').textContent()) ?? '', /^viewer-[0-9a-f]{4}$/);
    await bob.screenshot({ path: join(ARTIFACTS, 'chat-drawer.png') });
    await alice.screenshot({ path: join(ARTIFACTS, 'chat-panel.png') });

    // A tab opened later gets the message as history.
    const carol = await browser.newPage({ viewport: { width: 1280, height: 720 } });
    await carol.goto(`${baseUrl}/?room=${ROOM}`);
    await waitFor(
      async () => ((await hooks(carol))?.chat?.messages.some((m) => m.text === text && m.history) ? true : null),
      { timeoutMs: 15_000, what: 'the history in a new tab' },
    );
    assert.deepEqual(problems, []);
    await Promise.all([alice.close(), bob.close(), carol.close()]);
  });

  it('a raised hand shows in the other tab, and goes down again', async () => {
    const a = await browser.newPage({ viewport: { width: 1280, height: 720 } });
    const b = await browser.newPage({ viewport: { width: 1280, height: 720 } });
    await a.goto(`${baseUrl}/?room=${ROOM}`);
    await b.goto(`${baseUrl}/?room=${ROOM}`);
    await live(a);
    await live(b);
    await a.click('#hand-button');
    assert.equal(await a.locator('#hand-button').getAttribute('aria-pressed'), 'true');
    await waitFor(async () => (((await hooks(b))?.people?.hands.length ?? 0) === 1 ? true : null), {
      timeoutMs: 10_000,
      what: 'the hand in the other tab',
    });
    assert.equal(await b.locator('.people .person-hand').count(), 1);
    await a.click('#hand-button');
    await waitFor(async () => (((await hooks(b))?.people?.hands.length ?? 1) === 0 ? true : null), {
      timeoutMs: 10_000,
      what: 'the hand to go down',
    });
    await Promise.all([a.close(), b.close()]);
  });

  it('the people list says how many watch, counted over both gateways of the room', async () => {
    const room = 'watch-e2e';
    const problems: string[] = [];
    const open = async (url: string): Promise<Page> => {
      const p = await browser.newPage({ viewport: { width: 1280, height: 720 } });
      p.on('pageerror', (err) => problems.push(err.message));
      await p.goto(`${url}/?room=${room}`);
      await live(p);
      return p;
    };
    const watching = (p: Page, n: number, what: string): Promise<unknown> =>
      waitFor(
        async () => {
          const h = await hooks(p);
          const shown = await p.locator('#people .people-watching').textContent();
          return h?.people?.watching === n && shown === `${n} watching` ? true : null;
        },
        // The gateways tell at most once a second; a loaded machine adds its own delays.
        { timeoutMs: 20_000, what: `${what} to show ${n} watching` },
      );
    const one = await open(baseUrl);
    const two = await open(lanUrl);
    const three = await open(lanUrl);
    await watching(one, 3, 'the tab on the first gateway');
    await watching(two, 3, 'a tab on the second gateway');
    await watching(three, 3, 'the other tab on the second gateway');
    assert.equal(await one.locator('#people .people-watching').isVisible(), true);
    await one.screenshot({ path: join(ARTIFACTS, 'people-watching.png') });
    // A tab on the second gateway closes: the first gateway's tab sees it.
    await three.close();
    await watching(one, 2, 'the tab on the first gateway after a tab closed');
    await watching(two, 2, 'the remaining tab on the second gateway');
    assert.deepEqual(problems, []);
    await Promise.all([one.close(), two.close()]);
  });
});
