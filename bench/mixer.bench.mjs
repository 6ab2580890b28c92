// The mixer's capacity and latency.
//
//  1. Encoders: @evan/opus against opusscript, 20 ms mono 48 kHz frames,
//     frames encoded per second, in the same run (the reason the mixer uses
//     @evan/opus; see apps/mixer/src/codec/opus-encoder.ts).
//  2. CPU per 20 ms mix tick for N = 1, 10, 50, 100 sources in one room:
//     jitter buffer + Opus decode per source + float mix + limiter + Opus
//     encode + envelope, on real Opus packets made beforehand; median of
//     several runs; sources per core = N × 20 ms / CPU per tick.
//  3. Participants per core: N sources in one room that all listen, so
//     each also gets a mix-minus (its own frame out of the sum, limiter,
//     one Opus encode of its own), against the same N sources without
//     listeners (the plain mix) measured alternately in the same run;
//     participants per core = N × 20 ms / CPU per tick (goal ≥ 100).
//  4. Added latency on a real nats-server: two sources publish real Opus
//     packets stamped with their capture time, a real `vidchat-mixer`
//     process mixes them, and a subscriber measures (arrival − capture time
//     of the newest source audio in the mixed packet), p50 and p99. This
//     includes the jitter buffer's depth, which is most of it by design.
//
//   npx tsc -b apps/mixer && node bench/mixer.bench.mjs [--quick] [--json]
//
// Exports run({ quick }) → results object, and render(results) → text table.
import OpusScript from 'opusscript';
import { Encoder } from '@evan/opus';
import { connect } from '@nats-io/transport-node';
import {
  audioSubject,
  decodeEnvelope,
  encodeEnvelope,
  encodePresence,
  mixAudioSubject,
  presenceSubject,
} from '../libs/protocol/dist/src/index.js';
import { NatsServer, startApp, waitFor } from '../libs/test-support/dist/src/index.js';
import {
  createMixEncoder,
  createStats,
  DEFAULT_JITTER_OPTIONS,
  floatToInt16,
  FRAME_SAMPLES,
  RoomMix,
} from '../apps/mixer/dist/src/index.js';
import { runQuickJson } from './lib/cli.mjs';

const FULL = {
  encodeMs: 1_000,
  runs: 5,
  ticks: 250,
  latencySeconds: 10,
  sourceCounts: [1, 10, 50, 100],
  participantCounts: [10, 50, 100],
};
const QUICK = { ...FULL, encodeMs: 200, runs: 3, ticks: 60, latencySeconds: 3 };

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
};
const percentile = (xs, p) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
};

/** 20 ms int16 frames of a voice-like signal: a tone with a slow tremolo, different per source. */
function toneFrames(hz, count) {
  const frames = [];
  for (let k = 0; k < count; k++) {
    const f = new Float32Array(FRAME_SAMPLES);
    for (let i = 0; i < FRAME_SAMPLES; i++) {
      const t = (k * FRAME_SAMPLES + i) / 48_000;
      f[i] = 0.2 * Math.sin(2 * Math.PI * hz * t) * (0.6 + 0.4 * Math.sin(2 * Math.PI * 3 * t));
    }
    frames.push(floatToInt16(f));
  }
  return frames;
}

/** Real Opus packets of one source (one second, reused in a loop). */
function sourcePackets(hz) {
  const enc = createMixEncoder();
  const packets = toneFrames(hz, 50).map((pcm) => enc.encode(pcm));
  enc.close();
  return packets;
}

function benchEncoders(cfg) {
  const pcm = toneFrames(440, 50);
  const evan = new Encoder({ channels: 1, sample_rate: 48_000, application: 'voip' });
  evan.bitrate = 48_000;
  const os = new OpusScript(48_000, 1, OpusScript.Application.VOIP);
  os.setBitrate(48_000);
  const buffers = pcm.map((p) => Buffer.from(p.buffer, p.byteOffset, p.byteLength));
  const candidates = {
    '@evan/opus': (i) => evan.encode(pcm[i % 50]),
    opusscript: (i) => os.encode(buffers[i % 50], FRAME_SAMPLES),
  };
  const out = {};
  // Alternate the candidates over rounds so that neither gets the warm CPU.
  const rounds = 3;
  for (const name of Object.keys(candidates)) out[name] = [];
  for (let r = 0; r < rounds; r++) {
    for (const [name, fn] of Object.entries(candidates)) {
      for (let i = 0; i < 100; i++) fn(i);
      const start = performance.now();
      let n = 0;
      while (performance.now() - start < cfg.encodeMs / rounds) fn(n++);
      out[name].push(n / ((performance.now() - start) / 1_000));
    }
  }
  os.delete();
  return Object.fromEntries(Object.entries(out).map(([k, v]) => [k, Math.round(median(v))]));
}

/**
 * CPU µs per 20 ms tick of one run: a room of `n` sources fed real Opus
 * packets, every source also a listener (one mix-minus each) when `listen`.
 */
async function tickRun(n, cfg, packetsByHz, listen) {
  const stats = createStats();
  const mix = new RoomMix(
    'bench',
    { jitter: DEFAULT_JITTER_OPTIONS, levelsEveryTicks: 5, maxSources: 256, maxListeners: 256, bitrate: 48_000 },
    stats,
  );
  const ids = Array.from({ length: n }, (_, i) => `s${i}`);
  for (const id of ids) mix.addSource(id);
  if (listen) for (const id of ids) mix.addListener(id);
  await Promise.all(ids.map((id) => mix.channel(id).ready()));
  const hzs = [...packetsByHz.keys()];
  let seq = 0;
  const feed = (t) => {
    for (let i = 0; i < n; i++) {
      const packets = packetsByHz.get(hzs[i % hzs.length]);
      mix.push(ids[i], seq, packets[seq % packets.length], t * 20_000, t * 20);
    }
    seq++;
  };
  // Fill the jitter buffers to their start depth and warm up.
  for (let t = 0; t < 20; t++) {
    feed(t);
    mix.tick(t * 20);
  }
  const cpu0 = process.cpuUsage();
  for (let t = 20; t < 20 + cfg.ticks; t++) {
    feed(t);
    mix.tick(t * 20);
  }
  const cpu = process.cpuUsage(cpu0);
  if (stats.lost + stats.corrupt > 0) throw new Error(`bench fed a broken stream: ${JSON.stringify(stats)}`);
  if (listen && stats.minusOut !== n * (20 + cfg.ticks)) throw new Error(`expected ${n} mix-minus per tick`);
  mix.close();
  return (cpu.user + cpu.system) / cfg.ticks;
}

async function benchTick(n, cfg, packetsByHz) {
  const perRun = [];
  for (let r = 0; r < cfg.runs; r++) perRun.push(await tickRun(n, cfg, packetsByHz, false));
  const cpuUsPerTick = median(perRun);
  return {
    sources: n,
    cpuUsPerTick: Math.round(cpuUsPerTick),
    coreFraction: +(cpuUsPerTick / 20_000).toFixed(4),
    sourcesPerCore: Math.floor((n * 20_000) / cpuUsPerTick),
  };
}

/** N participants (each mixed and each with a mix-minus) against N plain sources, alternating runs. */
async function benchParticipants(n, cfg, packetsByHz) {
  const plain = [];
  const minus = [];
  for (let r = 0; r < cfg.runs; r++) {
    plain.push(await tickRun(n, cfg, packetsByHz, false));
    minus.push(await tickRun(n, cfg, packetsByHz, true));
  }
  const base = median(plain);
  const withMinus = median(minus);
  return {
    participants: n,
    cpuUsPerTick: Math.round(withMinus),
    plainMixCpuUsPerTick: Math.round(base),
    minusUsPerParticipant: +((withMinus - base) / n).toFixed(1),
    participantsPerCore: Math.floor((n * 20_000) / withMinus),
    plainSourcesPerCore: Math.floor((n * 20_000) / base),
  };
}

async function benchLatency(cfg) {
  const server = await NatsServer.start();
  const mixer = startApp('mixer', ['--nats', server.url, '--status-interval-ms', '0', '--log-level', 'info']);
  const nc = await connect({ servers: server.url });
  const latenciesMs = [];
  let received = 0;
  const room = 'latency';
  nc.subscribe(mixAudioSubject(room), {
    callback: (_err, msg) => {
      const env = decodeEnvelope(msg.data);
      received++;
      latenciesMs.push(Date.now() - env.captureTimeUs / 1_000);
    },
  });
  const sources = [
    { id: 'a', packets: sourcePackets(440) },
    { id: 'b', packets: sourcePackets(660) },
  ];
  const presence = (id, type) =>
    encodePresence({
      v: 1,
      type,
      room,
      source: id,
      name: id,
      ts: Date.now(),
      video: null,
      audio: { codec: 'opus', sampleRate: 48_000, channels: 1, frameDurationMs: 20 },
    });
  try {
    await mixer.waitForOutput(/mixer started/);
    for (const s of sources) nc.publish(presenceSubject(room, s.id), presence(s.id, 'join'));
    await nc.flush();
    await mixer.waitForOutput(/room started/);
    // Publish one packet per source every 20 ms on absolute time, like a capture host.
    const start = performance.now();
    const wallStart = Date.now();
    const total = (cfg.latencySeconds * 1_000) / 20;
    for (let k = 0; k < total; k++) {
      const due = start + k * 20;
      const wait = due - performance.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      const captureTimeUs = (wallStart + k * 20) * 1_000;
      for (const s of sources) {
        nc.publish(
          audioSubject(room, s.id),
          encodeEnvelope({
            kind: 'audio',
            source: s.id,
            seq: k,
            captureTimeUs,
            codec: 'opus',
            sampleRate: 48_000,
            channels: 1,
            durationUs: 20_000,
            payload: s.packets[k % s.packets.length],
          }),
        );
      }
      if (k % 50 === 0) for (const s of sources) nc.publish(presenceSubject(room, s.id), presence(s.id, 'heartbeat'));
    }
    await waitFor(() => received > total - 10, { timeoutMs: 5_000, what: 'mixed packets' });
    // Skip the first second: the start-up depth and the first room tick are not steady state.
    const steady = latenciesMs.slice(50);
    return {
      packets: received,
      p50Ms: +percentile(steady, 50).toFixed(1),
      p99Ms: +percentile(steady, 99).toFixed(1),
      jitterBufferStartMs: DEFAULT_JITTER_OPTIONS.startMs,
      jitterBufferMinMs: DEFAULT_JITTER_OPTIONS.minMs,
    };
  } finally {
    await nc.close();
    await mixer.stop();
    await server.stop();
  }
}

export async function run({ quick = false } = {}) {
  const cfg = quick ? QUICK : FULL;
  const encoders = benchEncoders(cfg);
  const packetsByHz = new Map([220, 330, 440, 550, 660].map((hz) => [hz, sourcePackets(hz)]));
  const ticks = [];
  for (const n of cfg.sourceCounts) ticks.push(await benchTick(n, cfg, packetsByHz));
  const participants = [];
  for (const n of cfg.participantCounts) participants.push(await benchParticipants(n, cfg, packetsByHz));
  const latency = await benchLatency(cfg);
  return {
    quick,
    node: process.version,
    runs: cfg.runs,
    ticksPerRun: cfg.ticks,
    encoders,
    ticks,
    participants,
    latency,
  };
}

export function render(r) {
  const lines = [
    `mixer bench, Node ${r.node}${r.quick ? ', --quick' : ''}`,
    '',
    'Opus encoders, 20 ms mono 48 kHz frames (median of 3 alternating rounds):',
    ...Object.entries(r.encoders).map(([k, v]) => `  ${k.padEnd(12)} ${String(v).padStart(7)} frames/s`),
    '',
    `one room, CPU per 20 ms tick (decode + jitter + mix + limiter + encode), median of ${r.runs} runs × ${r.ticksPerRun} ticks:`,
    '  sources   CPU µs/tick   share of a core   sources per core',
    ...r.ticks.map(
      (t) =>
        `  ${String(t.sources).padStart(7)}   ${String(t.cpuUsPerTick).padStart(11)}   ${(t.coreFraction * 100).toFixed(1).padStart(14)}%   ${String(t.sourcesPerCore).padStart(16)}`,
    ),
    '',
    `participants (each mixed and each with its own mix-minus encode) against the plain mix of as many sources, same run, median of ${r.runs} alternating runs:`,
    '  participants   CPU µs/tick   plain mix µs/tick   mix-minus µs each   participants per core   plain sources per core',
    ...r.participants.map(
      (p) =>
        `  ${String(p.participants).padStart(12)}   ${String(p.cpuUsPerTick).padStart(11)}   ${String(p.plainMixCpuUsPerTick).padStart(17)}   ${String(p.minusUsPerParticipant).padStart(17)}   ${String(p.participantsPerCore).padStart(21)}   ${String(p.plainSourcesPerCore).padStart(22)}`,
    ),
    '',
    `latency, capture time in → mixed packet out, real nats-server + vidchat-mixer, 2 sources, ${r.latency.packets} packets:`,
    `  p50 ${r.latency.p50Ms} ms, p99 ${r.latency.p99Ms} ms (jitter buffer: start ${r.latency.jitterBufferStartMs} ms, min ${r.latency.jitterBufferMinMs} ms)`,
  ];
  return lines.join('\n');
}

await runQuickJson(import.meta.url, run, render);
