import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { NatsConnection } from '@nats-io/transport-node';
import {
  decodeRecordingEvent,
  decodeRecordingReply,
  DEFAULT_RECORDINGS_BUCKET,
  encodeRecordingRequest,
  recSubject,
  type RecordingEvent,
  type RecordingInfo,
  type RecordingReply,
  type RecordingRequest,
} from '@vidchat/protocol';
import { goertzel, requireBinary, sleep, SmallStack, waitFor, type RunningProcess } from '@vidchat/test-support';
import { gridLayout } from '../src/index.js';
import { audioPcm, frameAt, probe, regionStats } from './helpers/media-check.js';
import { downloadRecording, expectRecording, recorderRequest } from './helpers/recorder-client.js';

/*
 * The recorder on a real nats-server with JetStream, two real capture agents
 * (test pattern, tones 440 and 660 Hz), the real mixer and the real
 * recorder with its ffmpeg. Recordings are fetched back from the object
 * store and checked with ffprobe/ffmpeg: streams, length, both tiles in the
 * picture, both tones in the sound.
 */
const ROOM = 'rectest';
const W = 640;
const H = 360;
const STARTUP_MS = 60_000;
const REQUEST_MS = 60_000;

let stack: SmallStack;
let nc: NatsConnection;
let workDir: string;
let outDir: string;
let recorder: RunningProcess;
const agents = new Map<string, RunningProcess>();
const events: RecordingEvent[] = [];

function startRecorder(): RunningProcess {
  return stack.recorder({ workDir, size: `${W}x${H}`, maxRecordings: 2, statusIntervalMs: 2000 });
}

function startAgent(source: string, name: string, tone: number): RunningProcess {
  const agent = stack.agent({ room: ROOM, source, name, audio: 'test', tone, fps: 15 });
  agents.set(source, agent);
  return agent;
}

const request = (room: string, req: RecordingRequest): Promise<RecordingReply> => recorderRequest(nc, room, req);
const ok = expectRecording;
const download = (info: RecordingInfo): Promise<string> => downloadRecording(nc, info, outDir);

async function list(room: string): Promise<RecordingInfo[]> {
  const reply = await request(room, { action: 'list' });
  assert.ok(reply.ok && 'recordings' in reply, JSON.stringify(reply));
  assert.equal(reply.bucket, DEFAULT_RECORDINGS_BUCKET);
  return reply.recordings;
}

before(async () => {
  requireBinary('ffmpeg');
  requireBinary('ffprobe');
  stack = await SmallStack.start({ jetstream: true, connect: true });
  nc = stack.nc;
  nc.subscribe(recSubject(ROOM, 'events'), {
    callback: (err, msg) => {
      if (!err) events.push(decodeRecordingEvent(msg.data));
    },
  });
  workDir = stack.tempDir('vidchat-rec-work-');
  outDir = stack.tempDir('vidchat-rec-out-');
  const mixer = stack.mixer();
  recorder = startRecorder();
  const a = startAgent('cam-a', 'Alice', 440);
  const b = startAgent('cam-b', 'Bob', 660);
  await stack.ready([mixer, recorder, a, b], STARTUP_MS);
});

after(async () => {
  await stack?.stop();
});

test(
  'a 12 s recording of two agents is an H.264 + AAC MP4 of 12 s with both tiles and both tones',
  { timeout: 180_000 },
  async () => {
    const started = ok(await request(ROOM, { action: 'start' }));
    assert.equal(started.state, 'recording');
    assert.equal(started.room, ROOM);
    const listed = await list(ROOM);
    assert.equal(listed.find((r) => r.id === started.id)?.state, 'recording');
    await sleep(12_000);
    const stopped = ok(await request(ROOM, { action: 'stop', id: started.id }));
    assert.equal(stopped.state, 'done', JSON.stringify(stopped));
    assert.ok(Math.abs(stopped.durationMs - 12_000) <= 1_000, `durationMs ${stopped.durationMs}`);

    const stored = (await list(ROOM)).find((r) => r.id === started.id);
    assert.equal(stored?.state, 'done');
    assert.equal(stored?.bytes, stopped.bytes);
    const file = await download(stopped);

    const p = probe(file);
    assert.deepEqual(p.codecs.sort(), ['aac', 'h264']);
    assert.ok(Math.abs(p.durationS - 12) <= 1, `duration ${p.durationS} s`);
    assert.deepEqual([p.width, p.height], [W, H]);

    // The middle frame: both grid cells show a picture (the test pattern is colourful: high variance), not black.
    const frame = frameAt(file, p.durationS / 2, W, H);
    for (const [i, tile] of gridLayout(2, W, H).entries()) {
      const s = regionStats(frame, W, tile.picture);
      assert.ok(
        s.variance > 500 && s.mean > 20,
        `tile ${i}: mean ${s.mean.toFixed(1)} variance ${s.variance.toFixed(0)}`,
      );
    }

    // The sound: both tones, well above a frequency nobody plays.
    const pcm = audioPcm(file, 3, 6);
    const [t440, t660, t1000] = [goertzel(pcm, 440), goertzel(pcm, 660), goertzel(pcm, 1000)];
    assert.ok(t440 > 50 * t1000 && t660 > 50 * t1000, `440: ${t440} 660: ${t660} 1000: ${t1000}`);

    // Viewers hear about it: the events subject carried the start and the end.
    await waitFor(() => events.some((e) => e.recording.id === started.id && e.recording.state === 'done') || null, {
      timeoutMs: 10_000,
      what: 'the done event',
    });
    assert.ok(events.some((e) => e.recording.id === started.id && e.recording.state === 'recording'));
  },
);

test(
  'a source that leaves mid-recording leaves the grid: two tiles, then one filling the canvas',
  { timeout: 180_000 },
  async () => {
    const started = ok(await request(ROOM, { action: 'start' }));
    await sleep(5_000);
    await agents.get('cam-b')!.stop();
    await sleep(6_000);
    const stopped = ok(await request(ROOM, { action: 'stop', id: started.id }));
    assert.equal(stopped.state, 'done');
    const file = await download(stopped);
    const p = probe(file);
    // With two tiles side by side the top band of the canvas is empty; with one tile its picture covers it.
    const topBand = { x: W / 4, y: 10, width: W / 2, height: 30 };
    const early = regionStats(frameAt(file, 2.5, W, H), W, topBand);
    const late = regionStats(frameAt(file, p.durationS - 1, W, H), W, topBand);
    assert.ok(early.mean < 10, `two tiles: top band should be black, mean ${early.mean}`);
    assert.ok(late.variance > 500, `one tile: top band should show the picture, variance ${late.variance}`);
    // Bob's 660 Hz is gone from the end of the sound, Alice's 440 Hz is still there.
    const tail = audioPcm(file, p.durationS - 3, 2.5);
    assert.ok(goertzel(tail, 440) > 20 * goertzel(tail, 660), 'only 440 Hz at the end');
    const b = startAgent('cam-b', 'Bob', 660);
    await stack.ready([b], STARTUP_MS);
  },
);

test('bad rooms, bad bodies, unknown ids and limits give typed errors', { timeout: 120_000 }, async () => {
  // A room token that is not a valid id: the recorder's wildcard catches it and refuses it.
  const bad = await nc.request('vidchat.rec.bad$room.start', encodeRecordingRequest({ action: 'start' }), {
    timeout: REQUEST_MS,
  });
  assert.deepEqual(decodeRecordingReply(bad.data), {
    ok: false,
    error: { code: 'bad-room', message: 'not a recorder request subject: "vidchat.rec.bad$room.start"' },
  });
  const unknown = await request(ROOM, { action: 'stop', id: 'no-such-recording' });
  assert.equal(!unknown.ok && unknown.error.code, 'not-found');
  const garbage = await nc.request(recSubject(ROOM, 'stop'), new TextEncoder().encode('{"v":1,"id":"../x"}'), {
    timeout: REQUEST_MS,
  });
  const g = decodeRecordingReply(garbage.data);
  assert.equal(!g.ok && g.error.code, 'bad-request');

  const first = ok(await request(ROOM, { action: 'start' }));
  const again = await request(ROOM, { action: 'start' });
  assert.equal(!again.ok && again.error.code, 'already-recording');
  const other = ok(await request('other-room', { action: 'start' }));
  const third = await request('third-room', { action: 'start' });
  assert.equal(!third.ok && third.error.code, 'too-many-recordings');
  // A recording that already ended cannot be stopped twice; one of another room is not found here.
  await sleep(2_000);
  ok(await request(ROOM, { action: 'stop', id: first.id }));
  const twice = await request(ROOM, { action: 'stop', id: first.id });
  assert.equal(!twice.ok && twice.error.code, 'not-recording');
  const wrongRoom = await request(ROOM, { action: 'stop', id: other.id });
  assert.equal(!wrongRoom.ok && wrongRoom.error.code, 'not-found');
  ok(await request('other-room', { action: 'stop', id: other.id }));
});

/** The ffmpeg processes the recorder runs now: its children named ffmpeg, from /proc (Linux). */
function recorderFfmpegPids(): number[] {
  const out: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      // `pid (comm) state ppid …`: comm may hold spaces, so parse after its closing parenthesis.
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      const comm = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (comm === 'ffmpeg' && ppid === recorder.child.pid) out.push(Number(name));
    } catch {
      // The process ended while we looked.
    }
  }
  return out;
}

test(
  'an ffmpeg killed mid-recording is restarted: the stored MP4 covers the whole recording, both tiles at the end',
  { timeout: 180_000 },
  async (t) => {
    const started = ok(await request(ROOM, { action: 'start' }));
    const t0 = Date.now();
    await sleep(5_000);
    const [first] = await waitFor(() => (recorderFfmpegPids().length === 1 ? recorderFfmpegPids() : null), {
      timeoutMs: 10_000,
      what: "the recorder's one ffmpeg",
    });
    process.kill(first!, 'SIGKILL');
    const second = await waitFor(() => recorderFfmpegPids().find((p) => p !== first), {
      timeoutMs: 30_000,
      what: 'a new ffmpeg after the kill',
    });
    assert.notEqual(second, first);
    await sleep(6_000);
    const wholeS = (Date.now() - t0) / 1_000;
    const stopped = ok(await request(ROOM, { action: 'stop', id: started.id }));
    assert.equal(stopped.state, 'done', JSON.stringify(stopped));
    const file = await download(stopped);
    const p = probe(file);
    t.diagnostic(`stored ${p.durationS.toFixed(2)} s of a ${wholeS.toFixed(2)} s recording with one ffmpeg restart`);
    assert.deepEqual(p.codecs.sort(), ['aac', 'h264']);
    // Lost: the killed ffmpeg's last unfinished fragment (up to 2 s) and the restart (back-off 0.5 s + start-up).
    assert.ok(
      p.durationS >= wholeS - 5 && p.durationS <= wholeS + 1,
      `duration ${p.durationS} s of a ${wholeS.toFixed(1)} s recording`,
    );
    assert.ok(Math.abs(stopped.durationMs / 1_000 - p.durationS) < 0.5, `reported ${stopped.durationMs} ms`);
    // Pictures from after the restart: both tiles drawn near the end; sound too.
    const frame = frameAt(file, p.durationS - 1, W, H);
    for (const [i, tile] of gridLayout(2, W, H).entries()) {
      const s = regionStats(frame, W, tile.picture);
      assert.ok(s.variance > 500 && s.mean > 20, `tile ${i} at the end: mean ${s.mean} variance ${s.variance}`);
    }
    const tail = audioPcm(file, p.durationS - 3, 2.5);
    assert.ok(goertzel(tail, 440) > 50 * goertzel(tail, 1000), 'the 440 Hz tone after the restart');
    assert.match(recorder.output(), /ffmpeg ended mid-recording: restarting it on a new segment/);
    assert.match(recorder.output(), new RegExp(`segments joined id=${started.id} segments=2`));
    assert.deepEqual(readdirSync(workDir), [], 'no segment left in the work folder');
  },
);

test(
  'a recorder killed mid-recording leaves a playable file, stored by the next recorder',
  { timeout: 180_000 },
  async () => {
    const started = ok(await request(ROOM, { action: 'start' }));
    await sleep(6_000);
    recorder.child.kill('SIGKILL');
    await recorder.exited;
    // ffmpeg sees its inputs close and finishes the fragmented file by itself.
    const part = join(workDir, `${started.id}.part.mp4`);
    const partProbe = await waitFor(
      () => {
        try {
          const p = probe(part);
          return p.durationS >= 3 ? p : null;
        } catch {
          return null;
        }
      },
      { timeoutMs: 30_000, what: 'a playable fragmented file in the work folder' },
    );
    assert.ok(partProbe.codecs.includes('h264'), JSON.stringify(partProbe));

    recorder = startRecorder();
    await stack.ready([recorder], STARTUP_MS);
    const recovered = await waitFor(
      async () => (await list(ROOM)).find((r) => r.id === started.id && r.object !== null) ?? null,
      { timeoutMs: 60_000, what: 'the orphaned recording to be stored' },
    );
    assert.equal(recovered.state, 'failed');
    const p = probe(await download(recovered));
    assert.ok(p.durationS >= 3 && p.durationS <= 8, `recovered duration ${p.durationS}`);
    assert.deepEqual(readdirSync(workDir), [], 'the work folder is empty once the file is stored');
  },
);
