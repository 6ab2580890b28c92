// Room chat across gateways, on a real JetStream nats-server.
//
//  1. Delivery latency across two gateways: a viewer on gateway A sends chat
//     messages (5 per second), a viewer of the same room on gateway B
//     receives them; latency = arrival on B − send on A (one clock: both
//     sockets are in this process), p50 / p99. It includes the JetStream
//     store (publish + ack) and the ordered consumer's pull on B.
//  2. The gateway's cost for 1,000 viewers in one room: gateway B's CPU
//     (cores) while 1,000 viewers watch the room, alternately with no chat
//     and with one message per second sent through gateway A, in the same
//     run (same viewers, same machine load), median of the windows.
//
//   npm run build && node bench/chat.bench.mjs [--quick]
//
// Exports run({ quick }) → results object, and renderMarkdown(results).
import WebSocket from 'ws';
import { NatsServer } from '../libs/test-support/dist/src/index.js';
import { startViewers } from './lib/load.mjs';
import { cpuMeter, freePort, onCleanup, sleep, spawnTracked } from './lib/procs.mjs';
import { median, round } from './lib/stats.mjs';
import { markdownTable } from './lib/table.mjs';
import { GATEWAY_MAIN, REPO_ROOT, gatewayBuilt } from './lib/targets.mjs';
import { runStandalone } from './lib/cli.mjs';

const FULL = { latencyMessages: 200, viewers: 1_000, windowS: 20, windows: 3 };
const QUICK = { latencyMessages: 50, viewers: 1_000, windowS: 8, windows: 2 };
const ROOM = 'chat-bench';
/** The load's room starts empty, so that 1,000 joins measure the steady state, not 1,000 history replays. */
const LOAD_ROOM = 'chat-bench-load';
const SEND_INTERVAL_MS = 200;

async function startGateway(natsUrl, label) {
  if (!gatewayBuilt()) throw new Error(`the gateway is not built (${GATEWAY_MAIN} is missing)`);
  const port = await freePort();
  const p = spawnTracked(
    process.execPath,
    [
      GATEWAY_MAIN,
      ...['--nats', natsUrl, '--host', '127.0.0.1', '--port', String(port)],
      // The bench sends faster than a person may; the viewer cap leaves room for the load.
      ...['--chat-per-second', '1000', '--chat-burst', '1000', '--max-viewers', '5000'],
    ],
    { label, cwd: REPO_ROOT, env: { ...process.env, VIDCHAT_LOG_LEVEL: 'warn' } },
  );
  const deadline = Date.now() + 30_000;
  for (;;) {
    try {
      const body = await (await fetch(`http://127.0.0.1:${port}/healthz`)).json();
      if (body.chat?.state === 'ready') break;
    } catch {
      // Not listening yet.
    }
    if (Date.now() > deadline) throw new Error(`${label}: chat not ready within 30 s:\n${p.output().slice(-2000)}`);
    await sleep(100);
  }
  return { ...p, port, wsUrl: `ws://127.0.0.1:${port}/ws` };
}

/** A viewer socket in this process that joins ROOM and calls onChat for each chat message. */
async function chatViewer(wsUrl, onChat = () => undefined, room = ROOM) {
  const ws = new WebSocket(wsUrl);
  await new Promise((resolve, reject) => {
    ws.once('open', resolve);
    ws.once('error', reject);
  });
  let joined;
  const roster = new Promise((r) => (joined = r));
  ws.on('message', (data, isBinary) => {
    if (isBinary) return;
    const msg = JSON.parse(String(data));
    if (msg.type === 'roster') joined();
    else if (msg.type === 'chat') onChat(msg);
    else if (msg.type === 'error') console.error(`chat bench viewer error: ${msg.code} ${msg.message}`);
  });
  ws.send(JSON.stringify({ type: 'join', room }));
  await roster;
  onCleanup(() => ws.terminate());
  return ws;
}

const percentile = (xs, p) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
};

export async function run({ quick = false } = {}) {
  const cfg = quick ? QUICK : FULL;
  const nats = await NatsServer.start({ jetstream: true });
  onCleanup(() => nats.stop());
  const a = await startGateway(nats.url, 'gateway A');
  const b = await startGateway(nats.url, 'gateway B');

  // 1. Latency A → B.
  const sentAt = new Map();
  const latencies = [];
  await chatViewer(b.wsUrl, (m) => {
    const t = sentAt.get(m.text);
    if (t !== undefined && !m.history) latencies.push(performance.now() - t);
  });
  const sender = await chatViewer(a.wsUrl);
  for (let i = 0; i < cfg.latencyMessages; i++) {
    const text = `lat ${i} ${Math.random()}`;
    sentAt.set(text, performance.now());
    sender.send(JSON.stringify({ type: 'chat', text }));
    await sleep(SEND_INTERVAL_MS);
  }
  await sleep(1_000);
  const latency = {
    sent: cfg.latencyMessages,
    received: latencies.length,
    p50Ms: round(percentile(latencies, 50), 2),
    p99Ms: round(percentile(latencies, 99), 2),
    maxMs: round(Math.max(...latencies), 2),
  };
  console.log(`latency A → B: p50 ${latency.p50Ms} ms, p99 ${latency.p99Ms} ms (${latency.received}/${latency.sent})`);

  // 2. Gateway B's CPU with 1,000 viewers, without and with 1 chat message per second.
  const loadSender = await chatViewer(a.wsUrl, undefined, LOAD_ROOM);
  const load = await startViewers({ url: b.wsUrl, room: LOAD_ROOM, viewers: cfg.viewers });
  onCleanup(() => load.stop());
  await sleep(2_000);
  const windows = { quiet: [], chat: [] };
  let sentInChat = 0;
  for (let w = 0; w < cfg.windows; w++) {
    for (const mode of ['quiet', 'chat']) {
      const meter = cpuMeter(b.pid);
      meter.start();
      const until = performance.now() + cfg.windowS * 1_000;
      while (performance.now() < until) {
        if (mode === 'chat') {
          loadSender.send(JSON.stringify({ type: 'chat', text: `load ${sentInChat++}` }));
        }
        await sleep(1_000);
      }
      const m = meter.stop();
      windows[mode].push(m.cores);
      console.log(`window ${w + 1} ${mode}: gateway B ${round(m.cores * 100, 1)} % of a core`);
    }
  }
  const report = await load.report(Date.now() * 1_000);
  await load.stop();
  const quietCores = median(windows.quiet);
  const chatCores = median(windows.chat);
  return {
    quick,
    latency,
    load: {
      viewers: cfg.viewers,
      connected: load.connected,
      windowS: cfg.windowS,
      windows: cfg.windows,
      quietCorePct: round(quietCores * 100, 2),
      chatCorePct: round(chatCores * 100, 2),
      addedCorePct: round((chatCores - quietCores) * 100, 2),
      // The load clients count text frames: one roster each, then the chat messages.
      chatFramesAtViewers: report.text - load.connected,
      chatMessagesSent: sentInChat,
    },
  };
}

export function renderMarkdown(r) {
  const lat = markdownTable(
    [{ what: 'chat A → B (JetStream store + ordered consumer)', ...r.latency }],
    [
      { key: 'what', title: 'path' },
      { key: 'p50Ms', title: 'p50 ms' },
      { key: 'p99Ms', title: 'p99 ms' },
      { key: 'maxMs', title: 'max ms' },
      { key: 'received', title: 'received' },
      { key: 'sent', title: 'sent' },
    ],
  );
  const l = r.load;
  const cpu = markdownTable(
    [
      { mode: `${l.viewers} viewers, no chat`, pct: l.quietCorePct },
      { mode: `${l.viewers} viewers, 1 chat message/s`, pct: l.chatCorePct },
      { mode: 'added by chat', pct: l.addedCorePct },
    ],
    [
      { key: 'mode', title: 'gateway B' },
      { key: 'pct', title: '% of one core (median of windows)' },
    ],
  );
  return [
    '### Delivery latency across two gateways',
    '',
    lat,
    '',
    `### Gateway CPU for ${l.viewers} viewers in one room`,
    '',
    cpu,
    '',
    `${l.windows} alternating windows of ${l.windowS} s each; ${l.chatMessagesSent} messages sent, ${l.chatFramesAtViewers} chat frames counted at the viewers (${l.connected} connected).`,
  ].join('\n');
}

await runStandalone(import.meta.url, run, renderMarkdown);
