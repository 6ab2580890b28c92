import { chromium, type Browser, type LaunchOptions } from 'playwright-core';
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
