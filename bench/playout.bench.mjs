// The viewer's playout latency: a mix packet's arrival in the page (decoded)
// → the moment its first sample leaves the output path (jitter-buffer depth
// at arrival + the output node's own buffering + the AudioContext's base and
// output latency), p50 and p99, read from window.vidchat.audio. Two pages in
// the same run, in the same headless Chromium, on the same real gateway and
// nats-server, playing real Opus (ffmpeg) published at 50 packets/s:
// - http://127.0.0.1 (a secure context: the AudioWorklet output);
// - http://lan.test (a host-resolver rule maps it to 127.0.0.1: a plain-http
//   non-localhost origin like a LAN address, so the ScriptProcessorNode
//   fallback plays).
// The percentiles are over every packet since Enable audio (the first few
// wait for the jitter buffer's target depth).
//
//   node bench/playout.bench.mjs [--quick]
/* global window -- evaluated inside the viewer page. */
import { launchChromium, makeOpusTonePackets } from '@vidchat/test-support';
import { publishMix } from '../apps/web/dist/tests/mix-publisher.js';
import { connect } from '@nats-io/transport-node';
import { startHarness } from './lib/harness.mjs';
import { sleep, withTimeout } from './lib/procs.mjs';
import { median, round } from './lib/stats.mjs';
import { startTarget } from './lib/targets.mjs';
import { markdownTable } from './lib/table.mjs';
import { runStandalone } from './lib/cli.mjs';

const LAN_HOST = 'lan.test';
const FULL = { rounds: 3, windowS: 10 };
const QUICK = { rounds: 1, windowS: 4 };
const ORIGINS = [
  { name: 'localhost (http://127.0.0.1, secure)', host: '127.0.0.1' },
  { name: `LAN-style (http://${LAN_HOST}, not secure)`, host: LAN_HOST },
];

export async function run({ quick = false, ...overrides } = {}) {
  const cfg = { ...(quick ? QUICK : FULL), ...overrides };
  const harness = await startHarness({ publish: false });
  const runs = [];
  let browser = null;
  let target = null;
  let nc = null;
  let stopMix = () => {};
  try {
    await withTimeout(
      (async () => {
        target = await startTarget('gateway', { natsUrl: harness.natsUrl, room: harness.room });
        const port = new URL(target.httpUrl).port;
        nc = await connect({ servers: harness.natsUrl });
        stopMix = publishMix(nc, harness.room, await makeOpusTonePackets(440, 4));
        browser = await launchChromium({ args: [`--host-resolver-rules=MAP ${LAN_HOST} 127.0.0.1`] });
        for (let r = 0; r < cfg.rounds; r++) {
          const pages = await Promise.all(ORIGINS.map(() => browser.newPage()));
          try {
            await Promise.all(
              pages.map(async (page, i) => {
                await page.goto(`http://${ORIGINS[i].host}:${port}/?room=${harness.room}`);
                await page.getByRole('button', { name: 'Enable audio' }).click();
                await page.getByRole('button', { name: 'Mute', exact: true }).waitFor({ timeout: 20_000 });
              }),
            );
            await sleep(cfg.windowS * 1000);
            const got = await Promise.all(pages.map((p) => p.evaluate(() => window.vidchat.audio)));
            got.forEach((a, i) => runs.push({ round: r, origin: ORIGINS[i].name, ...a }));
          } finally {
            await Promise.all(pages.map((p) => p.close().catch(() => undefined)));
          }
        }
      })(),
      (cfg.rounds * (cfg.windowS + 40) + 60) * 1000,
      'the playout bench',
    );
  } finally {
    stopMix();
    await browser?.close().catch(() => undefined);
    await nc?.drain().catch(() => undefined);
    await target?.stop();
    await harness.stop();
  }
  const rows = ORIGINS.map((o) => {
    const sel = runs.filter((x) => x.origin === o.name);
    return {
      origin: o.name,
      path: [...new Set(sel.map((x) => x.path))].join(', '),
      runs: sel.length,
      p50Ms: round(median(sel.map((x) => x.playoutDelayP50Ms)), 1),
      p99Ms: round(median(sel.map((x) => x.playoutDelayP99Ms)), 1),
      outputMs: round(median(sel.map((x) => x.outputLatencyMs)), 1),
      underruns: median(sel.map((x) => x.underruns)),
      packets: median(sel.map((x) => x.packetsDecoded)),
    };
  });
  return { name: 'playout', config: cfg, rows, runs };
}

export function renderMarkdown(result) {
  return markdownTable(result.rows, [
    { key: 'origin', title: 'page origin' },
    { key: 'path', title: 'output path' },
    { key: 'runs', title: 'runs' },
    { key: 'p50Ms', title: 'arrival → played p50 ms' },
    { key: 'p99Ms', title: 'p99 ms' },
    { key: 'outputMs', title: 'of which output node + context ms' },
    { key: 'underruns', title: 'underruns' },
    { key: 'packets', title: 'packets decoded' },
  ]);
}

await runStandalone(import.meta.url, run, renderMarkdown);
