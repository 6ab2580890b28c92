// Load client worker: N `ws` viewers in one process. Each sends the join
// message, then every binary message is routed by its envelope header
// (peekEnvelope) and every video frame fully decoded (decodeEnvelope) to read
// its capture time. Latency = receive time − captureTimeUs, both read from the
// same machine clock (nowUs), into one fixed-bucket histogram.
// Stalled viewers stop reading their socket right after joining
// (ws._socket.pause()), as a frozen tab or a dead link would.
//
//   fork('bench/lib/load-client.mjs', ['--url', 'ws://…/ws', '--room', r, '--viewers', '100', '--stalled', '10'])
//   requests: connect → { connected, failed }, reset (opens a window),
//             report → the window's figures, stop.
import { decodeEnvelope, peekEnvelope } from '@vidchat/protocol';
import WebSocket from 'ws';
import { LatencyHistogram } from './stats.mjs';
import { nowUs } from './procs.mjs';
import { parseArgs, serveIpc } from './worker.mjs';

const args = parseArgs(process.argv.slice(2));
const url = args.url;
const room = args.room ?? 'bench';
const healthyCount = Number(args.viewers ?? 1);
const stalledCount = Number(args.stalled ?? 0);
/** Connections opened at once: enough to be quick, few enough not to overflow the accept backlog. */
const CONNECT_BATCH = 25;
const CONNECT_TIMEOUT_MS = 10_000;

/** Capture times kept per viewer to tell which frames of a window arrived; a power of two. */
const RECENT_FRAMES = 512;

const hist = new LatencyHistogram();
const viewers = [];
let win = newWindow();

function newWindow(fromUs = nowUs()) {
  return {
    fromUs,
    startedAt: performance.now(),
    cpu: process.cpuUsage(),
    decodeErrors: 0,
    otherBinary: 0,
    text: 0,
  };
}

function openViewer(index, stalled) {
  const v = {
    index,
    stalled,
    frames: 0,
    bytes: 0,
    // Frames captured since the window opened, and the latest capture times
    // (a ring), so that report() can count exactly the frames captured
    // inside [fromUs, toUs] whatever their latency.
    sinceFrom: 0,
    recent: new Float64Array(RECENT_FRAMES),
    recentAt: 0,
    ws: null,
    closed: false,
    closeCode: null,
  };
  return new Promise((resolve) => {
    const ws = new WebSocket(url, { perMessageDeflate: false, handshakeTimeout: CONNECT_TIMEOUT_MS });
    v.ws = ws;
    let settled = false;
    const settle = (ok) => {
      if (settled) return;
      settled = true;
      resolve(ok ? v : null);
    };
    ws.on('open', () => {
      ws.send(JSON.stringify({ type: 'join', room }));
      if (stalled) ws._socket.pause();
      settle(true);
    });
    ws.on('message', (data, isBinary) => {
      if (!isBinary) {
        win.text++;
        return;
      }
      const head = peekEnvelope(data);
      v.bytes += data.length;
      if (head === null) {
        win.otherBinary++;
        return;
      }
      if (head.kind !== 'video') return;
      let env;
      try {
        env = decodeEnvelope(data);
      } catch {
        win.decodeErrors++;
        return;
      }
      v.frames++;
      if (env.captureTimeUs >= win.fromUs) {
        v.sinceFrom++;
        v.recent[v.recentAt++ & (RECENT_FRAMES - 1)] = env.captureTimeUs;
      }
      if (!stalled) hist.record((nowUs() - env.captureTimeUs) / 1000);
    });
    ws.on('error', () => settle(false));
    ws.on('close', (code) => {
      v.closed = true;
      v.closeCode = code;
      settle(false);
    });
  });
}

async function connectAll() {
  const plan = [
    ...Array.from({ length: healthyCount }, () => false),
    ...Array.from({ length: stalledCount }, () => true),
  ];
  let failed = 0;
  for (let i = 0; i < plan.length; i += CONNECT_BATCH) {
    const batch = await Promise.all(plan.slice(i, i + CONNECT_BATCH).map((stalled, j) => openViewer(i + j, stalled)));
    for (const v of batch) {
      if (v) viewers.push(v);
      else failed++;
    }
  }
  return { connected: viewers.length, failed };
}

/** Frames of `v` captured in [win.fromUs, toUs]: those since fromUs minus the recent ones after toUs. */
function framesCapturedUntil(v, toUs) {
  let after = 0;
  const n = Math.min(v.recentAt, RECENT_FRAMES);
  for (let i = 0; i < n; i++) if (v.recent[i] > toUs) after++;
  return v.sinceFrom - after;
}

function report({ toUs }) {
  const wallS = (performance.now() - win.startedAt) / 1000;
  const cpu = process.cpuUsage(win.cpu);
  const healthy = viewers.filter((v) => !v.stalled);
  const stalled = viewers.filter((v) => v.stalled);
  const sum = (vs, k) => vs.reduce((n, v) => n + v[k], 0);
  return {
    wallS,
    clientCores: (cpu.user + cpu.system) / 1e6 / wallS,
    healthyFrames: healthy.map((v) => v.frames),
    healthyCapturedInWindow: healthy.map((v) => framesCapturedUntil(v, toUs)),
    healthyBytes: sum(healthy, 'bytes'),
    stalledFrames: sum(stalled, 'frames'),
    stalledBytes: sum(stalled, 'bytes'),
    closedHealthy: healthy.filter((v) => v.closed).length,
    closedStalled: stalled.filter((v) => v.closed).length,
    decodeErrors: win.decodeErrors,
    otherBinary: win.otherBinary,
    text: win.text,
    latency: hist.toSparse(),
  };
}

serveIpc(
  {
    connect: connectAll,
    reset: ({ fromUs }) => {
      hist.reset();
      for (const v of viewers) {
        v.frames = 0;
        v.bytes = 0;
        v.sinceFrom = 0;
        v.recentAt = 0;
      }
      win = newWindow(fromUs);
      return {};
    },
    report,
    stop: () => ({}),
  },
  {
    onExit: () => {
      for (const v of viewers) v.ws.terminate();
    },
  },
);
process.send?.({ type: 'ready' });
