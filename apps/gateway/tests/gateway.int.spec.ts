import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { createConnection } from 'node:net';
import { promisify } from 'node:util';
import { join } from 'node:path';
import type { NatsConnection } from '@nats-io/transport-node';
import { WebSocket } from 'ws';
import { decodeEnvelope, MAX_CLIENT_MESSAGE_BYTES, parseHealthResponse } from '@vidchat/protocol';
import {
  NatsServer,
  REPO_ROOT,
  requireBinary,
  sleep,
  startApp,
  waitFor,
  type RunningProcess,
} from '@vidchat/test-support';
import {
  FakeSource,
  isType,
  makeJpeg,
  metric,
  mixPacket,
  natsClient,
  sourceAudioPacket,
  TestViewer,
} from './helpers.js';

const execFileAsync = promisify(execFile);

/** One HTTP/1.1 GET with the path sent exactly as written. */
function rawGet(port: number, path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const sock = createConnection({ port, host: '127.0.0.1' }, () => {
      sock.write(`GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n`);
    });
    let text = '';
    sock.on('data', (d: Buffer) => (text += d.toString('latin1')));
    sock.on('error', reject);
    sock.on('end', () => resolve({ status: Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1] ?? 0), body: text }));
  });
}

/*
 * The gateway as a child process on a real nats-server: the CLI, the viewer
 * WebSocket, the HTTP routes, interest-based subscriptions, NATS restarts.
 */

async function startGateway(natsUrl: string, extra: string[] = []): Promise<{ proc: RunningProcess; port: number }> {
  const proc = startApp('gateway', ['--nats', natsUrl, '--port', '0', '--host', '127.0.0.1', ...extra]);
  const m = await proc.waitForOutput(/viewer at http:\/\/[^\s]+:(\d+)\//);
  return { proc, port: Number(m[1]) };
}

describe('gateway (child process, real NATS)', { timeout: 120_000 }, () => {
  let nats: NatsServer;
  let gw: { proc: RunningProcess; port: number };
  let nc: NatsConnection;
  let base: string;
  const jpegA = makeJpeg('64x48');
  const jpegB = makeJpeg('32x24');
  const viewers: TestViewer[] = [];
  const open = async (): Promise<TestViewer> => {
    const v = await TestViewer.open(gw.port);
    viewers.push(v);
    return v;
  };

  before(async () => {
    // With JetStream, as the stack runs it: without it the gateway warns that chat is unavailable.
    nats = await NatsServer.start({ jetstream: true });
    gw = await startGateway(nats.url, ['--messages-per-second', '5', '--message-burst', '10']);
    base = `http://127.0.0.1:${gw.port}`;
    nc = await natsClient(nats.url);
    await waitFor(async () => (await fetch(`${base}/healthz`)).status === 200, { what: 'gateway healthy' });
  });

  after(async () => {
    // The gateway's log, for whoever reads a failure.
    writeFileSync(join(REPO_ROOT, 'test-artifacts', 'gateway.int.log'), gw?.proc.output() ?? '');
    for (const v of viewers) v.close();
    await nc?.close();
    await gw?.proc.stop();
    await nats?.stop();
  });

  it('subscribes to a room only while someone watches it', async () => {
    assert.equal(await metric(gw.port, 'vidchat_gateway_room_subscriptions'), 0);
    assert.equal(await metric(gw.port, 'vidchat_gateway_nats_subscriptions'), 1, 'only the presence subscription');
    const v = await open();
    await v.join('interest');
    assert.equal(await metric(gw.port, 'vidchat_gateway_room_subscriptions'), 1);
    // Presence, the room's layer-0 video (`*.video`), its shared mix (audio
    // and levels), its raised hands (`vidchat.hand.<room>`), the gateways'
    // viewer counts (`vidchat.viewers.<room>`) and the recorder's events of
    // the room: no per-source audio, a mix-minus only for a listener
    // (`listen`), and a `.video1` layer only once a viewer asks for it. The
    // room's chat is read through a JetStream ordered consumer, which is not
    // a NatsBus subscription.
    assert.equal(await metric(gw.port, 'vidchat_gateway_nats_subscriptions'), 6);
    v.send({ type: 'leave' });
    await waitFor(async () => (await metric(gw.port, 'vidchat_gateway_room_subscriptions')) === 0, {
      what: 'unsubscribe after leave',
    });
    assert.equal(await metric(gw.port, 'vidchat_gateway_nats_subscriptions'), 1);
  });

  it('sends the roster, then frames of two sources byte-identical, then the mix', async () => {
    const a = new FakeSource(nc, 'r1', 'camA');
    const b = new FakeSource(nc, 'r1', 'camB');
    a.startHeartbeats();
    b.startHeartbeats();
    let v: TestViewer | undefined;
    try {
      await waitFor(async () => {
        const body = (await (await fetch(`${base}/api/rooms/r1/sources`)).json()) as { sources: unknown[] };
        return body.sources.length === 2;
      });
      const viewer = await open();
      v = viewer;
      const roster = await viewer.join('r1');
      assert.deepEqual(roster.sources.map((s) => s.id).sort(), ['camA', 'camB']);
      assert.equal(roster.sources.find((s) => s.id === 'camA')?.name, 'cam camA');
      assert.equal(roster.sources.find((s) => s.id === 'camA')?.kind, 'agent', 'presence without kind is an agent');
      await waitFor(async () => (await metric(gw.port, 'vidchat_gateway_room_subscriptions')) === 1);
      const sent: Buffer[] = [];
      for (let i = 0; i < 5; i++) {
        sent.push(Buffer.from(a.video(jpegA)), Buffer.from(b.video(jpegB, 32, 24)));
        await sleep(20);
      }
      sent.push(Buffer.from(mixPacket(nc, 'r1', 0)));
      await waitFor(() => viewer.binaries.length >= sent.length, { what: 'all envelopes' });
      assert.deepEqual(
        new Set(viewer.binaries.map((x) => x.toString('hex'))),
        new Set(sent.map((x) => x.toString('hex'))),
      );
      const kinds = viewer.binaries.map((x) => decodeEnvelope(x).kind);
      assert.equal(kinds.filter((k) => k === 'mixedAudio').length, 1);

      // Snapshot: the latest JPEG exactly.
      const last = b.video(jpegB, 32, 24);
      await waitFor(() => viewer.binaries.some((x) => Buffer.compare(x, Buffer.from(last)) === 0));
      const snap = await fetch(`${base}/api/rooms/r1/sources/camB/snapshot.jpg`);
      assert.equal(snap.status, 200);
      assert.equal(snap.headers.get('content-type'), 'image/jpeg');
      assert.deepEqual(Buffer.from(await snap.arrayBuffer()), jpegB);

      // /api/rooms lists the room with its live sources.
      const rooms = (await (await fetch(`${base}/api/rooms`)).json()) as {
        rooms: { room: string; sources: { id: string }[] }[];
      };
      const r1 = rooms.rooms.find((r) => r.room === 'r1');
      assert.deepEqual(r1?.sources.map((s) => s.id).sort(), ['camA', 'camB']);

      // A source that stops heartbeating (SIGKILLed) leaves within 5 s.
      a.stopHeartbeats();
      await viewer.waitEvent(
        isType('source-left', (e) => e.source === 'camA'),
        5_000,
      );
      // A clean leave is immediate.
      b.stopHeartbeats();
      b.presence('leave');
      await viewer.waitEvent(
        isType('source-left', (e) => e.source === 'camB'),
        1_000,
      );
      // A new source joins through its presence.
      const c = new FakeSource(nc, 'r1', 'camC');
      c.presence('join');
      const joined = await viewer.waitEvent(isType('source-joined', (e) => e.source.id === 'camC'));
      assert.equal(joined.source.video?.width, 64);
      c.presence('leave');
    } finally {
      a.stopHeartbeats();
      b.stopHeartbeats();
      v?.close();
    }
  });

  it('snapshot waits briefly for a room nobody watches, and 404s without a frame', async () => {
    const s = new FakeSource(nc, 'snaproom', 'cam1');
    const timer = setInterval(() => s.video(jpegA), 50);
    try {
      const res = await fetch(`${base}/api/rooms/snaproom/sources/cam1/snapshot.jpg`);
      assert.equal(res.status, 200);
      assert.deepEqual(Buffer.from(await res.arrayBuffer()), jpegA);
    } finally {
      clearInterval(timer);
    }
    const none = await fetch(`${base}/api/rooms/snaproom/sources/nobody/snapshot.jpg`);
    assert.equal(none.status, 404);
    assert.equal(((await none.json()) as { error: string }).error, 'no-frame');
    await waitFor(async () => (await metric(gw.port, 'vidchat_gateway_room_subscriptions')) === 0);
    // Watching a room for one snapshot is a debug line, not info (polling would fill the log).
    assert.doesNotMatch(gw.proc.output(), /room (un)?watched.*room=snaproom/);
  });

  it('streams MJPEG parts with JPEG bodies', async () => {
    const s = new FakeSource(nc, 'mj', 'cam1');
    const controller = new AbortController();
    const res = await fetch(`${base}/api/rooms/mj/sources/cam1/stream.mjpeg`, { signal: controller.signal });
    assert.equal(res.status, 200);
    const ct = res.headers.get('content-type') ?? '';
    const boundary = /boundary=(\S+)/.exec(ct)?.[1];
    assert.ok(ct.startsWith('multipart/x-mixed-replace') && boundary, ct);
    const timer = setInterval(() => s.video(jpegA), 30);
    let buf = Buffer.alloc(0);
    const reader = res.body!.getReader();
    try {
      const parts: Buffer[] = [];
      while (parts.length < 3) {
        const { value, done } = await reader.read();
        if (done) break;
        buf = Buffer.concat([buf, value]);
        for (;;) {
          const head = /--(\S+)\r\nContent-Type: image\/jpeg\r\nContent-Length: (\d+)\r\n\r\n/.exec(
            buf.toString('latin1'),
          );
          if (!head) break;
          const start = head.index + head[0].length;
          const len = Number(head[2]);
          if (buf.length < start + len + 2) break;
          assert.equal(head[1], boundary);
          parts.push(buf.subarray(start, start + len));
          buf = buf.subarray(start + len + 2);
        }
      }
      assert.ok(parts.length >= 3);
      for (const p of parts) assert.deepEqual(p, jpegA);
    } finally {
      clearInterval(timer);
      controller.abort();
    }
    await waitFor(async () => (await metric(gw.port, 'vidchat_gateway_mjpeg_clients')) === 0);
  });

  it('plays in a real MJPEG client: ffmpeg decodes the stream', async () => {
    const s = new FakeSource(nc, 'mjff', 'cam1');
    const timer = setInterval(() => s.video(jpegA), 30);
    try {
      // What ffplay and VLC do with the URL: detect multipart JPEG and decode it.
      const { stdout } = await execFileAsync(
        requireBinary('ffmpeg'),
        [
          ...['-hide_banner', '-loglevel', 'error', '-rw_timeout', '10000000'],
          ...['-i', `${base}/api/rooms/mjff/sources/cam1/stream.mjpeg`, '-frames:v', '5', '-f', 'framecrc', '-'],
        ],
        { timeout: 30_000 },
      );
      const frames = stdout.split('\n').filter((l) => /^0,/.test(l));
      assert.equal(frames.length, 5, stdout);
    } finally {
      clearInterval(timer);
    }
    await waitFor(async () => (await metric(gw.port, 'vidchat_gateway_mjpeg_clients')) === 0);
  });

  it('answers bad ids with 400 JSON that never shows a subject', async () => {
    for (const path of [
      '/api/rooms/bad.room/sources',
      '/api/rooms/ok/sources/bad*src/snapshot.jpg',
      '/api/rooms/%3E/sources/x/stream.mjpeg',
    ]) {
      const res = await fetch(base + path);
      assert.equal(res.status, 400, path);
      const body = (await res.json()) as { error: string; message: string };
      assert.equal(body.error, 'bad-id');
      assert.doesNotMatch(body.message, /vidchat\./);
    }
  });

  it('never serves a file outside the viewer folder, whatever the path trick', async () => {
    // Raw requests: fetch() would normalise the dots away before sending.
    const tricks = [
      '/../package.json',
      '/..%2f..%2fpackage.json',
      '/%2e%2e/%2e%2e/package.json',
      '/app.js/../../../../package.json',
      '/%2e%2e%5c%2e%2e%5cpackage.json',
      '/....//....//package.json',
      '/api/rooms/..%2f..%2f/sources',
      '/%00/etc/passwd',
      '//etc/passwd',
    ];
    assert.equal((await rawGet(gw.port, '/app.js')).status, 200, 'the viewer bundle itself is served');
    for (const path of tricks) {
      const { status, body } = await rawGet(gw.port, path);
      assert.ok(status >= 400 && status < 500, `${path}: ${status}`);
      assert.doesNotMatch(body, /"workspaces"|"@vidchat\/gateway"|root:x:0:0/, path);
    }
  });

  it('serves the viewer page with a strict CSP, and 431 for oversized headers', async () => {
    const res = await fetch(`${base}/`);
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /text\/html/);
    assert.match(res.headers.get('content-security-policy') ?? '', /script-src 'self' 'wasm-unsafe-eval'/);
    assert.equal(res.headers.get('x-content-type-options'), 'nosniff');
    const big = await fetch(`${base}/healthz`, { headers: { 'x-big': 'a'.repeat(20_000) } });
    assert.equal(big.status, 431);
  });

  it('rejects bad viewer input with the documented errors and close codes', async () => {
    const cases: { send: string | Buffer; code: string | null; close: number }[] = [
      { send: 'not json', code: 'bad-message', close: 1008 },
      { send: '{"type":"dance"}', code: 'bad-message', close: 1008 },
      { send: '{"type":"join","room":"a.b"}', code: 'bad-room', close: 1008 },
      { send: Buffer.from([1, 2, 3]), code: 'binary-not-allowed', close: 1003 },
      { send: JSON.stringify({ type: 'ping', id: 'x'.repeat(MAX_CLIENT_MESSAGE_BYTES + 1) }), code: null, close: 1009 },
    ];
    for (const c of cases) {
      const v = await open();
      v.ws.send(c.send);
      const closed = await v.closed;
      assert.equal(closed.code, c.close, String(c.send).slice(0, 40));
      if (c.code) assert.deepEqual(v.events.at(-1), v.events.find(isType('error', (e) => e.code === c.code)));
    }
    assert.ok((await metric(gw.port, 'vidchat_gateway_invalid_messages_total', { reason: 'client-binary' })) >= 1);
    // Bad input is a counted debug line: no error (Nest's stack per bad frame) and no warning.
    assert.doesNotMatch(gw.proc.output(), /\b(error|warn)\s+\[/);
  });

  it('serves the WebSocket on /ws only, uncompressed', async () => {
    const v = await open();
    // The ws client offers permessage-deflate; media frames are JPEG and Opus, so the gateway declines.
    assert.equal(v.ws.extensions, '');
    for (const path of ['/', '/wss', '/ws/x', '/api/rooms']) {
      const other = new WebSocket(`ws://127.0.0.1:${gw.port}${path}`);
      const outcome = await new Promise<string>((resolve) => {
        other.once('open', () => resolve('open'));
        other.once('unexpected-response', (_req, res) => resolve(`http ${res.statusCode}`));
        other.once('error', () => resolve('refused'));
      });
      other.terminate();
      assert.notEqual(outcome, 'open', path);
    }
  });

  it('answers ping with pong, and closes a join flood with rate-limited / 1008', async () => {
    const v = await open();
    v.send({ type: 'ping', id: 'p1' });
    await v.waitEvent(isType('pong', (e) => e.id === 'p1'));
    for (let i = 0; i < 40; i++) v.send({ type: 'join', room: `flood${i}` });
    const closed = await v.closed;
    assert.equal(closed.code, 1008);
    assert.ok(v.events.some(isType('error', (e) => e.code === 'rate-limited')));
    await waitFor(async () => (await metric(gw.port, 'vidchat_gateway_room_subscriptions')) === 0);
  });

  it('drops garbage from NATS, counted by reason, without crashing', async () => {
    const v = await open();
    await v.join('junk');
    await waitFor(async () => (await metric(gw.port, 'vidchat_gateway_room_subscriptions')) === 1);
    const s = new FakeSource(nc, 'junk', 'cam1');
    nc.publish('vidchat.src.junk.cam1.video', new Uint8Array([1, 2, 3]));
    nc.publish('vidchat.src.junk.cam1.presence', new TextEncoder().encode('{nope'));
    // An envelope from cam1 published on cam2's subject.
    const wrong = s.video(jpegA);
    nc.publish('vidchat.src.junk.cam2.video', wrong);
    await waitFor(
      async () =>
        (await metric(gw.port, 'vidchat_gateway_invalid_messages_total', { reason: 'envelope-mismatch' })) >= 1,
    );
    assert.ok((await metric(gw.port, 'vidchat_gateway_invalid_messages_total', { reason: 'envelope-garbage' })) >= 1);
    assert.ok((await metric(gw.port, 'vidchat_gateway_invalid_messages_total', { reason: 'presence-garbage' })) >= 1);
    const res = await fetch(`${base}/healthz`);
    assert.equal(res.status, 200);
    // Still healthy, and it says which NATS node it is on (a cluster's failover shows there).
    const health = parseHealthResponse(await res.json());
    assert.equal(health.status, 'ok');
    assert.ok(health.natsServer, 'healthz names the NATS node');
  });

  it('never subscribes to per-source audio while no viewer asks for it: viewers hear the mix', async () => {
    const v = await open();
    await v.join('noaudio');
    const s = new FakeSource(nc, 'noaudio', 'cam1');
    // A frame that arrives proves the room's subscriptions are live on the
    // server (frames published before the subscription reached it are lost).
    await waitFor(
      () => {
        if (v.binaries.length > 0) return true;
        s.video(jpegA);
        return false;
      },
      { what: 'a first frame', intervalMs: 50 },
    );
    const garbageBefore = await metric(gw.port, 'vidchat_gateway_invalid_messages_total', {
      reason: 'envelope-garbage',
    });
    for (let i = 0; i < 20; i++) sourceAudioPacket(nc, 'noaudio', 'cam1', i);
    nc.publish('vidchat.src.noaudio.cam1.audio', new Uint8Array([1, 2, 3]));
    // Published after the audio on the same connection, so delivered after it had it been subscribed.
    const last = Buffer.from(s.video(jpegA));
    await waitFor(() => v.binaries.some((b) => b.equals(last)), { what: 'the last frame' });
    assert.equal(await metric(gw.port, 'vidchat_gateway_frames_in_total', { kind: 'audio' }), 0);
    assert.equal(
      await metric(gw.port, 'vidchat_gateway_invalid_messages_total', { reason: 'envelope-garbage' }),
      garbageBefore,
      'the garbage audio packet was never received',
    );
    assert.ok(v.binaries.every((b) => decodeEnvelope(b).kind === 'video'));
    v.close();
  });

  it('reports 503 while NATS is down and 200 after it is back', async () => {
    await nats.kill();
    await waitFor(async () => (await fetch(`${base}/healthz`)).status === 503, { what: '503', timeoutMs: 15_000 });
    const body = (await (await fetch(`${base}/healthz`)).json()) as { status: string };
    assert.equal(body.status, 'unavailable');
    assert.equal(await metric(gw.port, 'vidchat_gateway_nats_connected'), 0);
    await nats.restart();
    await waitFor(async () => (await fetch(`${base}/healthz`)).status === 200, { what: '200', timeoutMs: 20_000 });
    const ok = (await (await fetch(`${base}/healthz`)).json()) as { status: string; nats: string; viewers: number };
    assert.equal(ok.status, 'ok');
    assert.equal(ok.nats, 'connected');
  });

  it('closes viewers with 1001 on SIGTERM and exits 0', async () => {
    const v = await open();
    await v.join('bye');
    await gw.proc.stop();
    assert.equal((await v.closed).code, 1001);
    assert.equal((await gw.proc.exited).code, 0);
  });
});
