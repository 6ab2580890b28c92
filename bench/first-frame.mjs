#!/usr/bin/env node
// Time from `npm start` to the first frame drawn in a real Chromium viewer,
// as a newcomer meets vidchat. Not part of `npm run bench` (it runs the
// whole `npm start`, setup and build included).
//
//   node bench/first-frame.mjs [--repo DIR] [--port N] [--runs N]
//
// --repo points at another checkout (a fresh clone, to time npm ci + build).
import { spawn } from 'node:child_process';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { launchChromium } from '@vidchat/test-support';

const args = process.argv.slice(2);
const arg = (name, def) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : def;
};
const repo = resolve(arg('--repo', resolve(dirname(fileURLToPath(import.meta.url)), '..')));
const port = Number(arg('--port', '8097'));
const runs = Number(arg('--runs', '3'));
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function once(browser) {
  const page = await browser.newPage();
  const env = { ...process.env, VIDCHAT_PORT: String(port) };
  delete env.VIDCHAT_NATS_URL;
  const t0 = Date.now();
  const npm = spawn('npm', ['start'], { cwd: repo, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  npm.stdout.on('data', (d) => (out += d));
  npm.stderr.on('data', (d) => (out += d));
  try {
    for (;;) {
      try {
        if ((await fetch(`http://127.0.0.1:${port}/healthz`)).ok) break;
      } catch {
        // Not listening yet.
      }
      if (Date.now() - t0 > 15 * 60_000) throw new Error(`npm start did not come up:\n${out.slice(-2000)}`);
      await sleep(50);
    }
    const healthyMs = Date.now() - t0;
    await page.goto(`http://127.0.0.1:${port}/?room=demo`);
    for (;;) {
      const drawn = await page.evaluate(() =>
        Object.values(globalThis.vidchat?.tiles ?? {}).reduce((a, t) => Math.max(a, t.framesDrawn), 0),
      );
      if (drawn > 0) break;
      await sleep(20);
    }
    return { healthyMs, firstFrameMs: Date.now() - t0 };
  } finally {
    process.kill(-npm.pid, 'SIGINT');
    await new Promise((r) => npm.once('exit', r));
    await page.close();
  }
}

const browser = await launchChromium();
try {
  const results = [];
  for (let i = 0; i < runs; i++) {
    const r = await once(browser);
    results.push(r);
    console.log(
      `run ${i + 1}/${runs}: gateway healthy after ${r.healthyMs} ms, first frame drawn after ${r.firstFrameMs} ms`,
    );
  }
  const sorted = results.map((r) => r.firstFrameMs).sort((a, b) => a - b);
  console.log(`median first frame: ${sorted[Math.floor(sorted.length / 2)]} ms (${repo})`);
} finally {
  await browser.close();
}
