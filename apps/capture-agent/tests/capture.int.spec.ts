import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { OpusDecoder } from 'opus-decoder';
import { goertzel, requireBinary, sleep, waitFor, type RunningProcess } from '@vidchat/test-support';
import { jpegSize, AgentRun, RoomRecorder } from './support/agent-harness.js';
import { PRESENCE_TIMEOUT_MS } from '@vidchat/protocol';

/*
 * The agent with its test sources against a real nats-server and real
 * ffmpeg: what a gateway and a mixer will receive.
 */

/**
 * Stamped before arrival and near the wall clock; generous, since a stalled
 * 2-core machine has delayed a burst of deliveries by over a second.
 */
const MAX_LAG_US = 5_000_000;
describe('capture agent with test sources', { timeout: 60_000 }, () => {
  let run: AgentRun;
  let recorder: RoomRecorder;
  let agent: RunningProcess;
  const room = 'agent-int';
  const measureMs = 4_000;
  let windowStart = 0;
  let windowEnd = 0;

  before(async () => {
    requireBinary('ffmpeg');
    requireBinary('ffprobe');
    run = await AgentRun.start(room, 'cam1', [
      '--name',
      'Test Cam',
      '--video',
      'test',
      '--size',
      '320x240',
      '--fps',
      '10',
      '--audio',
      'test',
      '--tone',
      '440',
    ]);
    ({ recorder, agent } = run);
    await waitFor(() => recorder.video.length > 5 && recorder.audio.length > 25, {
      timeoutMs: 15_000,
      what: 'media from the agent',
    });
    windowStart = Date.now();
    await sleep(measureMs);
    windowEnd = Date.now();
  });

  after(async () => {
    await run?.stop();
  });

  it('publishes valid JPEGs of the asked size at the asked rate', () => {
    assert.deepEqual(recorder.errors, []);
    // The rate by the frames' own capture times (ffmpeg's clock): arrival
    // times on a loaded machine bunch up and would measure the machine.
    const inWindow = recorder.video.filter((r) => r.at >= windowStart && r.at < windowEnd);
    assert.ok(inWindow.length >= 10, `${inWindow.length} frames in the window`);
    const spanUs = inWindow[inWindow.length - 1]!.msg.captureTimeUs - inWindow[0]!.msg.captureTimeUs;
    const fps = (inWindow.length - 1) / (spanUs / 1e6);
    assert.ok(fps >= 8 && fps <= 12, `fps ${fps}`);
    for (const { msg } of recorder.video) {
      assert.equal(msg.kind, 'video');
      if (msg.kind !== 'video') continue;
      assert.equal(msg.source, 'cam1');
      assert.deepEqual([msg.width, msg.height], [320, 240]);
      const p = msg.payload;
      assert.deepEqual([p[0], p[1], p[p.length - 2], p[p.length - 1]], [0xff, 0xd8, 0xff, 0xd9]);
      assert.deepEqual(jpegSize(p), { width: 320, height: 240 });
    }
    // Sequence numbers count up by one; capture times never go backwards.
    for (let i = 1; i < recorder.video.length; i++) {
      assert.equal(recorder.video[i]!.msg.seq, recorder.video[i - 1]!.msg.seq + 1);
      assert.ok(recorder.video[i]!.msg.captureTimeUs >= recorder.video[i - 1]!.msg.captureTimeUs);
    }
    const now = Date.now() * 1000;
    const last = recorder.video[recorder.video.length - 1]!.msg.captureTimeUs;
    assert.ok(Math.abs(now - last) < 10_000_000, 'capture time is µs since the epoch');
  });

  it('publishes frames that ffprobe decodes at the asked size', () => {
    const dir = mkdtempSync(join(tmpdir(), 'vidchat-agent-frame-'));
    try {
      const file = join(dir, 'frame.jpg');
      writeFileSync(file, recorder.video[recorder.video.length - 1]!.msg.payload);
      const r = spawnSync(
        requireBinary('ffprobe'),
        [
          '-v',
          'error',
          '-select_streams',
          'v:0',
          '-show_entries',
          'stream=codec_name,width,height',
          '-of',
          'csv=p=0',
          file,
        ],
        { encoding: 'utf8' },
      );
      assert.equal(r.status, 0, r.stderr);
      assert.equal(r.stdout.trim(), 'mjpeg,320,240');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('publishes 20 ms Opus packets at 50 per second that decode to a 440 Hz tone', async () => {
    const inWindow = recorder.audio.filter((r) => r.at >= windowStart && r.at < windowEnd);
    // 50/s exactly is the 20 ms spacing of the capture times (tested above);
    // arrivals on a loaded machine only have to rule out a halved or doubled stream.
    const rate = inWindow.length / ((windowEnd - windowStart) / 1000);
    assert.ok(rate >= 30 && rate <= 70, `packets/s ${rate}`);
    const decoder = new OpusDecoder({ channels: 1 });
    await decoder.ready;
    const chunks: Float32Array[] = [];
    for (const { msg } of recorder.audio) {
      assert.equal(msg.kind, 'audio');
      if (msg.kind !== 'audio') continue;
      assert.deepEqual([msg.codec, msg.sampleRate, msg.channels, msg.durationUs], ['opus', 48000, 1, 20_000]);
      const out = decoder.decodeFrame(msg.payload);
      assert.equal(out.errors.length, 0);
      assert.equal(out.samplesDecoded, 960);
      chunks.push(out.channelData[0]!);
    }
    decoder.free();
    // Skip the first packets (encoder warm-up), then compare tone power at nearby frequencies.
    const samples = Float32Array.from(chunks.slice(10).flatMap((c) => Array.from(c)));
    const at440 = goertzel(samples, 440);
    for (const other of [220, 400, 480, 880, 1000]) {
      assert.ok(at440 > 20 * goertzel(samples, other), `440 Hz dominates ${other} Hz`);
    }
    for (let i = 1; i < recorder.audio.length; i++) {
      assert.equal(recorder.audio[i]!.msg.seq, recorder.audio[i - 1]!.msg.seq + 1);
    }
  });

  it('stamps test-pattern frames with the time ffmpeg generated them: 100 ms apart at 10 fps, before arrival', () => {
    const v = recorder.video;
    const gaps: number[] = [];
    for (let i = 0; i < v.length; i++) {
      const t = v[i]!.msg.captureTimeUs;
      if (i > 0) gaps.push(t - v[i - 1]!.msg.captureTimeUs);
      const lag = v[i]!.at * 1_000 - t;
      assert.ok(lag > -5_000 && lag < MAX_LAG_US, `frame ${i} arrived ${lag} µs after capture`);
    }
    // Never backwards. Equal stamps are honest: a starved ffmpeg generates
    // the frames it owes in the same millisecond.
    assert.ok(
      gaps.every((g) => g >= 0),
      `capture times go backwards: smallest gap ${Math.min(...gaps)} µs`,
    );
    // -re paces the generator, so frames are about 1/fps apart; ms resolution, and a loaded machine.
    const sorted = [...gaps].sort((x, y) => x - y);
    const median = sorted[Math.floor(sorted.length / 2)]!;
    assert.ok(median >= 90_000 && median <= 110_000, `median spacing ${median} µs`);
  });

  it("stamps audio from ffmpeg's sample clock: 20 ms apart exactly, before arrival, close to it", () => {
    const a = recorder.audio;
    const lags: number[] = [];
    for (let i = 0; i < a.length; i++) {
      const t = a[i]!.msg.captureTimeUs;
      if (i > 0) assert.ok(Math.abs(t - a[i - 1]!.msg.captureTimeUs - 20_000) <= 1, `packet ${i} spacing`);
      // Capture precedes arrival (same host clock), by ffmpeg's pipeline: generous bound for a loaded machine.
      const lag = a[i]!.at * 1_000 - t;
      assert.ok(lag > -5_000 && lag < MAX_LAG_US, `packet ${i} arrived ${lag} µs after capture`);
      lags.push(lag);
    }
    // The stamp is the first sample, so a 20 ms packet is at least 20 ms old when it leaves ffmpeg.
    const sorted = lags.sort((x, y) => x - y);
    assert.ok(
      sorted[Math.floor(sorted.length / 2)]! >= 15_000,
      `median lag ${sorted[Math.floor(sorted.length / 2)]} µs`,
    );
  });

  it('announces itself with join, then a heartbeat each second with its metadata', () => {
    const p = recorder.presence;
    assert.equal(p[0]?.msg.type, 'join');
    const beats = p.filter((r) => r.msg.type === 'heartbeat');
    assert.ok(beats.length >= 4, `${beats.length} heartbeats`);
    // What matters is that no gap reaches the presence timeout; the median
    // says the period is a second, whatever a loaded machine does to one beat.
    const gaps = beats.slice(1).map((b, i) => b.at - beats[i]!.at);
    const median = [...gaps].sort((x, y) => x - y)[Math.floor(gaps.length / 2)]!;
    assert.ok(median > 800 && median < 1_200, `median heartbeat gap ${median} ms`);
    for (const gap of gaps) {
      assert.ok(gap < PRESENCE_TIMEOUT_MS, `heartbeat gap ${gap} ms reaches the presence timeout`);
    }
    const m = beats[beats.length - 1]!.msg;
    assert.equal(m.room, room);
    assert.equal(m.source, 'cam1');
    assert.equal(m.name, 'Test Cam');
    assert.deepEqual(m.video, { codec: 'jpeg', width: 320, height: 240, fps: 10 });
    assert.deepEqual(m.audio, { codec: 'opus', sampleRate: 48000, channels: 1, frameDurationMs: 20 });
    // Without --listen the agent says so: the mixer publishes no mix-minus for it.
    assert.equal(m.kind, 'agent');
    assert.equal(m.listens, false);
  });

  it('prints a status line with the rates at info', () => {
    assert.match(
      agent.output(),
      /\[status\] status fps=\d+(\.\d)? videoKbps=\d+ .*packetsPerSec=\d+(\.\d)? .*nats=connected natsNode=\S+/,
    );
  });

  it('says leave and exits 0 on SIGTERM, leaving no ffmpeg behind', async () => {
    const pids = [...agent.output().matchAll(/ffmpeg started track=\w+ pid=(\d+)/g)].map((m) => Number(m[1]));
    // Two tracks; a loaded machine may have made the agent restart one of them.
    assert.ok(pids.length >= 2, `${pids.length} ffmpeg started`);
    agent.child.kill('SIGTERM');
    const exit = await agent.exited;
    assert.equal(exit.code, 0, agent.output().slice(-2000));
    await waitFor(() => recorder.presence.some((r) => r.msg.type === 'leave'), { timeoutMs: 3_000, what: 'leave' });
    for (const pid of pids) {
      assert.throws(() => process.kill(pid, 0), 'ffmpeg is gone');
    }
  });
});
