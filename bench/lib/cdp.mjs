// A headless Chromium driven over the DevTools protocol by hand, for benches
// that measure Chromium's own CPU. Playwright, even attached over CDP,
// enables the Network domain on every page: each WebSocket message then
// becomes a `Network.webSocketFrameReceived` event carrying its payload
// (base64) through the browser process to the client, which costs more
// than the page's own work at a few hundred kB/s. This client only uses
// Target, Page, Emulation and Runtime: the page runs as it would for a user.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import WebSocket from 'ws';
import { CHROMIUM_TEST_ARGS, requireBinary } from '../../libs/test-support/dist/src/index.js';
import { onCleanup } from './procs.mjs';

/** Starts headless Chromium; resolves once its DevTools socket is connected. */
export async function startBareChromium(args = []) {
  const profile = mkdtempSync(join(tmpdir(), 'vidchat-bench-chromium-'));
  const proc = spawn(
    requireBinary('chromium'),
    [
      '--headless',
      '--remote-debugging-port=0',
      `--user-data-dir=${profile}`,
      ...CHROMIUM_TEST_ARGS,
      ...args,
      'about:blank',
    ],
    {
      stdio: ['ignore', 'ignore', 'pipe'],
    },
  );
  let ws;
  const stop = async () => {
    ws?.close();
    if (proc.exitCode === null && proc.signalCode === null) {
      const exited = new Promise((r) => proc.once('exit', r));
      proc.kill('SIGKILL');
      await exited;
    }
    // Chromium's child processes may still write to the profile for a moment after the browser dies.
    rmSync(profile, { recursive: true, force: true, maxRetries: 10, retryDelay: 200 });
  };
  const unregister = onCleanup(stop);
  const endpoint = await new Promise((resolve, reject) => {
    let text = '';
    const timer = setTimeout(() => reject(new Error(`no DevTools port in 30 s: ${text}`)), 30_000);
    const onData = (d) => {
      text += d.toString();
      const m = /DevTools listening on (ws:\/\/\S+)/.exec(text);
      if (m) {
        clearTimeout(timer);
        proc.stderr.off('data', onData);
        proc.stderr.resume();
        resolve(m[1]);
      }
    };
    proc.stderr.on('data', onData);
  });
  ws = new WebSocket(endpoint, { perMessageDeflate: false, maxPayload: 256 * 1024 * 1024 });
  await new Promise((resolve, reject) => {
    ws.once('open', resolve);
    ws.once('error', reject);
  });
  let nextId = 0;
  const pending = new Map();
  ws.on('message', (data) => {
    const msg = JSON.parse(data.toString());
    const p = msg.id !== undefined ? pending.get(msg.id) : undefined;
    if (!p) return;
    pending.delete(msg.id);
    if (msg.error) p.reject(new Error(`${p.method}: ${msg.error.message}`));
    else p.resolve(msg.result);
  });
  const send = (method, params = {}, sessionId) =>
    new Promise((resolve, reject) => {
      const id = ++nextId;
      pending.set(id, { resolve, reject, method });
      ws.send(JSON.stringify({ id, method, params, ...(sessionId ? { sessionId } : {}) }));
    });

  /** A new tab at `width`x`height` (CSS px), attached for Page/Runtime only. */
  async function newPage(width, height) {
    const { targetId } = await send('Target.createTarget', { url: 'about:blank' });
    const { sessionId } = await send('Target.attachToTarget', { targetId, flatten: true });
    await send('Emulation.setDeviceMetricsOverride', { width, height, deviceScaleFactor: 1, mobile: false }, sessionId);
    return {
      goto: (url) => send('Page.navigate', { url }, sessionId),
      /** Evaluates an expression in the page; returns its value (JSON). */
      evaluate: async (expression) => {
        const r = await send('Runtime.evaluate', { expression, returnByValue: true, awaitPromise: true }, sessionId);
        if (r.exceptionDetails) throw new Error(`in page: ${r.exceptionDetails.text}`);
        return r.result.value;
      },
    };
  }

  return {
    pid: proc.pid,
    newPage,
    close: async () => {
      unregister();
      await stop();
    },
  };
}
