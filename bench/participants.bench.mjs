// The gateway's cost per browser participant: what it takes to receive a
// participant's media over its WebSocket, check every envelope and publish
// it on NATS, next to the same media arriving on NATS directly (as from
// capture agents), in the same run.
//
// Each of N fake participants sends what the browser app sends at the
// room's defaults: 640x360 JPEGs (ffmpeg testsrc2, ~17–19 KB) at 15 fps and
// 50 Opus-sized packets (80 bytes) per second, over a real `ws` client
// joined with `publish`. The baseline publishes the same envelopes, with
// presence, straight to NATS. In both, one viewer watches the room, so the
// gateway's fan-out work is the same; the difference is the ingest.
// Gateway CPU comes from /proc/<pid>/stat over the window.
//
//   npx tsc -b apps/gateway && node bench/participants.bench.mjs [--quick]
//
// Exports run({ quick }) → results, and renderMarkdown(results).
import WebSocket from 'ws';
import { connect } from '@nats-io/transport-node';
import {
  audioSubject,
  encodeEnvelope,
  encodePresence,
  presenceSubject,
  videoSubject,
} from '../libs/protocol/dist/src/index.js';
import { NatsServer } from '../libs/test-support/dist/src/index.js';
import { runStandalone } from './lib/cli.mjs';
import { benchJpegs, JPEG_HEIGHT, JPEG_WIDTH } from './lib/jpegs.mjs';
import { cpuMeter, onCleanup, sleep } from './lib/procs.mjs';
import { markdownTable } from './lib/table.mjs';
import { startTarget } from './lib/targets.mjs';

const ROOM = 'bench-participants';
const FPS = 15;
const AUDIO_PER_S = 50;
const OPUS_BYTES = 80;
const FULL = { counts: [1, 5, 10, 20], warmupS: 2, windowS: 8 };
const QUICK = { counts: [1, 5], warmupS: 1, windowS: 3 };

function openWs(url) {
  const ws = new WebSocket(url, { perMessageDeflate: false });
  return new Promise((resolve, reject) => {
    ws.once('open', () => resolve(ws));
    ws.once('error', reject);
  });
}

function nextText(ws, pred) {
  return new Promise((resolve, reject) => {
    const onMsg = (data, isBinary) => {
      if (isBinary) return;
      const msg = JSON.parse(String(data));
      if (msg.type === 'error') reject(new Error(`gateway error ${msg.code}: ${msg.message}`));
      if (pred(msg)) {
        ws.off('message', onMsg);
        resolve(msg);
      }
    };
    ws.on('message', onMsg);
  });
}

/** A source of N that makes envelopes exactly as the browser would. */
function makeSource(id, jpegs) {
  let vseq = 0;
  let aseq = 0;
  const opus = new Uint8Array(OPUS_BYTES).fill(0x5a);
  opus[0] = 0x78; // an Opus TOC byte: CELT fullband 20 ms
  return {
    id,
    video: () =>
      encodeEnvelope({
        kind: 'video',
        source: id,
        seq: vseq++ >>> 0,
        captureTimeUs: Date.now() * 1000,
        width: JPEG_WIDTH,
        height: JPEG_HEIGHT,
        codec: 'jpeg',
        layer: 0,
        payload: jpegs[vseq % jpegs.length],
      }),
    audio: () =>
      encodeEnvelope({
        kind: 'audio',
        source: id,
        seq: aseq++ >>> 0,
        captureTimeUs: Date.now() * 1000,
        codec: 'opus',
        sampleRate: 48000,
        channels: 1,
        durationUs: 20_000,
        payload: opus,
      }),
  };
}

/**
 * Drives `sources` at 15 fps + 50 packets/s through `send(source, bytes)`.
 * What is due is computed from the wall clock, not counted in timer ticks,
 * so that a late timer on a loaded machine sends what it owes instead of
 * silently lowering the rate; returns stop() and the counts sent.
 */
function drive(sources, send) {
  const t0 = performance.now();
  const sent = { video: 0, audio: 0 };
  let audioDone = 0;
  let videoDone = 0;
  const timer = setInterval(() => {
    const s = (performance.now() - t0) / 1000;
    const audioDue = Math.floor(s * AUDIO_PER_S);
    const videoDue = Math.floor(s * FPS);
    for (; audioDone < audioDue; audioDone++) {
      for (const src of sources) send(src, src.audio(), 'audio');
      sent.audio += sources.length;
    }
    for (; videoDone < videoDue; videoDone++) {
      for (const src of sources) send(src, src.video(), 'video');
      sent.video += sources.length;
    }
  }, 1000 / AUDIO_PER_S);
  return { stop: () => clearInterval(timer), sent };
}

/** N participants over the gateway's WebSocket. */
async function viaWebSocket(target, n, jpegs) {
  const sockets = [];
  const sources = [];
  for (let i = 0; i < n; i++) {
    const ws = await openWs(target.wsUrl);
    sockets.push(ws);
    const roster = nextText(ws, (m) => m.type === 'roster');
    ws.send(JSON.stringify({ type: 'join', room: ROOM, publish: true, name: `Bench ${i}` }));
    const { self } = await roster;
    const s = makeSource(self, jpegs);
    s.ws = ws;
    sources.push(s);
  }
  const d = drive(sources, (s, bytes) => s.ws.send(bytes));
  return {
    sent: d.sent,
    async stop() {
      d.stop();
      for (const ws of sockets) ws.close();
      await sleep(300);
    },
  };
}

/** The same media published to NATS directly, with presence, as capture agents do. */
async function viaNats(natsUrl, n, jpegs) {
  const nc = await connect({ servers: natsUrl, name: 'bench-baseline' });
  const sources = Array.from({ length: n }, (_, i) => makeSource(`agent-${i}`, jpegs));
  const presence = (type) => {
    for (const s of sources) {
      nc.publish(
        presenceSubject(ROOM, s.id),
        encodePresence({
          v: 1,
          type,
          room: ROOM,
          source: s.id,
          name: s.id,
          ts: Date.now(),
          video: { codec: 'jpeg', width: JPEG_WIDTH, height: JPEG_HEIGHT, fps: FPS },
          audio: { codec: 'opus', sampleRate: 48000, channels: 1, frameDurationMs: 20 },
        }),
      );
    }
  };
  presence('join');
  const hb = setInterval(() => presence('heartbeat'), 1000);
  const d = drive(sources, (s, bytes, kind) =>
    nc.publish(kind === 'video' ? videoSubject(ROOM, s.id) : audioSubject(ROOM, s.id), bytes),
  );
  return {
    sent: d.sent,
    async stop() {
      d.stop();
      clearInterval(hb);
      presence('leave');
      await nc.flush();
      await nc.close();
      await sleep(300);
    },
  };
}

/** A viewer of the room that counts the video frames it receives. */
async function startWatcher(target) {
  const ws = await openWs(target.wsUrl);
  let frames = 0;
  ws.on('message', (_d, isBinary) => {
    if (isBinary) frames++;
  });
  const roster = nextText(ws, (m) => m.type === 'roster');
  ws.send(JSON.stringify({ type: 'join', room: ROOM }));
  await roster;
  return { frames: () => frames, close: () => ws.close() };
}

async function measure(target, natsUrl, mode, n, jpegs, cfg) {
  const watcher = await startWatcher(target);
  const load = mode === 'ws' ? await viaWebSocket(target, n, jpegs) : await viaNats(natsUrl, n, jpegs);
  try {
    await sleep(cfg.warmupS * 1000);
    const meter = cpuMeter(target.pid);
    const sent0 = { ...load.sent };
    const got0 = watcher.frames();
    meter.start();
    await sleep(cfg.windowS * 1000);
    const cpu = meter.stop();
    const sentVideo = load.sent.video - sent0.video;
    const sentAudio = load.sent.audio - sent0.audio;
    const got = watcher.frames() - got0;
    return {
      cores: cpu.cores,
      videoPerS: sentVideo / cpu.wallS,
      audioPerS: sentAudio / cpu.wallS,
      // The watcher gets every source's video (and a mix only if a mixer ran; none here).
      watcherGotPct: sentVideo > 0 ? (100 * got) / sentVideo : null,
      rssMb: cpu.peakRssMb,
    };
  } finally {
    await load.stop();
    watcher.close();
  }
}

export async function run({ quick = false } = {}) {
  const cfg = quick ? QUICK : FULL;
  const jpegs = benchJpegs();
  const nats = await NatsServer.start();
  onCleanup(() => nats.stop());
  const target = await startTarget('gateway', { natsUrl: nats.url, room: ROOM });
  const rows = [];
  try {
    const idle = cpuMeter(target.pid);
    idle.start();
    await sleep(cfg.windowS * 500);
    const idleCores = idle.stop().cores;
    for (const n of cfg.counts) {
      // Baseline first, then participants, at each size: the machine's load drifts less between the two.
      const agents = await measure(target, nats.url, 'nats', n, jpegs, cfg);
      const participants = await measure(target, nats.url, 'ws', n, jpegs, cfg);
      rows.push({
        sources: n,
        baselineCores: agents.cores,
        participantsCores: participants.cores,
        perParticipantPctOfCore: (100 * participants.cores) / n,
        ingestPctOfCorePerParticipant: (100 * (participants.cores - agents.cores)) / n,
        videoPerS: participants.videoPerS,
        audioPerS: participants.audioPerS,
        watcherGotPct: participants.watcherGotPct,
        baselineWatcherGotPct: agents.watcherGotPct,
        gatewayRssMb: participants.rssMb,
      });
      console.log(
        `  ${n} source(s): baseline ${agents.cores.toFixed(3)} cores, participants ${participants.cores.toFixed(3)} cores`,
      );
    }
    return { idleCores, jpegBytes: Math.round(jpegs.reduce((a, b) => a + b.length, 0) / jpegs.length), rows };
  } finally {
    await target.stop();
  }
}

export function renderMarkdown(r) {
  const table = markdownTable(r.rows, [
    { key: 'sources', title: 'sources' },
    { key: 'baselineCores', title: 'gateway, media via NATS (cores)', digits: 3 },
    { key: 'participantsCores', title: 'gateway, participants over ws (cores)', digits: 3 },
    { key: 'perParticipantPctOfCore', title: '% of a core per participant', digits: 2 },
    { key: 'ingestPctOfCorePerParticipant', title: 'of which ingest (vs NATS), % of a core', digits: 2 },
    { key: 'videoPerS', title: 'video/s in', digits: 0 },
    { key: 'audioPerS', title: 'audio/s in', digits: 0 },
    { key: 'watcherGotPct', title: 'viewer got (%)', digits: 1 },
    { key: 'gatewayRssMb', title: 'gateway RSS (MB)', digits: 0 },
  ]);
  return [
    `Each source: 640x360 JPEG (${r.jpegBytes} B average) at ${FPS} fps + ${AUDIO_PER_S} Opus packets/s of ${OPUS_BYTES} B; one viewer watches the room. Idle gateway: ${r.idleCores.toFixed(3)} cores.`,
    '',
    table,
  ].join('\n');
}

await runStandalone(import.meta.url, run, renderMarkdown);
