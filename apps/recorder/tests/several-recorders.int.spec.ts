import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import {
  decodeRecordingEvent,
  recWildcards,
  type RecordingEvent,
  type RecordingInfo,
  type RecordingReply,
  type RecordingRequest,
} from '@vidchat/protocol';
import {
  requireBinary,
  sleep,
  startApp,
  startNatsFixture,
  waitFor,
  type NatsFixture,
  type RunningProcess,
} from '@vidchat/test-support';
import { probe } from './helpers/media-check.js';
import { downloadRecording, expectRecording, recorderRequest } from './helpers/recorder-client.js';

/*
 * Two recorders on one real nats-server with JetStream, each allowed one
 * recording (`--max-recordings 1`), so that two rooms recorded at once are
 * necessarily on different recorders. Every request goes to whichever
 * recorder NATS picks in the queue group; each kind is sent several times,
 * so that a request that only works when it lands on the right recorder
 * fails this test (with two recorders, 8 lists all landing right by chance
 * is 1 in 256).
 */
const ROOMS = ['room-a', 'room-b'];
const TRIES = 8;

let fixture: NatsFixture;
let nc: NatsConnection;
const recorders: RunningProcess[] = [];
const workDirs: string[] = [];
let outDir: string;
const events: RecordingEvent[] = [];

const request = (room: string, req: RecordingRequest): Promise<RecordingReply> => recorderRequest(nc, room, req);

function errorCode(reply: RecordingReply): string {
  return reply.ok ? 'ok' : reply.error.code;
}

async function listed(room: string): Promise<RecordingInfo[]> {
  const reply = await request(room, { action: 'list' });
  assert.ok(reply.ok && 'recordings' in reply, JSON.stringify(reply));
  return reply.recordings;
}

before(async () => {
  requireBinary('ffmpeg');
  requireBinary('ffprobe');
  fixture = await startNatsFixture({ jetstream: true });
  nc = await connect({ servers: fixture.url });
  nc.subscribe(recWildcards.allRooms('events'), {
    callback: (err, msg) => {
      if (!err) events.push(decodeRecordingEvent(msg.data));
    },
  });
  outDir = mkdtempSync(join(tmpdir(), 'vidchat-recs-out-'));
  for (let i = 0; i < 2; i++) {
    const workDir = mkdtempSync(join(tmpdir(), `vidchat-recs-work${i}-`));
    workDirs.push(workDir);
    recorders.push(
      startApp('recorder', [
        '--nats',
        fixture.url,
        '--work-dir',
        workDir,
        '--size',
        '320x180',
        '--fps',
        '5',
        '--preset',
        'ultrafast',
        '--max-recordings',
        '1',
        '--status-interval-ms',
        '0',
      ]),
    );
  }
  await Promise.all(recorders.map((r) => r.waitForOutput(/\[main\] ready/, 60_000)));
});

after(async () => {
  await Promise.allSettled(recorders.map((r) => r.stop()));
  await nc?.close();
  await fixture?.stop();
  for (const d of [...workDirs, outDir]) if (d) rmSync(d, { recursive: true, force: true });
});

test(
  'two recorders record two rooms at once; stops, lists and repeated starts reach the right one',
  { timeout: 240_000 },
  async () => {
    const started = new Map<string, RecordingInfo>();
    for (const room of ROOMS) started.set(room, expectRecording(await request(room, { action: 'start' })));

    // One room on each recorder (each may hold one): the second start reached the recorder with room.
    const owner = (room: string): number[] =>
      recorders.map((r, i) => (r.output().includes(`recording started room=${room} `) ? i : -1)).filter((i) => i >= 0);
    const owners = ROOMS.map(owner);
    assert.deepEqual(
      owners.map((o) => o.length),
      [1, 1],
      `each room started once: ${JSON.stringify(owners)}`,
    );
    assert.notEqual(owners[0]![0], owners[1]![0], 'the two rooms are on different recorders');

    for (let i = 0; i < TRIES; i++) {
      for (const room of ROOMS) {
        // A room recorded anywhere is not started again, whichever recorder the start lands on.
        assert.equal(errorCode(await request(room, { action: 'start' })), 'already-recording', room);
        // The list shows the recording in progress, whichever recorder answers.
        const entry = (await listed(room)).find((r) => r.id === started.get(room)!.id);
        assert.equal(entry?.state, 'recording', `${room} try ${i}: ${JSON.stringify(entry)}`);
      }
      // Both are full: a third room is refused, not started twice somewhere.
      assert.equal(errorCode(await request('room-c', { action: 'start' })), 'too-many-recordings');
    }
    await sleep(3_000);

    const stopped = await Promise.all(
      ROOMS.map(async (room) => {
        const info = expectRecording(await request(room, { action: 'stop', id: started.get(room)!.id }));
        assert.equal(info.state, 'done', JSON.stringify(info));
        return info;
      }),
    );
    for (const info of stopped) {
      // Stopped twice: the recording has ended, whichever recorder answers.
      for (let i = 0; i < TRIES / 2; i++) {
        assert.equal(errorCode(await request(info.room, { action: 'stop', id: info.id })), 'not-recording');
      }
      const p = probe(await downloadRecording(nc, info, outDir));
      assert.deepEqual(p.codecs.sort(), ['aac', 'h264']);
      assert.ok(p.durationS > 2, `duration ${p.durationS}`);
      assert.equal((await listed(info.room)).find((r) => r.id === info.id)?.state, 'done');
      await waitFor(() => events.some((e) => e.recording.id === info.id && e.recording.state === 'done'), {
        timeoutMs: 10_000,
        what: `the done event of ${info.room}`,
      });
    }
    // Capacity is back: a new room starts on either recorder, and is stopped through either.
    const c = expectRecording(await request('room-c', { action: 'start' }));
    await sleep(1_500);
    assert.equal(expectRecording(await request('room-c', { action: 'stop', id: c.id })).state, 'done');
    for (const d of workDirs) assert.deepEqual(readdirSync(d), [], `work folder ${d} is empty`);
  },
);
