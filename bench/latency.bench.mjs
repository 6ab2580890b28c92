// Latency end to end: a real capture agent (ffmpeg test pattern, 30 fps,
// capture time stamped by the agent) → NATS → target → viewer. Two ends:
// a `ws` viewer (frame received) and the real viewer page in headless
// Chromium (frame drawn, read from window.vidchat.tiles[source]). With 1 and
// 100 viewers in all: the browser case is the page plus n−1 ws viewers.
// The naive relay is measured too, ws end only (it serves no page), as the
// floor of what the transport costs.
//
//   node bench/latency.bench.mjs [--quick]
/* global window, requestAnimationFrame, cancelAnimationFrame -- these functions run inside the viewer page. */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { launchChromium } from '@vidchat/test-support';
import { startHarness } from './lib/harness.mjs';
import { startViewers } from './lib/load.mjs';
import { sleep, spawnTracked, withTimeout } from './lib/procs.mjs';
import { LatencyHistogram, median, round } from './lib/stats.mjs';
import { gatewayBuilt, REPO_ROOT, startTarget } from './lib/targets.mjs';
import { markdownTable } from './lib/table.mjs';
import { runStandalone } from './lib/cli.mjs';

const AGENT_MAIN = join(REPO_ROOT, 'apps/capture-agent/dist/src/main.js');
const SOURCE = 'cam1';
const FULL = { viewerCounts: [1, 100], rounds: 3, warmupS: 2, windowS: 8 };
const QUICK = { viewerCounts: [1, 100], rounds: 1, warmupS: 1, windowS: 3 };

export async function run({ quick = false, ...overrides } = {}) {
  const cfg = { ...(quick ? QUICK : FULL), ...overrides };
  if (!existsSync(AGENT_MAIN)) throw new Error(`the capture agent is not built (${AGENT_MAIN} is missing)`);
  const withGateway = gatewayBuilt();
  const harness = await startHarness({ publish: false });
  const runs = [];
  let browser = null;
  let agent = null;
  try {
    await withTimeout(
      (async () => {
        agent = spawnTracked(
          process.execPath,
          [AGENT_MAIN, '--nats', harness.natsUrl, '--room', harness.room, '--source', SOURCE].concat([
            '--video',
            'test',
            '--audio',
            'none',
            '--fps',
            '30',
          ]),
          { label: 'capture-agent', cwd: REPO_ROOT },
        );
        if (withGateway) browser = await launchChromium();
        for (let r = 0; r < cfg.rounds; r++) {
          for (const kind of withGateway ? ['relay', 'gateway'] : ['relay']) {
            const target = await startTarget(kind, { natsUrl: harness.natsUrl, room: harness.room });
            try {
              for (const n of cfg.viewerCounts) {
                runs.push({
                  round: r,
                  target: kind,
                  end: 'ws',
                  viewers: n,
                  ...(await wsWindow(target, harness, n, cfg)),
                });
                if (browser && kind === 'gateway') {
                  runs.push({
                    round: r,
                    target: kind,
                    end: 'browser',
                    viewers: n,
                    ...(await browserWindow(browser, target, harness, n, cfg)),
                  });
                }
                const last = runs.at(-1);
                console.error(
                  `  latency round ${r + 1}/${cfg.rounds} ${kind} ${last.end} ${n} viewers: p50 ${last.p50Ms} / p99 ${last.p99Ms} ms, ${round(last.fps, 1)} fps`,
                );
              }
            } finally {
              await target.stop();
            }
          }
        }
      })(),
      (cfg.rounds * 4 * (cfg.warmupS + cfg.windowS + 30) + 60) * 1000,
      'the latency bench',
    );
  } finally {
    await browser?.close().catch(() => undefined);
    await agent?.stop();
    await harness.stop();
  }
  return summarise(runs, cfg, withGateway);
}

/** n ws viewers; the agent's frames must flow before the window opens. */
async function wsWindow(target, harness, n, cfg) {
  const load = await startViewers({ url: target.wsUrl, room: harness.room, viewers: n });
  try {
    await waitForFrames(load);
    await sleep(cfg.warmupS * 1000);
    await load.reset(0);
    await sleep(cfg.windowS * 1000);
    const rep = await load.report(Number.MAX_SAFE_INTEGER);
    return {
      p50Ms: rep.hist.quantile(0.5),
      p99Ms: rep.hist.quantile(0.99),
      fps: median(rep.healthyFrames.map((f) => f / rep.wallS)),
      samples: rep.hist.total,
    };
  } finally {
    await load.stop();
  }
}

async function waitForFrames(load) {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const rep = await load.report(Number.MAX_SAFE_INTEGER);
    if (rep.healthyFrames.every((f) => f > 0)) return;
    if (Date.now() > deadline) throw new Error('no frames from the capture agent reached the viewers within 20 s');
    await sleep(200);
  }
}

/** The viewer page in Chromium plus n−1 ws viewers; samples each newly drawn frame's latency. */
async function browserWindow(browser, target, harness, n, cfg) {
  const load = n > 1 ? await startViewers({ url: target.wsUrl, room: harness.room, viewers: n - 1 }) : null;
  const page = await browser.newPage();
  try {
    await page.goto(`${target.httpUrl}/?room=${harness.room}`);
    await page.waitForFunction((source) => (window.vidchat?.tiles?.[source]?.framesDrawn ?? 0) > 0, SOURCE, {
      timeout: 20_000,
    });
    await sleep(cfg.warmupS * 1000);
    await page.evaluate((source) => {
      // Every animation frame, take the latency of a frame drawn since the
      // last look (bounded: at most one sample per animation frame).
      const bench = { samples: [], last: 0, drawn0: window.vidchat.tiles[source].framesDrawn, t0: performance.now() };
      window.__vidchatBench = bench;
      const tick = () => {
        const t = window.vidchat.tiles[source];
        if (t && t.lastCaptureTimeUs !== bench.last) {
          bench.last = t.lastCaptureTimeUs;
          if (t.latencyMs !== null && bench.samples.length < 100_000) bench.samples.push(t.latencyMs);
        }
        bench.raf = requestAnimationFrame(tick);
      };
      tick();
    }, SOURCE);
    await sleep(cfg.windowS * 1000);
    const got = await page.evaluate((source) => {
      const bench = window.__vidchatBench;
      cancelAnimationFrame(bench.raf);
      const drawn = window.vidchat.tiles[source].framesDrawn - bench.drawn0;
      return { samples: bench.samples, fps: (drawn * 1000) / (performance.now() - bench.t0) };
    }, SOURCE);
    const hist = new LatencyHistogram();
    for (const s of got.samples) hist.record(s);
    return { p50Ms: hist.quantile(0.5), p99Ms: hist.quantile(0.99), fps: got.fps, samples: hist.total };
  } finally {
    await page.close().catch(() => undefined);
    await load?.stop();
  }
}

function summarise(runs, cfg, withGateway) {
  const rows = [];
  const keys = [...new Set(runs.map((x) => `${x.target}|${x.end}|${x.viewers}`))];
  for (const k of keys) {
    const sel = runs.filter((x) => `${x.target}|${x.end}|${x.viewers}` === k);
    const [target, end, viewers] = k.split('|');
    rows.push({
      target,
      end: end === 'ws' ? 'ws viewer (received)' : 'Chromium (drawn)',
      viewers: Number(viewers),
      runs: sel.length,
      p50Ms: round(median(sel.map((x) => x.p50Ms)), 1),
      p99Ms: round(median(sel.map((x) => x.p99Ms)), 1),
      fps: round(median(sel.map((x) => x.fps)), 1),
    });
  }
  return { name: 'latency', config: { ...cfg, source: SOURCE, agentFps: 30, gateway: withGateway }, rows, runs };
}

export function renderMarkdown(result) {
  return markdownTable(result.rows, [
    { key: 'target', title: 'path' },
    { key: 'end', title: 'measured at' },
    { key: 'viewers', title: 'viewers' },
    { key: 'runs', title: 'runs' },
    { key: 'p50Ms', title: 'capture → viewer p50 ms' },
    { key: 'p99Ms', title: 'p99 ms' },
    { key: 'fps', title: 'frames/s' },
  ]);
}

await runStandalone(import.meta.url, run, renderMarkdown);
