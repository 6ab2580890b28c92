#!/usr/bin/env node
// The recorder's CPU: how much one recording of 4 cameras 640x360@15 + the
// room mix costs on this machine (goal: at most one core, recorder + its
// ffmpeg), and how many such recordings the machine holds.
//
//   node bench/recorder.bench.mjs [--quick]
//
// A real nats-server with JetStream; this process publishes, per room, 4
// cameras (real 640x360 JPEGs of ffmpeg's testsrc2, ~18 KB, 15 fps each,
// presence every second) and the room mix (real 20 ms Opus packets), both
// stamped with their capture time, as agents and the mixer would. The built
// `vidchat-recorder` (npm run build first) records 1 room, then N rooms at
// once; over a window after a warm-up it reads utime+stime of the recorder
// (node: sharp decode, composing, Opus decode) and of each ffmpeg (libx264 +
// AAC) from /proc, and the frames ffmpeg encoded, so a run that fell behind
// real time shows. Linux only (/proc).
import { connect } from '@nats-io/transport-node';
import {
  encodeEnvelope,
  encodePresence,
  encodeRecordingRequest,
  decodeRecordingReply,
  mixAudioSubject,
  presenceSubject,
  recSubject,
  videoSubject,
} from '../libs/protocol/dist/src/index.js';
import { makeOpusTonePackets, NatsServer, startApp } from '../libs/test-support/dist/src/index.js';
import { benchJpegs, JPEG_HEIGHT, JPEG_WIDTH } from './lib/jpegs.mjs';
import { onCleanup, processCpuSeconds, sleep } from './lib/procs.mjs';
import { markdownTable } from './lib/table.mjs';
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';

const CAMERAS = 4;
const FPS = 15;
const FULL = { warmupS: 5, windowS: 20, concurrent: [1, 2], presets: ['veryfast', 'ultrafast'] };
const QUICK = { warmupS: 3, windowS: 8, concurrent: [1], presets: ['veryfast'] };

/** Publishes one room as 4 agents and a mixer would, until stopped. */
async function publishRoom(nc, room, jpegs, opus) {
  const sources = Array.from({ length: CAMERAS }, (_, i) => `cam${i + 1}`);
  let seq = 0;
  let audioSeq = 0;
  const presence = (type) => {
    for (const source of sources) {
      nc.publish(
        presenceSubject(room, source),
        encodePresence({
          v: 1,
          type,
          room,
          source,
          name: `Camera ${source.slice(3)}`,
          ts: Date.now(),
          video: { codec: 'jpeg', width: JPEG_WIDTH, height: JPEG_HEIGHT, fps: FPS },
          audio: null,
        }),
      );
    }
  };
  presence('join');
  const presenceTimer = setInterval(() => presence('heartbeat'), 1_000);
  const videoTimer = setInterval(() => {
    const now = Date.now() * 1_000;
    for (const [i, source] of sources.entries()) {
      nc.publish(
        videoSubject(room, source),
        encodeEnvelope({
          kind: 'video',
          source,
          seq,
          captureTimeUs: now,
          width: JPEG_WIDTH,
          height: JPEG_HEIGHT,
          codec: 'jpeg',
          layer: 0,
          payload: jpegs[(seq + i) % jpegs.length],
        }),
      );
    }
    seq++;
  }, 1_000 / FPS);
  const audioTimer = setInterval(() => {
    nc.publish(
      mixAudioSubject(room),
      encodeEnvelope({
        kind: 'mixedAudio',
        source: '',
        seq: audioSeq,
        captureTimeUs: Date.now() * 1_000,
        codec: 'opus',
        sampleRate: 48_000,
        channels: 1,
        durationUs: 20_000,
        payload: opus[audioSeq % opus.length],
      }),
    );
    audioSeq++;
  }, 20);
  return () => {
    clearInterval(presenceTimer);
    clearInterval(videoTimer);
    clearInterval(audioTimer);
    presence('leave');
  };
}

async function request(nc, room, req) {
  const msg = await nc.request(recSubject(room, req.action), encodeRecordingRequest(req), { timeout: 60_000 });
  const reply = decodeRecordingReply(msg.data);
  if (!reply.ok) throw new Error(`${req.action} ${room}: ${reply.error.code} ${reply.error.message}`);
  return reply;
}

async function oneRun(url, preset, rooms, cfg, jpegs, opus) {
  const workDir = mkdtempSync(join(tmpdir(), 'vidchat-bench-rec-'));
  const recorder = startApp('recorder', [
    '--nats',
    url,
    '--work-dir',
    workDir,
    '--preset',
    preset,
    '--fps',
    String(FPS),
    '--max-recordings',
    String(rooms),
    '--status-interval-ms',
    '1000',
  ]);
  const unregister = onCleanup(() => recorder.stop());
  const nc = await connect({ servers: url });
  const stops = [];
  try {
    await recorder.waitForOutput(/\[main\] ready/, 30_000);
    const names = Array.from({ length: rooms }, (_, i) => `bench${i + 1}`);
    for (const room of names) stops.push(await publishRoom(nc, room, jpegs, opus));
    const ids = [];
    for (const room of names) ids.push((await request(nc, room, { action: 'start' })).recording.id);
    await recorder.waitForOutput(new RegExp(`(ffmpeg started pid=\\d+[\\s\\S]*){${rooms}}`), 30_000);
    const ffmpegPids = [...recorder.output().matchAll(/ffmpeg started pid=(\d+)/g)].map((m) => Number(m[1]));
    await sleep(cfg.warmupS * 1_000);
    const pids = [recorder.child.pid, ...ffmpegPids];
    const cpu0 = pids.map(processCpuSeconds);
    const out0 = recorder.output().length;
    const t0 = Date.now();
    await sleep(cfg.windowS * 1_000);
    const secs = (Date.now() - t0) / 1_000;
    const cpu = pids.map((p, i) => (processCpuSeconds(p) - cpu0[i]) / secs);
    // Encoded frames per room over the window, from the per-recording status lines.
    const lines = recorder.output().slice(out0);
    const encoded = names.map((room) => {
      const ms = [
        ...lines.matchAll(new RegExp(`status room=${room} .*? encoded=(\\d+).*? droppedEncoder=(\\d+)`, 'g')),
      ];
      if (ms.length < 2) return { fps: null, dropped: null };
      const first = ms[0];
      const last = ms[ms.length - 1];
      return {
        fps: (Number(last[1]) - Number(first[1])) / (ms.length - 1),
        dropped: Number(last[2]),
      };
    });
    const stopped = [];
    for (const [i, room] of names.entries())
      stopped.push((await request(nc, room, { action: 'stop', id: ids[i] })).recording);
    const load = loadavg()[0];
    const recorderCores = cpu[0];
    const ffmpegCores = cpu.slice(1).reduce((a, b) => a + b, 0);
    return {
      preset,
      rooms,
      load,
      recorderCores,
      ffmpegCores,
      totalCores: recorderCores + ffmpegCores,
      coresPerRecording: (recorderCores + ffmpegCores) / rooms,
      encodedFpsMin: Math.min(...encoded.map((e) => e.fps ?? 0)),
      droppedFrames: encoded.reduce((a, e) => a + (e.dropped ?? 0), 0),
      fileSecondsMin: Math.min(...stopped.map((s) => s.durationMs / 1000)),
      mbPerMinute: stopped.reduce((a, s) => a + s.bytes / (s.durationMs / 60_000), 0) / stopped.length / 1e6,
    };
  } finally {
    for (const s of stops) s();
    await nc.close();
    await recorder.stop();
    unregister();
    rmSync(workDir, { recursive: true, force: true });
  }
}

export async function run({ quick = false } = {}) {
  const cfg = quick ? QUICK : FULL;
  const jpegs = benchJpegs();
  const opus = await makeOpusTonePackets(440, 2);
  const server = await NatsServer.start({ jetstream: true });
  onCleanup(() => server.stop());
  const rows = [];
  try {
    for (const preset of cfg.presets) {
      for (const rooms of preset === 'veryfast' ? cfg.concurrent : [1]) {
        const r = await oneRun(server.url, preset, rooms, cfg, jpegs, opus);
        console.log(
          `  ${preset}, ${rooms} recording(s): recorder ${r.recorderCores.toFixed(2)} + ffmpeg ${r.ffmpegCores.toFixed(2)} cores, ` +
            `${r.encodedFpsMin?.toFixed(1)} fps encoded (min), ${r.droppedFrames} dropped`,
        );
        rows.push(r);
      }
    }
  } finally {
    await server.stop();
  }
  const single = rows.find((r) => r.preset === 'veryfast' && r.rooms === 1);
  const cores = cpus().length;
  return {
    rows,
    goalCores: 1,
    metGoal: single ? single.totalCores <= 1 : null,
    estimatedRecordingsPerMachine: single ? Math.floor((cores * 0.85) / single.coresPerRecording) : null,
    cores,
  };
}

export function renderMarkdown(res) {
  const table = markdownTable(
    res.rows.map((r) => ({
      ...r,
      realTime: r.encodedFpsMin !== null && r.encodedFpsMin >= FPS * 0.95 && r.droppedFrames === 0 ? 'yes' : '**no**',
    })),
    [
      { key: 'preset', title: 'x264 preset' },
      { key: 'rooms', title: 'recordings at once' },
      { key: 'recorderCores', title: 'recorder (node) cores' },
      { key: 'ffmpegCores', title: 'ffmpeg cores (sum)' },
      { key: 'coresPerRecording', title: 'cores per recording' },
      { key: 'encodedFpsMin', title: 'encoded fps (slowest)' },
      { key: 'droppedFrames', title: 'frames dropped' },
      { key: 'realTime', title: 'real time' },
      { key: 'mbPerMinute', title: 'MB per minute' },
      { key: 'load', title: 'load average (1 min)' },
    ],
  );
  return [
    `Each recording: ${CAMERAS} cameras ${JPEG_WIDTH}x${JPEG_HEIGHT}@${FPS} + the room mix, composed on 1280x720 at ${FPS} fps, libx264 + AAC.`,
    '',
    table,
    '',
    `Goal ≤ 1 core per recording (veryfast, the default): **${res.metGoal === null ? 'not measured' : res.metGoal ? 'met' : 'missed'}**. ` +
      `Estimated recordings one ${res.cores}-core machine holds (85 % of its cores ÷ cores per recording): **${res.estimatedRecordingsPerMachine ?? '—'}**.`,
  ].join('\n');
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const res = await run({ quick: process.argv.includes('--quick') });
  console.log(renderMarkdown(res));
}
