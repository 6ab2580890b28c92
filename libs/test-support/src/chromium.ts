import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser, type BrowserContext, type LaunchOptions } from 'playwright-core';
import { requireBinary } from './binaries.js';

/*
 * Flags for the system Chromium in tests: no sandbox (containers run as
 * root), no GPU, and none of the background traffic a fresh profile makes,
 * so that a test sees only its own page's network.
 */
export const CHROMIUM_TEST_ARGS: readonly string[] = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--disable-quic',
];

/** Launches the real headless Chromium (`/usr/bin/chromium`); a missing binary fails clearly. */
export function launchChromium(opts: LaunchOptions = {}): Promise<Browser> {
  return chromium.launch({
    executablePath: requireBinary('chromium'),
    headless: true,
    ...opts,
    args: [...CHROMIUM_TEST_ARGS, ...(opts.args ?? [])],
  });
}

/** A headless Chromium whose pages can really be hidden: see `launchChromiumWithTabs`. */
export interface TabbedChromium {
  readonly browser: Browser;
  /** The browser's default context: its pages are tabs of one window. */
  readonly context: BrowserContext;
  /** Chromium's process id (the browser process; renderers are its descendants). */
  readonly pid: number;
  /** Kills the browser and removes its profile. */
  close(): Promise<void>;
}

/**
 * Headless Chromium (new headless: the real browser with a headless window)
 * started here with `--remote-debugging-port=0` and driven over CDP with
 * `connectOverCDP(..., { noDefaults: true })`. In a browser `launchChromium`
 * starts every page stays `visible` whatever happens (another page brought
 * to front, `Target.createTarget` in the same or a new window, the window
 * minimized by `Browser.setWindowBounds`, `Page.setWebLifecycleState`, and
 * without Playwright's `--disable-backgrounding-occluded-windows` and
 * `--disable-renderer-backgrounding`): Playwright turns on focus emulation
 * for every page of its contexts (`Emulation.setFocusEmulationEnabled`),
 * which, as far as these tries tell, keeps the page shown; turning it off
 * from a second CDP session does not undo Playwright's own. `noDefaults`
 * leaves it off in the default context, where a new tab in front
 * (`context.newPage()`) or the window minimized makes a page `hidden` with a
 * real `visibilitychange`, and `page.bringToFront()` shows it again.
 */
export async function launchChromiumWithTabs(args: readonly string[] = []): Promise<TabbedChromium> {
  const profile = mkdtempSync(join(tmpdir(), 'vidchat-chromium-'));
  const proc = spawn(
    requireBinary('chromium'),
    [
      '--headless',
      '--remote-debugging-port=0',
      `--user-data-dir=${profile}`,
      '--window-size=1280,800',
      ...CHROMIUM_TEST_ARGS,
      ...args,
      'about:blank',
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  const stop = async (): Promise<void> => {
    if (proc.exitCode === null && proc.signalCode === null) {
      const exited = new Promise((r) => proc.once('exit', r));
      proc.kill('SIGKILL');
      await exited;
    }
    // Its renderer and GPU processes outlive the browser process by a moment and may still
    // write into the profile: retry (ENOTEMPTY) instead of failing the test that is done.
    await rm(profile, { recursive: true, force: true, maxRetries: 20, retryDelay: 100 });
  };
  try {
    const endpoint = await new Promise<string>((resolve, reject) => {
      let text = '';
      const timer = setTimeout(
        () => reject(new Error(`Chromium did not open its DevTools port in 30 s: ${text}`)),
        30_000,
      );
      const onData = (d: Buffer): void => {
        text += d.toString();
        const m = /DevTools listening on (ws:\/\/\S+)/.exec(text);
        if (m?.[1]) {
          clearTimeout(timer);
          proc.stderr.off('data', onData);
          resolve(m[1]);
        }
      };
      proc.stderr.on('data', onData);
      proc.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`Chromium exited (${code}) before its DevTools port opened: ${text}`));
      });
    });
    proc.stderr.resume();
    const browser = await chromium.connectOverCDP(endpoint, { noDefaults: true });
    const context = browser.contexts()[0];
    if (!context) throw new Error('Chromium over CDP has no default context');
    return {
      browser,
      context,
      pid: proc.pid ?? 0,
      close: async () => {
        await browser.close().catch(() => undefined);
        await stop();
      },
    };
  } catch (err) {
    await stop();
    throw err;
  }
}
