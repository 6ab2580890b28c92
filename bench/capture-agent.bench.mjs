#!/usr/bin/env node
// CPU of the capture agent per camera, apart from its ffmpeg.
//
//   node bench/capture-agent.bench.mjs [--quick]
//
// Starts a real nats-server and the built agent (`npm run build` first) with
// the synthetic camera at 640x360 and 1280x720, 30 fps, no audio. After a
// warm-up it reads utime+stime of the agent (node) and of its ffmpeg from
// /proc/<pid>/stat over a window, several runs per size, and reports medians
// in percent of one core. A subscriber counts the frames that arrived, so a
// run that did not keep up is visible. Linux only (/proc).
import { readFileSync } from 'node:fs';
import { connect } from '@nats-io/transport-node';
import { NatsServer, startApp, waitFor, sleep } from '../libs/test-support/dist/src/index.js';
import { wildcards } from '../libs/protocol/dist/src/index.js';

const TICKS_PER_SECOND = 100; // USER_HZ on Linux.

function cpuTicks(pid) {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the command name (which may contain spaces) start after ')'.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return Number(fields[11]) + Number(fields[12]); // utime + stime
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

async function oneRun(url, size, fps, windowMs, warmupMs) {
  const room = 'bench';
  const nc = await connect({ servers: url });
  let frames = 0;
  let bytes = 0;
  const sub = nc.subscribe(wildcards.roomTrack(room, 'video'));
  void (async () => {
    for await (const m of sub) {
      frames++;
      bytes += m.data.length;
    }
  })();
  const agent = startApp('capture-agent', [
    '--nats',
    url,
    '--room',
    room,
    '--source',
    'bench',
    '--video',
    'test',
    '--audio',
    'none',
    '--size',
    size,
    '--fps',
    String(fps),
    '--log-level',
    'info',
  ]);
  try {
    const m = await agent.waitForOutput(/ffmpeg started track=video pid=(\d+)/, 15_000);
    const ffmpegPid = Number(m[1]);
    await waitFor(() => frames > 0, { timeoutMs: 15_000, what: 'first frame' });
    await sleep(warmupMs);
    const a0 = cpuTicks(agent.child.pid);
    const f0 = cpuTicks(ffmpegPid);
    const n0 = frames;
    const b0 = bytes;
    const t0 = Date.now();
    await sleep(windowMs);
    const secs = (Date.now() - t0) / 1000;
    const agentCpu = (cpuTicks(agent.child.pid) - a0) / TICKS_PER_SECOND / secs;
    const ffmpegCpu = (cpuTicks(ffmpegPid) - f0) / TICKS_PER_SECOND / secs;
    return {
      agentCorePct: agentCpu * 100,
      ffmpegCorePct: ffmpegCpu * 100,
      fps: (frames - n0) / secs,
      avgFrameBytes: (bytes - b0) / Math.max(1, frames - n0),
    };
  } finally {
    await agent.stop();
    await nc.close();
  }
}

export async function run({ quick = false } = {}) {
  const runs = quick ? 2 : 5;
  const windowMs = quick ? 3_000 : 8_000;
  const warmupMs = quick ? 1_000 : 2_000;
  const server = await NatsServer.start();
  const results = [];
  try {
    for (const size of ['640x360', '1280x720']) {
      const samples = [];
      for (let i = 0; i < runs; i++) samples.push(await oneRun(server.url, size, 30, windowMs, warmupMs));
      results.push({
        name: `capture-agent ${size}@30fps`,
        runs,
        agentCorePctMedian: Number(median(samples.map((s) => s.agentCorePct)).toFixed(1)),
        ffmpegCorePctMedian: Number(median(samples.map((s) => s.ffmpegCorePct)).toFixed(1)),
        fpsMedian: Number(median(samples.map((s) => s.fps)).toFixed(1)),
        frameBytesMedian: Math.round(median(samples.map((s) => s.avgFrameBytes))),
        samples,
      });
    }
  } finally {
    await server.stop();
  }
  return results;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const results = await run({ quick: process.argv.includes('--quick') });
  for (const r of results) {
    console.log(
      `${r.name}: agent ${r.agentCorePctMedian}% of a core, ffmpeg ${r.ffmpegCorePctMedian}%, ` +
        `${r.fpsMedian} fps received, ${r.frameBytesMedian} B/frame (median of ${r.runs} runs)`,
    );
  }
}
