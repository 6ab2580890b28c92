#!/usr/bin/env node
// A 3x3 grid in a real Chromium viewer: what per-tile layers save against
// the layout before layers (every tile on layer 0), in the same run.
//
//   node bench/grid-viewer.bench.mjs [--quick]
//
// A real nats-server and the built gateway. One real agent (`--video test`,
// 640x360 at 15 fps, `--layers 2`) runs for a few seconds first and its
// JPEGs of both layers (640x360 and 320x180) are recorded from NATS; nine
// sources then replay those frames at 15 fps from this process, both layers,
// announcing them in presence as agents do (nine agents with their ffmpegs
// would take the two cores the viewer is measured on). One headless
// Chromium (new headless), driven over the DevTools protocol by hand
// (bench/lib/cdp.mjs: Playwright's Network domain would ship every WebSocket
// message's payload through the browser process to it, more than the page's
// own cost), opens the room at 1280x800: every tile ~405 px wide, so per-tile
// choice takes layer 1.
// Modes, alternated round by round on the same tab: `layers` (the page as
// shipped), `layer0` (`?layer=0`: every tile asks layer 0, the layout
// before layers), `layersBlob` and `before` (the same two with
// `&decode=blob`: JPEGs decoded by Blob + createImageBitmap, as before
// ImageDecoder; `before` is the page as it was before this issue) and `idle`
// (the page as in `layers`, but the sources stop publishing video: the
// page's own cost, without frames). Per round, after a warm-up: the CPU of every Chromium
// process (browser, renderer, GPU/utility: utime+stime from /proc of the
// whole process tree) in percent of one core, and the bytes the page's
// WebSocket received (the page counts them: `window.vidchat.received`).
// Medians per mode; the ratios are layers / layer0 (goals: bytes ≤ 45%,
// CPU ≤ 50%), `cpuVsBeforePct` each mode / `before`, and
// `videoCpuVsLayer0Pct` layers / layer0 for the CPU above the idle page.
// The CPU by Chromium thread (process type/thread name) is in the samples.
// Linux only (/proc).
import { readdirSync, readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { connect } from '@nats-io/transport-node';
import { FakeSource, NatsServer, sleep, startApp, waitFor } from '../libs/test-support/dist/src/index.js';
import { decodeEnvelope, tryParseSubject, wildcards } from '../libs/protocol/dist/src/index.js';
import { startBareChromium } from './lib/cdp.mjs';
import { onCleanup } from './lib/procs.mjs';

const ROOM = 'bench-grid';
const TICKS_PER_SECOND = 100; // USER_HZ on Linux.
const FPS = 15;
const LAYERS = [
  { layer: 0, width: 640, height: 360, fps: FPS },
  { layer: 1, width: 320, height: 180, fps: FPS },
];

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const round1 = (x) => Math.round(x * 10) / 10;

/** utime+stime ticks of `root` and every process below it, by pid. */
function treeTicks(root) {
  const parent = new Map();
  const ticks = new Map();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    let stat;
    try {
      stat = readFileSync(`/proc/${name}/stat`, 'utf8');
    } catch {
      continue; // gone meanwhile
    }
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    parent.set(Number(name), Number(f[1]));
    ticks.set(Number(name), Number(f[11]) + Number(f[12]));
  }
  const out = new Map();
  for (const [pid, t] of ticks) {
    let p = pid;
    while (p > 1 && p !== root) p = parent.get(p) ?? 0;
    if (p === root) out.set(pid, t);
  }
  return out;
}

/** CPU ticks the tree used between two `treeTicks` snapshots (a process new in `b` counts whole). */
function ticksBetween(a, b) {
  let sum = 0;
  for (const [pid, t] of b) sum += t - (a.get(pid) ?? 0);
  return sum;
}

/** Chromium's name for a process's role (`--type=`: renderer, gpu-process, utility…; none: the browser). */
function processType(pid) {
  try {
    // Chromium rewrites its command line (the process title): the arguments may be space-separated.
    const m = /--type=([\w-]+)/.exec(readFileSync(`/proc/${pid}/cmdline`, 'utf8'));
    return m?.[1] ?? 'browser';
  } catch {
    return 'gone';
  }
}

/** The ticks between two snapshots by process type. */
function ticksByType(a, b) {
  const out = {};
  for (const [pid, t] of b) {
    const type = processType(pid);
    out[type] = (out[type] ?? 0) + t - (a.get(pid) ?? 0);
  }
  return out;
}

/** utime+stime of every thread of `pids`, keyed pid/tid/type/thread name (digits at its end dropped). */
function threadTicks(pids) {
  const out = new Map();
  for (const pid of pids) {
    const type = processType(pid);
    let tids = [];
    try {
      tids = readdirSync(`/proc/${pid}/task`);
    } catch {
      continue; // gone meanwhile
    }
    for (const tid of tids) {
      try {
        const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
        const comm = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')')).replace(/\d+$/, '');
        const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
        out.set(`${pid}/${tid}/${type}/${comm}`, Number(f[11]) + Number(f[12]));
      } catch {
        // gone meanwhile
      }
    }
  }
  return out;
}

/** Percent of a core per `type/thread name` between two `threadTicks` snapshots (≥ 0.2%), largest first. */
function threadPct(a, b, secs) {
  const by = {};
  for (const [key, t] of b) {
    const name = key.split('/').slice(2).join('/');
    by[name] = (by[name] ?? 0) + t - (a.get(key) ?? 0);
  }
  return Object.fromEntries(
    Object.entries(by)
      .map(([k, t]) => [k, round1((t / TICKS_PER_SECOND / secs) * 100)])
      .filter(([, pct]) => pct >= 0.2)
      .sort((x, y) => y[1] - x[1]),
  );
}

/** The page's query per mode, and the layer its tiles draw. */
const MODES = {
  layers: { query: '', layer: 1 },
  layer0: { query: '&layer=0', layer: 0 },
  layersBlob: { query: '&decode=blob', layer: 1 },
  before: { query: '&layer=0&decode=blob', layer: 0 },
  idle: { query: '', layer: 1 }, // first draws layer 1, as `layers` does
};

/** Records `perLayer` JPEGs of each layer from one real agent. */
async function recordAgentFrames(natsUrl, perLayer) {
  const nc = await connect({ servers: natsUrl });
  const frames = [[], []];
  const sub = nc.subscribe(wildcards.roomSources('bench-grid-rec'), {
    callback: (_e, m) => {
      const p = tryParseSubject(m.subject);
      if (p?.scope !== 'src' || p.track !== 'video') return;
      const env = decodeEnvelope(m.data);
      const list = frames[env.layer];
      if (env.kind === 'video' && list && list.length < perLayer) list.push(env.payload.slice());
    },
  });
  const agent = startApp('capture-agent', [
    ...['--nats', natsUrl, '--room', 'bench-grid-rec', '--source', 'rec', '--video', 'test', '--audio', 'none'],
    ...['--size', '640x360', '--fps', String(FPS), '--layers', '2'],
  ]);
  try {
    await waitFor(() => frames.every((l) => l.length >= perLayer), {
      timeoutMs: 60_000,
      what: `${perLayer} frames of each layer from the agent`,
    });
  } finally {
    sub.unsubscribe();
    await agent.stop();
    await nc.close();
  }
  return frames;
}

/** Reads the page's hooks (an expression evaluated in the page). */
function readHooks(page) {
  return page
    .evaluate(
      `(() => {
    const v = window.vidchat;
    if (!v) return null;
    const tiles = Object.values(v.tiles);
    return {
      state: v.state,
      tiles: tiles.length,
      framesDrawn: tiles.reduce((n, t) => n + t.framesDrawn, 0),
      drawing: tiles.filter((t) => t.framesDrawn > 2).length,
      layers: tiles.map((t) => t.layer),
      widths: tiles.map((t) => t.width),
      received: { ...v.received },
    };
  })()`,
    )
    .catch(() => null); // mid-navigation: no page to ask yet
}

async function measure(page, chromiumPid, baseUrl, mode, { warmupMs, windowMs, setVideo }) {
  setVideo(true);
  await page.goto(`${baseUrl}/?room=${ROOM}${MODES[mode].query}`);
  const want = MODES[mode].layer;
  await waitFor(
    async () => {
      const h = await readHooks(page);
      return h?.tiles === 9 && h.drawing === 9 && h.layers.every((l) => l === want) ? h : null;
    },
    { timeoutMs: 60_000, what: `nine tiles drawing layer ${want} (${mode})` },
  );
  // `idle`: the page as in `layers`, but no source publishes video (what the page costs without frames).
  if (mode === 'idle') setVideo(false);
  await sleep(warmupMs);
  const h0 = await readHooks(page);
  const c0 = treeTicks(chromiumPid);
  const th0 = threadTicks([...c0.keys()]);
  const t0 = Date.now();
  await sleep(windowMs);
  const c1 = treeTicks(chromiumPid);
  const th1 = threadTicks([...c1.keys()]);
  const h1 = await readHooks(page);
  const secs = (Date.now() - t0) / 1000;
  if (!h1.layers.every((l) => l === want)) throw new Error(`${mode}: tiles drew layers ${h1.layers.join(',')}`);
  return {
    mode,
    chromiumCorePct: (ticksBetween(c0, c1) / TICKS_PER_SECOND / secs) * 100,
    corePctByProcess: Object.fromEntries(
      Object.entries(ticksByType(c0, c1)).map(([k, t]) => [k, round1((t / TICKS_PER_SECOND / secs) * 100)]),
    ),
    videoKBps: (h1.received.videoBytes - h0.received.videoBytes) / secs / 1000,
    videoFps: (h1.received.videoFrames - h0.received.videoFrames) / secs,
    drawnFps: (h1.framesDrawn - h0.framesDrawn) / secs,
    cpuMsPerDrawnFrame:
      h1.framesDrawn > h0.framesDrawn ? (ticksBetween(c0, c1) * 10) / (h1.framesDrawn - h0.framesDrawn) : null,
    tileFrameWidth: median(h1.widths),
    corePctByThread: threadPct(th0, th1, secs),
    load1: loadavg()[0],
  };
}

export async function run({ quick = false } = {}) {
  const rounds = quick ? 2 : 3;
  const windowMs = quick ? 5_000 : 20_000;
  const warmupMs = quick ? 1_500 : 3_000;
  const nats = await NatsServer.start();
  const stopNats = onCleanup(() => nats.stop());
  const gateway = startApp('gateway', ['--nats', nats.url, '--port', '0', '--host', '127.0.0.1']);
  const stopGateway = onCleanup(() => gateway.stop());
  let nc;
  let timer;
  let chromium;
  const sources = [];
  const samples = [];
  try {
    const port = Number((await gateway.waitForOutput(/viewer at http:\/\/[^\s]+:(\d+)\//, 30_000))[1]);
    const baseUrl = `http://127.0.0.1:${port}`;
    const [big, small] = await recordAgentFrames(nats.url, 2 * FPS);
    nc = await connect({ servers: nats.url });
    for (let i = 1; i <= 9; i++) {
      const s = new FakeSource(nc, ROOM, `cam${i}`, { width: 640, height: 360, fps: FPS, layers: LAYERS });
      s.startHeartbeats(1_000);
      sources.push(s);
    }
    // Every source at 15 fps, both layers, each from another point of the recording.
    let tick = 0;
    let videoOn = true;
    const setVideo = (on) => {
      videoOn = on;
    };
    timer = setInterval(() => {
      if (!videoOn) return;
      sources.forEach((s, i) => {
        const k = (tick + i * 3) % big.length;
        s.videoLayer(0, big[k], 640, 360);
        s.videoLayer(1, small[k], 320, 180);
      });
      tick++;
    }, 1000 / FPS);
    chromium = await startBareChromium();
    const page = await chromium.newPage(1280, 800);
    for (let r = 0; r < rounds; r++) {
      // Alternate which mode goes first, so that a drift in the machine's load favours neither.
      const modes = Object.keys(MODES);
      const order = r % 2 === 0 ? modes : [...modes].reverse();
      for (const mode of order) {
        const sample = await measure(page, chromium.pid, baseUrl, mode, { warmupMs, windowMs, setVideo });
        samples.push(sample);
        console.error(JSON.stringify(sample)); // kept in the log should a later round fail
      }
    }
  } finally {
    if (timer) clearInterval(timer);
    for (const s of sources) s.stopHeartbeats();
    await nc?.close();
    await chromium?.close();
    await gateway.stop();
    stopGateway();
    await nats.stop();
    stopNats();
  }
  const of = (mode, key) => median(samples.filter((s) => s.mode === mode).map((s) => s[key]));
  const row = (mode, name) => ({
    name,
    rounds,
    chromiumCorePctMedian: round1(of(mode, 'chromiumCorePct')),
    videoKBpsAtViewer: round1(of(mode, 'videoKBps')),
    videoFpsAtViewer: round1(of(mode, 'videoFps')),
    drawnFps: round1(of(mode, 'drawnFps')),
    cpuMsPerDrawnFrame: mode === 'idle' ? null : round1(of(mode, 'cpuMsPerDrawnFrame')),
    tileFrameWidth: of(mode, 'tileFrameWidth'),
  });
  const layers = row('layers', '3x3 grid at 1280x800, per-tile layers');
  const layer0 = row('layer0', '3x3 grid at 1280x800, all layer 0 (before layers)');
  const layersBlob = row('layersBlob', 'per-tile layers, decoded by Blob (before ImageDecoder)');
  const before = row('before', 'all layer 0, decoded by Blob: the page before this issue');
  const idle = row('idle', 'the same page, no video flowing (its baseline)');
  for (const r of [layers, layer0, layersBlob, before])
    r.cpuVsBeforePct = round1((r.chromiumCorePctMedian / before.chromiumCorePctMedian) * 100);
  layers.cpuVsLayer0Pct = round1((layers.chromiumCorePctMedian / layer0.chromiumCorePctMedian) * 100);
  layers.bytesVsLayer0Pct = round1((layers.videoKBpsAtViewer / layer0.videoKBpsAtViewer) * 100);
  layer0.cpuVsLayer0Pct = 100;
  layer0.bytesVsLayer0Pct = 100;
  // The same pair with the old decoding: per-tile layers vs all layer 0, both by Blob.
  layersBlob.cpuVsLayer0Pct = round1((layersBlob.chromiumCorePctMedian / before.chromiumCorePctMedian) * 100);
  layersBlob.bytesVsLayer0Pct = round1((layersBlob.videoKBpsAtViewer / before.videoKBpsAtViewer) * 100);
  before.cpuVsLayer0Pct = 100;
  before.bytesVsLayer0Pct = 100;
  // What the video itself costs, above the page's baseline.
  layers.videoCpuVsLayer0Pct = round1(
    ((layers.chromiumCorePctMedian - idle.chromiumCorePctMedian) /
      (layer0.chromiumCorePctMedian - idle.chromiumCorePctMedian)) *
      100,
  );
  layer0.videoCpuVsLayer0Pct = 100;
  const loads = samples.map((s) => s.load1);
  // Median % of a core per Chromium thread and mode (a thread absent from a round counts 0 there).
  const corePctByThread = {};
  for (const mode of Object.keys(MODES)) {
    const rs = samples.filter((s) => s.mode === mode);
    const names = new Set(rs.flatMap((s) => Object.keys(s.corePctByThread)));
    const med = [...names].map((n) => [n, round1(median(rs.map((s) => s.corePctByThread[n] ?? 0)))]);
    corePctByThread[mode] = Object.fromEntries(med.filter(([, v]) => v >= 0.3).sort((a, b) => b[1] - a[1]));
  }
  return {
    corePctByThread,
    rows: [layers, layer0, layersBlob, before, idle],
    loadAvg1Min: round1(Math.min(...loads)),
    loadAvg1Max: round1(Math.max(...loads)),
    samples,
  };
}

export function renderMarkdown(result) {
  const cols = [
    'name',
    'rounds',
    'chromiumCorePctMedian',
    'cpuVsLayer0Pct',
    'videoCpuVsLayer0Pct',
    'cpuVsBeforePct',
    'cpuMsPerDrawnFrame',
    'videoKBpsAtViewer',
    'bytesVsLayer0Pct',
    'videoFpsAtViewer',
    'drawnFps',
    'tileFrameWidth',
  ];
  const lines = [`| ${cols.join(' | ')} |`, `| ${cols.map(() => '---').join(' | ')} |`];
  for (const r of result.rows) lines.push(`| ${cols.map((c) => r[c] ?? '–').join(' | ')} |`);
  lines.push('', 'Chromium CPU by thread (% of a core, medians; process type/thread name):', '');
  for (const [mode, threads] of Object.entries(result.corePctByThread ?? {}))
    lines.push(
      `- ${mode}: ${Object.entries(threads)
        .map(([k, v]) => `${k} ${v}`)
        .join(', ')}`,
    );
  lines.push(
    '',
    `1-minute load average during the rounds: ${result.loadAvg1Min}–${result.loadAvg1Max} (2 cores, shared machine).`,
  );
  return lines.join('\n');
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const result = await run({ quick: process.argv.includes('--quick') });
  console.log(renderMarkdown(result));
  for (const s of result.samples) console.log(JSON.stringify(s));
}
