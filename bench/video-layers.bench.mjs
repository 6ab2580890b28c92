#!/usr/bin/env node
// Video layers of one camera: bytes per second of layer 0 and layer 1, and
// the CPU of the agent and its ffmpeg with one layer and with two.
//
//   node bench/video-layers.bench.mjs [--quick]
//
// Starts a real nats-server and the built agent (`npm run build` first) with
// the synthetic camera at 640x360, 15 fps, no audio, once with `--layers 1`
// and once with `--layers 2`, several runs each. A subscriber counts the
// bytes of every envelope on `.video` (layer 0) and `.video1` (layer 1).
// CPU is utime+stime from /proc/<pid>/stat over a window, in percent of one
// core. The grid ratio is measured at viewers: the built gateway serves the
// room to two `ws` viewers, one asking the camera's layer 1 (what a 3x3 grid
// tile asks at 1280x800, see the web e2e test), one on layer 0 (every viewer's
// default, the layout before layers); each counts the video bytes its
// socket receives, and the ratio is theirs (nine cameras would multiply both
// alike). bench/grid-viewer.bench.mjs measures the same at a real Chromium
// grid of nine. Linux only (/proc).
import { readFileSync } from 'node:fs';
import { connect } from '@nats-io/transport-node';
import WebSocket from 'ws';
import { NatsServer, startApp, waitFor, sleep } from '../libs/test-support/dist/src/index.js';
import { decodeEnvelope, tryParseSubject, wildcards } from '../libs/protocol/dist/src/index.js';

/** A `ws` viewer of `room` that asks `layer` of `source` and counts the video bytes it receives. */
async function layerViewer(wsUrl, room, source, layer) {
  const ws = new WebSocket(wsUrl);
  const v = { videoBytes: 0, videoFrames: 0, close: () => ws.close() };
  ws.on('message', (data, isBinary) => {
    if (!isBinary) return;
    const env = decodeEnvelope(data);
    if (env.kind !== 'video' || env.source !== source) return;
    v.videoBytes += data.length;
    v.videoFrames++;
  });
  await new Promise((resolve, reject) => {
    ws.once('open', resolve);
    ws.once('error', reject);
  });
  ws.send(JSON.stringify({ type: 'layer', source, layer }));
  ws.send(JSON.stringify({ type: 'join', room }));
  return v;
}

const TICKS_PER_SECOND = 100; // USER_HZ on Linux.

function cpuTicks(pid) {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return Number(fields[11]) + Number(fields[12]); // utime + stime
}

function parentPid(pid) {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

async function oneRun(url, wsUrl, layers, windowMs, warmupMs) {
  const room = 'bench-layers';
  const nc = await connect({ servers: url });
  const viewers = [await layerViewer(wsUrl, room, 'bench', 0), await layerViewer(wsUrl, room, 'bench', 1)];
  const bytes = [0, 0];
  const frames = [0, 0];
  const sub = nc.subscribe(wildcards.roomSources(room));
  void (async () => {
    for await (const m of sub) {
      const p = tryParseSubject(m.subject);
      if (p?.scope !== 'src' || p.track !== 'video') continue;
      const layer = p.layer ?? 0;
      bytes[layer] += m.data.length;
      frames[layer]++;
    }
  })();
  const agent = startApp('capture-agent', [
    ...['--nats', url, '--room', room, '--source', 'bench', '--video', 'test', '--audio', 'none'],
    ...['--size', '640x360', '--fps', '15', '--layers', String(layers), '--log-level', 'info'],
  ]);
  try {
    const m = await agent.waitForOutput(/ffmpeg started track=video pid=(\d+)/, 15_000);
    const ffmpegPid = Number(m[1]);
    // The agent is ffmpeg's parent (the child startApp holds may be a wrapper).
    const agentPid = parentPid(ffmpegPid);
    await waitFor(() => frames[0] > 0, { timeoutMs: 15_000, what: 'first frame' });
    await sleep(warmupMs);
    const a0 = cpuTicks(agentPid);
    const f0 = cpuTicks(ffmpegPid);
    const b0 = [...bytes];
    const n0 = [...frames];
    const v0 = viewers.map((v) => v.videoBytes);
    const t0 = Date.now();
    await sleep(windowMs);
    const secs = (Date.now() - t0) / 1000;
    return {
      agentCorePct: ((cpuTicks(agentPid) - a0) / TICKS_PER_SECOND / secs) * 100,
      ffmpegCorePct: ((cpuTicks(ffmpegPid) - f0) / TICKS_PER_SECOND / secs) * 100,
      layer0KBps: (bytes[0] - b0[0]) / secs / 1000,
      layer1KBps: (bytes[1] - b0[1]) / secs / 1000,
      layer0Fps: (frames[0] - n0[0]) / secs,
      layer1Fps: (frames[1] - n0[1]) / secs,
      viewerLayer0KBps: (viewers[0].videoBytes - v0[0]) / secs / 1000,
      viewerLayer1KBps: (viewers[1].videoBytes - v0[1]) / secs / 1000,
    };
  } finally {
    for (const v of viewers) v.close();
    await agent.stop();
    await nc.close();
  }
}

export async function run({ quick = false } = {}) {
  const runs = quick ? 2 : 5;
  const windowMs = quick ? 3_000 : 8_000;
  const warmupMs = quick ? 1_000 : 2_000;
  const server = await NatsServer.start();
  const gateway = startApp('gateway', ['--nats', server.url, '--port', '0', '--host', '127.0.0.1']);
  const results = [];
  try {
    const port = Number((await gateway.waitForOutput(/viewer at http:\/\/[^\s]+:(\d+)\//, 30_000))[1]);
    const wsUrl = `ws://127.0.0.1:${port}/ws`;
    for (const layers of [1, 2]) {
      const samples = [];
      for (let i = 0; i < runs; i++) samples.push(await oneRun(server.url, wsUrl, layers, windowMs, warmupMs));
      const l0 = median(samples.map((s) => s.layer0KBps));
      const l1 = median(samples.map((s) => s.layer1KBps));
      const atViewer0 = median(samples.map((s) => s.viewerLayer0KBps));
      const atViewer1 = median(samples.map((s) => s.viewerLayer1KBps));
      results.push({
        name: `640x360@15fps --layers ${layers}`,
        runs,
        agentCorePctMedian: Number(median(samples.map((s) => s.agentCorePct)).toFixed(1)),
        ffmpegCorePctMedian: Number(median(samples.map((s) => s.ffmpegCorePct)).toFixed(1)),
        layer0KBps: Number(l0.toFixed(1)),
        layer1KBps: Number(l1.toFixed(1)),
        layer1Fps: Number(median(samples.map((s) => s.layer1Fps)).toFixed(1)),
        viewerLayer0KBps: Number(atViewer0.toFixed(1)),
        viewerLayer1KBps: Number(atViewer1.toFixed(1)),
        // Bytes at the viewer asking layer 1 vs the one on layer 0 (with --layers 1 both get layer 0).
        gridBytesVsLayer0Pct: Number(((atViewer1 / atViewer0) * 100).toFixed(1)),
        samples,
      });
    }
  } finally {
    await gateway.stop();
    await server.stop();
  }
  return results;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  for (const r of await run({ quick: process.argv.includes('--quick') })) {
    console.log(
      `${r.name}: agent ${r.agentCorePctMedian}% of a core, ffmpeg ${r.ffmpegCorePctMedian}%, ` +
        `layer 0 ${r.layer0KBps} kB/s, layer 1 ${r.layer1KBps} kB/s at ${r.layer1Fps} fps, ` +
        `at viewers: ${r.viewerLayer0KBps} kB/s on layer 0, ${r.viewerLayer1KBps} kB/s asking layer 1 ` +
        `(${r.gridBytesVsLayer0Pct}%) (median of ${r.runs} runs)`,
    );
  }
}
