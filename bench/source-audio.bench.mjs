// What per-tile volume costs the gateway: viewers in `sources` audio mode
// (each source's own Opus packets, so the page can play each tile at its own
// gain) next to the same viewers on the room's single mix, in the same run
// and against the same room.
//
// The room: S audio-only sources (presence, 50 Opus-sized packets/s of 80 B
// each, as capture agents publish them) and a stand-in mixer publishing the
// room's mix (50 packets/s of 80 B) and levels (10/s). V `ws` viewers join
// it; for each V the gateway's CPU is read from /proc over a window with
// every viewer on the mix, then with every viewer in sources mode
// (`{"type":"audio","mode":"sources"}`), then on the mix again (the two mix
// windows bracket the sources one, so the machine's drift shows). Packets
// per viewer per second say what each mode delivers.
//
//   npx tsc -b apps/gateway && node bench/source-audio.bench.mjs [--quick]
//
// Exports run({ quick }) → results, and renderMarkdown(results).
import WebSocket from 'ws';
import { connect } from '@nats-io/transport-node';
import {
  audioSubject,
  encodeEnvelope,
  encodeLevelsEnvelope,
  encodePresence,
  mixAudioSubject,
  mixLevelsSubject,
  presenceSubject,
} from '../libs/protocol/dist/src/index.js';
import { NatsServer } from '../libs/test-support/dist/src/index.js';
import { runStandalone } from './lib/cli.mjs';
import { cpuMeter, onCleanup, sleep } from './lib/procs.mjs';
import { markdownTable } from './lib/table.mjs';
import { startTarget } from './lib/targets.mjs';

const ROOM = 'bench-source-audio';
const SOURCES = 4;
const PACKETS_PER_S = 50;
const OPUS_BYTES = 80;
const FULL = { viewers: [10, 50, 100], warmupS: 2, windowS: 6 };
const QUICK = { viewers: [10, 50], warmupS: 1, windowS: 3 };

function openWs(url) {
  const ws = new WebSocket(url, { perMessageDeflate: false });
  return new Promise((resolve, reject) => {
    ws.once('open', () => resolve(ws));
    ws.once('error', reject);
  });
}

/** A viewer that joins the room and counts the audio packets it gets (bytes 3 of the envelope: the kind). */
async function startViewer(url) {
  const ws = await openWs(url);
  const counts = { mix: 0, sources: 0 };
  const roster = new Promise((resolve) => {
    ws.on('message', (data, isBinary) => {
      if (!isBinary) {
        if (JSON.parse(String(data)).type === 'roster') resolve();
        return;
      }
      const kind = data[3];
      if (kind === 3) counts.mix++;
      else if (kind === 2) counts.sources++;
    });
  });
  ws.send(JSON.stringify({ type: 'join', room: ROOM }));
  await roster;
  return { ws, counts, mode: (mode) => ws.send(JSON.stringify({ type: 'audio', mode })), close: () => ws.close() };
}

/** The room's sources and mixer, paced by the wall clock. */
async function startRoom(natsUrl) {
  const nc = await connect({ servers: natsUrl, name: 'bench-source-audio' });
  const ids = Array.from({ length: SOURCES }, (_, i) => `mic-${i}`);
  const opus = new Uint8Array(OPUS_BYTES).fill(0x5a);
  opus[0] = 0x78;
  const presence = (type) => {
    for (const id of ids) {
      nc.publish(
        presenceSubject(ROOM, id),
        encodePresence({
          v: 1,
          type,
          room: ROOM,
          source: id,
          name: id,
          ts: Date.now(),
          video: null,
          audio: { codec: 'opus', sampleRate: 48000, channels: 1, frameDurationMs: 20 },
        }),
      );
    }
  };
  presence('join');
  const hb = setInterval(() => presence('heartbeat'), 1000);
  const audio = (kind, source, seq) =>
    encodeEnvelope({
      kind,
      source,
      seq: seq >>> 0,
      captureTimeUs: Date.now() * 1000,
      codec: 'opus',
      sampleRate: 48000,
      channels: 1,
      durationUs: 20_000,
      payload: opus,
    });
  const t0 = performance.now();
  let done = 0;
  const timer = setInterval(() => {
    const due = Math.floor(((performance.now() - t0) / 1000) * PACKETS_PER_S);
    for (; done < due; done++) {
      for (const id of ids) nc.publish(audioSubject(ROOM, id), audio('audio', id, done));
      nc.publish(mixAudioSubject(ROOM), audio('mixedAudio', '', done));
      if (done % 5 === 0) {
        const levels = {
          room: ROOM,
          sources: ids.map((source) => ({ source, dbfs: -30, peakDbfs: -20 })),
          active: null,
        };
        nc.publish(mixLevelsSubject(ROOM), encodeLevelsEnvelope(levels, done / 5, Date.now() * 1000));
      }
    }
  }, 1000 / PACKETS_PER_S);
  return {
    async stop() {
      clearInterval(timer);
      clearInterval(hb);
      presence('leave');
      await nc.flush();
      await nc.close();
    },
  };
}

/** Gateway cores and packets per viewer per second over one window. */
async function window(target, viewers, key, cfg) {
  await sleep(cfg.warmupS * 1000);
  const before = viewers.map((v) => v.counts[key]);
  const meter = cpuMeter(target.pid);
  meter.start();
  await sleep(cfg.windowS * 1000);
  const cpu = meter.stop();
  const got = viewers.reduce((sum, v, i) => sum + v.counts[key] - (before[i] ?? 0), 0);
  return { cores: cpu.cores, packetsPerViewerPerS: got / viewers.length / cpu.wallS, rssMb: cpu.peakRssMb };
}

export async function run({ quick = false } = {}) {
  const cfg = quick ? QUICK : FULL;
  const nats = await NatsServer.start();
  onCleanup(() => nats.stop());
  const target = await startTarget('gateway', { natsUrl: nats.url, room: ROOM });
  const room = await startRoom(nats.url);
  const rows = [];
  try {
    for (const n of cfg.viewers) {
      const viewers = [];
      for (let i = 0; i < n; i++) viewers.push(await startViewer(target.wsUrl));
      try {
        const mixBefore = await window(target, viewers, 'mix', cfg);
        for (const v of viewers) v.mode('sources');
        const sources = await window(target, viewers, 'sources', cfg);
        for (const v of viewers) v.mode('mix');
        const mixAfter = await window(target, viewers, 'mix', cfg);
        const mixCores = (mixBefore.cores + mixAfter.cores) / 2;
        rows.push({
          viewers: n,
          mixCores,
          sourcesCores: sources.cores,
          ratio: sources.cores / mixCores,
          mixPctPerViewer: (100 * mixCores) / n,
          sourcesPctPerViewer: (100 * sources.cores) / n,
          mixPackets: (mixBefore.packetsPerViewerPerS + mixAfter.packetsPerViewerPerS) / 2,
          sourcesPackets: sources.packetsPerViewerPerS,
          mixWindows: `${mixBefore.cores.toFixed(3)} / ${mixAfter.cores.toFixed(3)}`,
          rssMb: Math.max(mixBefore.rssMb, sources.rssMb, mixAfter.rssMb),
        });
        console.log(
          `  ${n} viewers: mix ${mixCores.toFixed(3)} cores, sources ${sources.cores.toFixed(3)} cores (${(sources.cores / mixCores).toFixed(2)}x)`,
        );
      } finally {
        for (const v of viewers) v.close();
        await sleep(500);
      }
    }
    return { sources: SOURCES, rows };
  } finally {
    await room.stop();
    await target.stop();
  }
}

export function renderMarkdown(r) {
  const table = markdownTable(r.rows, [
    { key: 'viewers', title: 'viewers' },
    { key: 'mixCores', title: 'mix mode (cores)', digits: 3 },
    { key: 'mixWindows', title: 'mix before / after' },
    { key: 'sourcesCores', title: 'sources mode (cores)', digits: 3 },
    { key: 'ratio', title: 'sources / mix', digits: 2 },
    { key: 'mixPctPerViewer', title: 'mix, % of a core per viewer', digits: 2 },
    { key: 'sourcesPctPerViewer', title: 'sources, % of a core per viewer', digits: 2 },
    { key: 'mixPackets', title: 'mix packets/s per viewer', digits: 1 },
    { key: 'sourcesPackets', title: 'source packets/s per viewer', digits: 1 },
    { key: 'rssMb', title: 'gateway RSS (MB)', digits: 0 },
  ]);
  return [
    `A room of ${r.sources} audio-only sources (${PACKETS_PER_S} packets/s of ${OPUS_BYTES} B each) with its mix (${PACKETS_PER_S}/s) and levels (10/s); every viewer on the mix, then every viewer in sources mode (per-tile volume), then on the mix again; the mix figure is the mean of the two mix windows. Gateway CPU from /proc over each window.`,
    '',
    table,
  ].join('\n');
}

await runStandalone(import.meta.url, run, renderMarkdown);
