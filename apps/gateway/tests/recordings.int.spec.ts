import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  parseHttpError,
  parseRecordingListResponse,
  parseRecordingStartResponse,
  parseRecordingStopResponse,
  type RecordingListItem,
} from '@vidchat/protocol';
import { requireBinary, SmallStack, waitFor, type RunningProcess } from '@vidchat/test-support';
import { createGateway, defaultConfig, mintViewerToken, type RunningGateway } from '../src/index.js';
import { isType, TestViewer } from './helpers.js';

/*
 * The recording routes end to end: a real nats-server with JetStream, a real
 * capture agent (test pattern), the real recorder with its ffmpeg, and the
 * gateway in-process. Start, the `recording` WebSocket message, list, stop,
 * download (whole and ranges) from the object store, and the error answers.
 */
const ROOM = 'recgw';
const STARTUP_MS = 60_000;
/** `stop` answers once the file is remuxed and stored: slow on a loaded machine. */
const STOP_MS = 90_000;
const SECRET = 'recordings-test-secret-of-at-least-32-bytes!';

let stack: SmallStack;
let gw: RunningGateway;
let base: string;
let recorder: RunningProcess | null = null;
let agent: RunningProcess;
let workDir: string;
const viewers: TestViewer[] = [];

async function errorOf(res: Response): Promise<string> {
  return parseHttpError(await res.json()).error;
}

function startRecorder(): RunningProcess {
  return stack.recorder({ workDir });
}

describe('recordings over the gateway (real NATS JetStream, recorder, agent)', { timeout: 300_000 }, () => {
  before(async () => {
    requireBinary('ffmpeg');
    requireBinary('ffprobe');
    stack = await SmallStack.start({ jetstream: true });
    workDir = stack.tempDir('vidchat-recgw-');
    agent = stack.agent({ room: ROOM, source: 'cam1', fps: 10 });
    gw = await createGateway(defaultConfig({ nats: stack.url, port: 0, host: '127.0.0.1' }));
    await gw.natsReady;
    base = `http://127.0.0.1:${gw.port}`;
    await stack.ready([agent], STARTUP_MS);
  });

  after(async () => {
    for (const v of viewers) v.close();
    await gw?.close();
    await stack?.stop();
  });

  it('answers 503 recorder-unavailable while no recorder runs', async () => {
    const res = await fetch(`${base}/api/rooms/${ROOM}/recordings`, { method: 'POST' });
    assert.equal(res.status, 503);
    assert.equal(await errorOf(res), 'recorder-unavailable');
    const list = await fetch(`${base}/api/rooms/${ROOM}/recordings`);
    assert.equal(list.status, 503);
  });

  it('records: start, the recording message, list, stop, download whole and in ranges', async () => {
    recorder = startRecorder();
    await stack.ready([recorder], STARTUP_MS);
    const viewer = await TestViewer.open(gw.port);
    viewers.push(viewer);
    await viewer.join(ROOM);

    const started = await fetch(`${base}/api/rooms/${ROOM}/recordings`, { method: 'POST' });
    assert.equal(started.status, 201, await started.clone().text());
    const rec = parseRecordingStartResponse(await started.json());
    assert.equal(rec.room, ROOM);
    assert.equal(rec.state, 'recording');

    const ev = await viewer.waitEvent(
      isType('recording', (e) => e.id === rec.id && e.state === 'recording'),
      30_000,
    );
    assert.equal(ev.startedAt, rec.startedAt);

    // A viewer joining now is told right after its roster.
    const late = await TestViewer.open(gw.port);
    viewers.push(late);
    await late.join(ROOM);
    await late.waitEvent(
      isType('recording', (e) => e.id === rec.id && e.state === 'recording'),
      30_000,
    );

    // A gateway that never saw the start learns it from the recorder's list when its first viewer joins.
    const other = await createGateway(defaultConfig({ nats: stack.url, port: 0, host: '127.0.0.1' }));
    try {
      await other.natsReady;
      const fresh = await TestViewer.open(other.port);
      viewers.push(fresh);
      await fresh.join(ROOM);
      const told = await fresh.waitEvent(
        isType('recording', (e) => e.id === rec.id),
        30_000,
      );
      assert.equal(told.state, 'recording');
      assert.equal(told.startedAt, rec.startedAt);
      fresh.close();
    } finally {
      await other.close();
    }

    const again = await fetch(`${base}/api/rooms/${ROOM}/recordings`, { method: 'POST' });
    assert.equal(again.status, 409);
    assert.equal(await errorOf(again), 'already-recording');

    const during = parseRecordingListResponse(await (await fetch(`${base}/api/rooms/${ROOM}/recordings`)).json());
    const live = during.find((r) => r.id === rec.id);
    assert.equal(live?.state, 'recording');
    assert.equal(live?.url, null);

    // Long enough for a few seconds of video, however loaded the machine.
    await waitFor(
      async () => {
        const l = parseRecordingListResponse(await (await fetch(`${base}/api/rooms/${ROOM}/recordings`)).json());
        return (l.find((r) => r.id === rec.id)?.durationMs ?? 0) >= 3_000;
      },
      { timeoutMs: 60_000, intervalMs: 500, what: '3 s recorded' },
    ).catch(() => undefined);

    const stopped = await fetch(`${base}/api/rooms/${ROOM}/recordings/${rec.id}/stop`, {
      method: 'POST',
      signal: AbortSignal.timeout(STOP_MS),
    });
    assert.equal(stopped.status, 200, await stopped.clone().text());
    assert.deepEqual(parseRecordingStopResponse(await stopped.json()), { id: rec.id, state: 'done' });
    await viewer.waitEvent(
      isType('recording', (e) => e.id === rec.id && e.state === 'done'),
      30_000,
    );

    const list = parseRecordingListResponse(await (await fetch(`${base}/api/rooms/${ROOM}/recordings`)).json());
    const done = list.find((r) => r.id === rec.id) as RecordingListItem;
    assert.equal(done.state, 'done');
    assert.equal(done.url, `/api/rooms/${ROOM}/recordings/${rec.id}.mp4`);
    assert.ok(done.bytes > 0);

    const whole = await fetch(`${base}${done.url}`);
    assert.equal(whole.status, 200);
    assert.equal(whole.headers.get('content-type'), 'video/mp4');
    assert.equal(whole.headers.get('accept-ranges'), 'bytes');
    const file = Buffer.from(await whole.arrayBuffer());
    assert.equal(file.length, done.bytes);
    assert.equal(Number(whole.headers.get('content-length')), file.length);
    assert.equal(file.subarray(4, 8).toString('latin1'), 'ftyp');
    const path = join(workDir, 'download.mp4');
    writeFileSync(path, file);
    const codecs = execFileSync(
      requireBinary('ffprobe'),
      ['-v', 'error', '-show_entries', 'stream=codec_name', '-of', 'csv=p=0', path],
      { encoding: 'utf8' },
    );
    assert.match(codecs, /h264/);

    // Ranges of several forms (chunk boundaries are covered by byte-range.spec.ts).
    const size = file.length;
    const cases: [string, number, number][] = [
      ['bytes=0-99', 0, 99],
      [`bytes=${Math.floor(size / 3)}-${Math.floor((2 * size) / 3)}`, Math.floor(size / 3), Math.floor((2 * size) / 3)],
      [`bytes=${size - 10}-`, size - 10, size - 1],
      ['bytes=-25', size - 25, size - 1],
      [`bytes=5-${size + 1000}`, 5, size - 1],
    ];
    for (const [header, start, end] of cases) {
      const res: Response = await fetch(`${base}${done.url}`, { headers: { Range: header } });
      assert.equal(res.status, 206, header);
      assert.equal(res.headers.get('content-range'), `bytes ${start}-${end}/${size}`, header);
      const part = Buffer.from(await res.arrayBuffer());
      assert.ok(part.equals(file.subarray(start, end + 1)), `${header}: the same bytes as the whole file`);
    }
    const unsatisfiable = await fetch(`${base}${done.url}`, { headers: { Range: `bytes=${size}-` } });
    assert.equal(unsatisfiable.status, 416);
    assert.equal(unsatisfiable.headers.get('content-range'), `bytes */${size}`);
    assert.equal(await errorOf(unsatisfiable), 'bad-range');

    const stopAgain = await fetch(`${base}/api/rooms/${ROOM}/recordings/${rec.id}/stop`, { method: 'POST' });
    assert.equal(stopAgain.status, 409);
    assert.equal(await errorOf(stopAgain), 'not-recording');
  });

  it('answers 400 to a bad room id and 404 to an unknown recording', async () => {
    for (const [method, path] of [
      ['POST', '/api/rooms/bad%20room/recordings'],
      ['GET', '/api/rooms/bad%20room/recordings'],
      ['POST', '/api/rooms/bad%20room/recordings/x/stop'],
      ['GET', '/api/rooms/bad%20room/recordings/x.mp4'],
    ] as const) {
      const res: Response = await fetch(`${base}${path}`, { method });
      assert.equal(res.status, 400, `${method} ${path}`);
      assert.equal(await errorOf(res), 'bad-id');
    }
    for (const [method, path] of [
      ['POST', `/api/rooms/${ROOM}/recordings/nosuch/stop`],
      ['POST', `/api/rooms/${ROOM}/recordings/bad%20id/stop`],
      ['GET', `/api/rooms/${ROOM}/recordings/nosuch.mp4`],
      ['GET', `/api/rooms/${ROOM}/recordings/nosuch`],
      ['GET', `/api/rooms/otherroom/recordings/nosuch.mp4`],
    ] as const) {
      const res: Response = await fetch(`${base}${path}`, { method });
      assert.equal(res.status, 404, `${method} ${path}`);
      assert.equal(await errorOf(res), 'not-found');
    }
  });

  it('with a viewer secret: start and stop need the record grant (403), list and download a token of the room (401)', async () => {
    const locked = await createGateway(
      defaultConfig({ nats: stack.url, port: 0, host: '127.0.0.1', viewerSecret: SECRET }),
    );
    try {
      await locked.natsReady;
      const url = `http://127.0.0.1:${locked.port}/api/rooms/${ROOM}/recordings`;
      const watchOnly = await mintViewerToken(SECRET, [ROOM], 600);
      const recorderToken = await mintViewerToken(SECRET, [ROOM], 600, Date.now(), { record: true });
      const otherRoom = await mintViewerToken(SECRET, ['elsewhere'], 600, Date.now(), { record: true });

      const none = await fetch(url, { method: 'POST' });
      assert.equal(none.status, 401);
      assert.equal(await errorOf(none), 'unauthorized');
      const other = await fetch(url, { method: 'POST', headers: { Authorization: `Bearer ${otherRoom}` } });
      assert.equal(other.status, 401);
      const noGrant = await fetch(url, { method: 'POST', headers: { Authorization: `Bearer ${watchOnly}` } });
      assert.equal(noGrant.status, 403);
      assert.equal(await errorOf(noGrant), 'forbidden');
      const stopNoGrant = await fetch(`${url}/nosuch/stop?token=${watchOnly}`, { method: 'POST' });
      assert.equal(stopNoGrant.status, 403);

      assert.equal((await fetch(url)).status, 401);
      const listed = await fetch(url, { headers: { Authorization: `Bearer ${watchOnly}` } });
      assert.equal(listed.status, 200);
      const first = parseRecordingListResponse(await listed.json()).find((r) => r.url !== null);
      assert.ok(first?.url, 'the recording of the test before is listed');
      const origin = `http://127.0.0.1:${locked.port}`;
      assert.equal((await fetch(`${origin}${first.url}`)).status, 401);
      const dl = await fetch(`${origin}${first.url}?token=${watchOnly}`, { headers: { Range: 'bytes=0-7' } });
      assert.equal(dl.status, 206);
      assert.equal(
        Buffer.from(await dl.arrayBuffer())
          .subarray(4, 8)
          .toString('latin1'),
        'ftyp',
      );

      // The grant lets the request through to the recorder.
      const ok = await fetch(url, { method: 'POST', headers: { Authorization: `Bearer ${recorderToken}` } });
      assert.equal(ok.status, 201, await ok.clone().text());
      const { id } = parseRecordingStartResponse(await ok.json());
      const stop = await fetch(`${url}/${id}/stop`, {
        method: 'POST',
        headers: { Authorization: `Bearer ${recorderToken}` },
        signal: AbortSignal.timeout(STOP_MS),
      });
      assert.equal(stop.status, 200, await stop.clone().text());
    } finally {
      await locked.close();
    }
  });
});
