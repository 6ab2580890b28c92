import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import sharp from 'sharp';
import type { NatsConnection } from '@nats-io/transport-node';
import {
  decodeRecordingEvent,
  encodeEnvelope,
  encodePresence,
  mixAudioSubject,
  presenceSubject,
  recSubject,
  videoSubject,
  type RecordingInfo,
  type RecordingRequest,
} from '@vidchat/protocol';
import { makeOpusTonePackets, requireBinary, sleep, SmallStack, type RunningProcess } from '@vidchat/test-support';
import { audioPcm, probe } from './helpers/media-check.js';
import { downloadRecording, expectRecording, recorderRequest } from './helpers/recorder-client.js';

/*
 * Time in recordings: audio/video sync in the file, and --max-duration.
 *
 * Audio/video sync. The test publishes, with exact capture
 * times, a camera that shows black except for a white flash of 120 ms every
 * 2 s, and a room mix that is silent except for a 1 kHz beep at the same
 * capture times (what an agent and the mixer stamp). In the recorded MP4
 * each flash must start within ±80 ms of its beep. With 25 fps the picture
 * can only show a flash at the next frame, so the expected offset is 0–40 ms.
 */
const ROOM = 'avsync';
const FPS = 25;
const W = 320;
const H = 180;
const FLASH_EVERY_MS = 2_000;
const FLASH_MS = 120;
const FIRST_FLASH_MS = 1_000;
const TOLERANCE_MS = 80;

let stack: SmallStack;
let nc: NatsConnection;
let recorder: RunningProcess;
let outDir: string;

const request = async (req: RecordingRequest): Promise<RecordingInfo> =>
  expectRecording(await recorderRequest(nc, ROOM, req));

before(async () => {
  requireBinary('ffmpeg');
  requireBinary('ffprobe');
  stack = await SmallStack.start({ jetstream: true, connect: true });
  nc = stack.nc;
  outDir = stack.tempDir('vidchat-avsync-out-');
  recorder = stack.recorder({ workDir: stack.tempDir('vidchat-avsync-work-'), size: `${W}x${H}`, fps: FPS });
  await stack.ready([recorder]);
});

after(async () => {
  await stack?.stop();
});

/** Onsets (s) where `level` crosses `threshold` upwards after at least `quietS` below it. */
function onsets(level: number[], stepS: number, threshold: number, quietS: number): number[] {
  const out: number[] = [];
  let quiet = quietS;
  for (let i = 0; i < level.length; i++) {
    if (level[i]! > threshold) {
      if (quiet >= quietS) out.push(i * stepS);
      quiet = 0;
    } else quiet += stepS;
  }
  return out;
}

test(
  'each flash of the picture starts within ±80 ms of its beep in the recorded file',
  { timeout: 120_000 },
  async (t) => {
    const black = await sharp({ create: { width: 160, height: 90, channels: 3, background: { r: 0, g: 0, b: 0 } } })
      .jpeg()
      .toBuffer();
    const white = await sharp({
      create: { width: 160, height: 90, channels: 3, background: { r: 255, g: 255, b: 255 } },
    })
      .jpeg()
      .toBuffer();
    // Packets from the middle of a steady tone: the encoder's start-up ramp is left out.
    const beep = (await makeOpusTonePackets(1_000, 1)).slice(10, 10 + FLASH_MS / 20);
    const presence = (type: 'join' | 'heartbeat'): void =>
      nc.publish(
        presenceSubject(ROOM, 'flash'),
        encodePresence({
          v: 1,
          type,
          room: ROOM,
          source: 'flash',
          name: 'Flash',
          ts: Date.now(),
          video: { codec: 'jpeg', width: 160, height: 90, fps: FPS },
          audio: null,
        }),
      );
    presence('join');
    const heartbeat = setInterval(() => presence('heartbeat'), 1_000);
    await sleep(500);

    const started = await request({ action: 'start' });
    const originMs = Date.now() + 200;
    const inFlash = (tMs: number): number => {
      const rel = tMs - originMs - FIRST_FLASH_MS;
      return rel >= 0 && rel % FLASH_EVERY_MS < FLASH_MS ? Math.floor((rel % FLASH_EVERY_MS) / 20) : -1;
    };
    // Frames every 40 ms and mix packets every 20 ms, each stamped with its scheduled capture time.
    let frame = 0;
    let packet = 0;
    const pump = setInterval(() => {
      const now = Date.now();
      while (originMs + frame * (1_000 / FPS) <= now) {
        const t = originMs + frame * (1_000 / FPS);
        nc.publish(
          videoSubject(ROOM, 'flash'),
          encodeEnvelope({
            kind: 'video',
            source: 'flash',
            seq: frame,
            captureTimeUs: Math.round(t * 1_000),
            width: 160,
            height: 90,
            codec: 'jpeg',
            layer: 0,
            payload: inFlash(t) >= 0 ? white : black,
          }),
        );
        frame++;
      }
      while (originMs + packet * 20 <= now) {
        const t = originMs + packet * 20;
        const k = inFlash(t);
        if (k >= 0) {
          nc.publish(
            mixAudioSubject(ROOM),
            encodeEnvelope({
              kind: 'mixedAudio',
              source: '',
              seq: packet,
              captureTimeUs: Math.round(t * 1_000),
              codec: 'opus',
              sampleRate: 48_000,
              channels: 1,
              durationUs: 20_000,
              payload: beep[k]!,
            }),
          );
        }
        packet++;
      }
    }, 5);
    await sleep(FIRST_FLASH_MS + 4 * FLASH_EVERY_MS + 500);
    clearInterval(pump);
    clearInterval(heartbeat);
    const done = await request({ action: 'stop', id: started.id });
    assert.equal(done.state, 'done');
    const file = await downloadRecording(nc, done, outDir);
    const p = probe(file);

    // Picture: mean brightness of every frame, 8x4 pixels each.
    const gray = execFileSync(
      requireBinary('ffmpeg'),
      ['-v', 'error', '-i', file, '-vf', 'scale=8:4,format=gray', '-f', 'rawvideo', 'pipe:1'],
      { maxBuffer: 64 * 1024 * 1024 },
    );
    const brightness: number[] = [];
    for (let i = 0; i + 32 <= gray.length; i += 32)
      brightness.push(gray.subarray(i, i + 32).reduce((a, b) => a + b, 0) / 32);
    const flashes = onsets(brightness, 1 / FPS, 128, 0.5);

    // Sound: RMS over 5 ms windows.
    const pcm = audioPcm(file, 0, p.durationS);
    const win = 240;
    const rms: number[] = [];
    for (let i = 0; i + win <= pcm.length; i += win) {
      let s = 0;
      for (let j = i; j < i + win; j++) s += pcm[j]! * pcm[j]!;
      rms.push(Math.sqrt(s / win));
    }
    const beeps = onsets(rms, win / 48_000, 0.05, 0.5);

    assert.ok(flashes.length >= 3, `flashes seen at ${flashes.map((x) => x.toFixed(3)).join(', ')}`);
    assert.ok(beeps.length >= 3, `beeps heard at ${beeps.map((x) => x.toFixed(3)).join(', ')}`);
    const offsets = flashes.map((f) => {
      const nearest = beeps.reduce((a, b) => (Math.abs(b - f) < Math.abs(a - f) ? b : a));
      return Math.round((f - nearest) * 1_000);
    });
    t.diagnostic(`A/V offsets (video − audio, ms): ${offsets.join(', ')}`);
    for (const o of offsets)
      assert.ok(Math.abs(o) <= TOLERANCE_MS, `A/V offsets (video − audio, ms): ${offsets.join(', ')}`);
  },
);

test('a recording that reaches --max-duration stops itself, is stored and announced', { timeout: 90_000 }, async () => {
  const room = 'maxdur';
  // Recorders answer in one queue group: with the suite's recorder still up,
  // the start request could go to it (no --max-duration) instead of this one.
  await recorder.stop();
  const short = stack.recorder({
    workDir: stack.tempDir('vidchat-maxdur-work-'),
    size: `${W}x${H}`,
    args: ['--max-duration', '2'],
  });
  const ended = new Promise<RecordingInfo>((resolve) => {
    nc.subscribe(recSubject(room, 'events'), {
      callback: (err, msg) => {
        if (err) return;
        const ev = decodeRecordingEvent(msg.data);
        if (ev.recording.state !== 'recording') resolve(ev.recording);
      },
    });
  });
  try {
    await stack.ready([short]);
    const started = expectRecording(await recorderRequest(nc, room, { action: 'start' }));
    const info = await Promise.race([ended, sleep(60_000).then(() => null)]);
    assert.ok(info, `no end event:\n${short.output()}`);
    assert.equal(info.id, started.id);
    assert.equal(info.state, 'done');
    assert.ok(info.object !== null && info.bytes > 0);
    assert.ok(Math.abs(info.durationMs - 2_000) <= 700, `durationMs ${info.durationMs}`);
    const stopAgain = await recorderRequest(nc, room, { action: 'stop', id: started.id });
    assert.equal(!stopAgain.ok && stopAgain.error.code, 'not-recording');
  } finally {
    await short.stop();
  }
});
