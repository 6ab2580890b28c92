import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { jetstream } from '@nats-io/jetstream';
import { Kvm, type KV } from '@nats-io/kv';
import {
  decodeRecorderLock,
  RECORDER_LOCK_BUCKET,
  recorderLockKey,
  type RecordingInfo,
  type RecordingReply,
  type RecordingRequest,
} from '@vidchat/protocol';
import {
  requireBinary,
  sleep,
  startApp,
  startNatsFixture,
  type NatsFixture,
  type RunningProcess,
} from '@vidchat/test-support';
import { expectRecording, recorderRequest } from './helpers/recorder-client.js';

/*
 * The room lock across recorders, on a real nats-server with JetStream and
 * two real recorders (each allowed several recordings, so that nothing but
 * the lock stops a second start of a room): many starts of one room sent at
 * once, which the queue group spreads over both recorders (10 requests all
 * landing on one recorder is 1 in 512), give exactly one recording; the
 * others answer `already-recording`. Without the lock both recorders started
 * the room (each checked its peers, then started). Then a recorder killed
 * while recording: its lock holds for the TTL, then lapses, and a start on
 * the survivor takes the room over.
 */
const PARALLEL = 10;
const ROUNDS = 4;
/** Short enough for the test, long enough that "still locked right after the kill" is no narrow window. */
const LOCK_TTL_MS = 10_000;

let fixture: NatsFixture;
let nc: NatsConnection;
let kv: KV;
const recorders: RunningProcess[] = [];
const workDirs: string[] = [];

const request = (room: string, req: RecordingRequest): Promise<RecordingReply> => recorderRequest(nc, room, req);
const code = (reply: RecordingReply): string => (reply.ok ? 'ok' : reply.error.code);

function startRecorder(i: number): RunningProcess {
  const workDir = mkdtempSync(join(tmpdir(), `vidchat-reclock-work${i}-`));
  workDirs.push(workDir);
  return startApp('recorder', [
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
    '4',
    '--lock-ttl-ms',
    String(LOCK_TTL_MS),
    '--status-interval-ms',
    '0',
  ]);
}

/** Indexes of the recorders that logged a start of `room`. */
const startedOn = (room: string): number[] =>
  recorders.map((r, i) => (r.output().includes(`recording started room=${room} `) ? i : -1)).filter((i) => i >= 0);

async function lockOf(room: string): Promise<{ owner: string; recording: string } | null> {
  const e = await kv.get(recorderLockKey(room)!);
  return e && e.operation === 'PUT' ? decodeRecorderLock(e.value) : null;
}

before(async () => {
  requireBinary('ffmpeg');
  requireBinary('ffprobe');
  fixture = await startNatsFixture({ jetstream: true });
  nc = await connect({ servers: fixture.url });
  for (let i = 0; i < 2; i++) recorders.push(startRecorder(i));
  await Promise.all(recorders.map((r) => r.waitForOutput(/\[main\] ready/, 60_000)));
  kv = await new Kvm(jetstream(nc, { timeout: 20_000 })).open(RECORDER_LOCK_BUCKET);
});

after(async () => {
  await Promise.allSettled(recorders.map((r) => r.stop()));
  await nc?.close();
  await fixture?.stop();
  for (const d of workDirs) rmSync(d, { recursive: true, force: true });
});

test(`${PARALLEL} simultaneous starts of one room on two recorders record it once`, { timeout: 300_000 }, async (t) => {
  for (let round = 0; round < ROUNDS; round++) {
    const room = `race-${round}`;
    const replies = await Promise.all(Array.from({ length: PARALLEL }, () => request(room, { action: 'start' })));
    const codes = replies.map(code);
    t.diagnostic(`${room}: ${codes.join(' ')}`);
    assert.equal(codes.filter((c) => c === 'ok').length, 1, `exactly one start wins: ${JSON.stringify(replies)}`);
    assert.equal(codes.filter((c) => c === 'already-recording').length, PARALLEL - 1, codes.join(' '));
    const won = expectRecording(replies.find((r) => r.ok)!);
    assert.equal(startedOn(room).length, 1, `one recorder started ${room}`);

    // The lock names the recording; the room's list shows exactly one in progress.
    assert.equal((await lockOf(room))?.recording, won.id);
    const listed = await request(room, { action: 'list' });
    assert.ok(listed.ok && 'recordings' in listed, JSON.stringify(listed));
    assert.deepEqual(
      listed.recordings.filter((r) => r.state === 'recording').map((r) => r.id),
      [won.id],
    );
    // Once recording, later starts still answer `already-recording`, on whichever recorder they land.
    for (let i = 0; i < 4; i++) assert.equal(code(await request(room, { action: 'start' })), 'already-recording');

    await sleep(1_500);
    const stopped = expectRecording(await request(room, { action: 'stop', id: won.id }));
    assert.equal(stopped.state, 'done', JSON.stringify(stopped));
    // Stopping releases the lock: the room can be recorded again at once.
    assert.equal(await lockOf(room), null, 'the lock is deleted at stop');
  }
  const again = expectRecording(await request('race-0', { action: 'start' }));
  await sleep(1_000);
  assert.equal(expectRecording(await request('race-0', { action: 'stop', id: again.id })).state, 'done');
});

test('a recorder killed while recording gives its room up after the lock TTL', { timeout: 180_000 }, async (t) => {
  const room = 'killed';
  const first = expectRecording(await request(room, { action: 'start' }));
  const [victim] = startedOn(room);
  assert.ok(victim !== undefined, 'a recorder started the room');
  // Long enough for a few renewals (every TTL/4) to be written.
  await sleep(LOCK_TTL_MS / 2);
  const renewedBy = (await lockOf(room))?.owner;
  assert.ok(renewedBy, 'the lock is held while recording');
  const killedAt = Date.now();
  recorders[victim]!.child.kill('SIGKILL');
  await recorders[victim]!.exited;

  // Right after the kill the lock still holds: the survivor does not start the room a second time.
  assert.equal(code(await request(room, { action: 'start' })), 'already-recording');

  // Then it lapses (unchanged for a TTL on the survivor's clock) and a start takes the room over.
  let next: RecordingInfo | null = null;
  const refused: string[] = [];
  const deadline = Date.now() + 120_000;
  while (!next) {
    const reply = await request(room, { action: 'start' });
    if (reply.ok && 'recording' in reply) next = reply.recording;
    else {
      refused.push(code(reply));
      assert.ok(Date.now() < deadline, `no start succeeded within 120 s of the kill: ${refused.join(' ')}`);
      await sleep(500);
    }
  }
  assert.deepEqual(new Set(refused), new Set(['already-recording']), 'until then the room is already recording');
  const tookMs = Date.now() - killedAt;
  t.diagnostic(`room taken over ${tookMs} ms after the kill (lock TTL ${LOCK_TTL_MS} ms)`);
  const survivor = recorders[1 - victim]!;
  assert.match(survivor.output(), /lapsed room lock taken over/);
  const taken = (await lockOf(room))!;
  assert.equal(taken.recording, next.id);
  assert.notEqual(taken.owner, renewedBy);
  assert.notEqual(next.id, first.id);
  await sleep(1_000);
  assert.equal(expectRecording(await request(room, { action: 'stop', id: next.id })).state, 'done');
  assert.equal(await lockOf(room), null);
});
