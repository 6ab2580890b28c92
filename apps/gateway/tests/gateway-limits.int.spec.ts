import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { NatsConnection } from '@nats-io/transport-node';
import { WebSocket } from 'ws';
import { setLogLevel } from '@vidchat/service-kit';
import { startNatsFixture, startApp, sleep, waitFor, type NatsFixture } from '@vidchat/test-support';
import { createGateway, defaultConfig, mintViewerToken, type RunningGateway } from '../src/index.js';
import { FakeSource, isType, makeJpeg, metric, natsClient, TestViewer } from './helpers.js';

/*
 * Limits and access: viewer cap, tokens, a taken port, and a stalled viewer
 * next to a healthy one. Gateways run in-process through `createGateway`
 * except where the process itself is under test.
 */

describe('gateway limits and tokens (real NATS)', { timeout: 120_000 }, () => {
  let nats: NatsFixture;
  let nc: NatsConnection;
  const gateways: RunningGateway[] = [];
  const viewers: TestViewer[] = [];
  const start = async (over: Parameters<typeof defaultConfig>[0]): Promise<RunningGateway> => {
    const gw = await createGateway(defaultConfig({ nats: nats.url, port: 0, host: '127.0.0.1', ...over }));
    gateways.push(gw);
    await gw.natsReady;
    return gw;
  };
  const open = async (port: number): Promise<TestViewer> => {
    const v = await TestViewer.open(port);
    viewers.push(v);
    return v;
  };

  before(async () => {
    setLogLevel('warn');
    nats = await startNatsFixture();
    nc = await natsClient(nats.url);
  });

  after(async () => {
    for (const v of viewers) v.close();
    for (const g of gateways) await g.close();
    await nc?.close();
    await nats?.stop();
  });

  it('refuses a viewer over the cap with too-many-viewers / 1013', async () => {
    const gw = await start({ maxViewers: 2 });
    await open(gw.port);
    await open(gw.port);
    const third = await open(gw.port);
    assert.equal((await third.closed).code, 1013);
    assert.ok(third.events.some(isType('error', (e) => e.code === 'too-many-viewers')));
    await gw.close();
  });

  it('watches at most --max-rooms rooms: one more is too-many-rooms / 1013 on /ws and 503 over HTTP', async () => {
    const gw = await start({ maxRooms: 1, snapshotWaitMs: 0 });
    const first = await open(gw.port);
    await first.join('only');
    const refused = await open(gw.port);
    refused.send({ type: 'join', room: 'another' });
    assert.equal((await refused.closed).code, 1013);
    assert.ok(refused.events.some(isType('error', (e) => e.code === 'too-many-rooms')));
    // A room already watched takes more viewers.
    const second = await open(gw.port);
    assert.equal((await second.join('only')).room, 'only');
    for (const route of ['snapshot.jpg', 'stream.mjpeg']) {
      const res = await fetch(`http://127.0.0.1:${gw.port}/api/rooms/another/sources/cam1/${route}`);
      assert.equal(res.status, 503, route);
      assert.equal(((await res.json()) as { error: string }).error, 'too-many-rooms', route);
    }
    assert.equal(await metric(gw.port, 'vidchat_gateway_refused_total', { reason: 'too-many-rooms' }), 3);
    // When the room is let go, another can be watched.
    first.send({ type: 'leave' });
    second.send({ type: 'leave' });
    await waitFor(async () => (await metric(gw.port, 'vidchat_gateway_room_subscriptions')) === 0);
    const third = await open(gw.port);
    assert.equal((await third.join('another')).room, 'another');
    await gw.close();
  });

  it('forgives rate-limit strikes over time: slips spread out never close a viewer, a flood does', async () => {
    // One message per 2 s with a burst of 1, and 2 strikes within one 1 s decay period close.
    const gw = await start({
      messagesPerSecond: 0.5,
      messageBurst: 1,
      rateLimitStrikes: 2,
      rateLimitStrikeDecayMs: 1_000,
    });
    const v = await open(gw.port);
    const rateLimited = (): number => v.events.filter(isType('error', (e) => e.code === 'rate-limited')).length;
    for (let round = 1; round <= 3; round++) {
      // One message within the rate, one over it: a strike, forgiven before the next round.
      v.send({ type: 'ping', id: `r${round}` });
      v.send({ type: 'ping', id: `x${round}` });
      await waitFor(() => rateLimited() === round, { what: `strike ${round}` });
      await sleep(2_500);
    }
    assert.equal(v.ws.readyState, WebSocket.OPEN, 'three strikes, one per round, did not close the viewer');
    assert.equal(v.events.filter((e) => e.type === 'pong').length, 3);
    // Three at once: one passes, two strikes before any is forgiven.
    for (let i = 0; i < 3; i++) v.send({ type: 'ping' });
    assert.equal((await v.closed).code, 1008);
    await gw.close();
  });

  it('terminates a viewer that stops answering pings, and keeps one that answers', async () => {
    const gw = await start({ heartbeatMs: 200 });
    const alive = await open(gw.port);
    // A socket whose peer vanished without a FIN: it never answers a ping.
    const dead = new TestViewer(new WebSocket(`ws://127.0.0.1:${gw.port}/ws`, { autoPong: false }));
    viewers.push(dead);
    await dead.opened;
    assert.equal(await metric(gw.port, 'vidchat_gateway_viewers'), 2);
    const closed = await dead.closed;
    assert.equal(closed.code, 1006, 'terminated, not closed politely');
    await waitFor(async () => (await metric(gw.port, 'vidchat_gateway_viewers')) === 1, { what: 'one viewer left' });
    assert.equal(alive.ws.readyState, WebSocket.OPEN);
    await gw.close();
  });

  it('requires a valid, unexpired token naming the room when a secret is set', async () => {
    const secret = 'sesame-sesame-sesame-sesame-sesame';
    const gw = await start({ viewerSecret: secret, snapshotWaitMs: 0 });
    const cases: [string, string | undefined][] = [
      ['missing', undefined],
      ['garbage', 'not.a.token'],
      ['wrong secret', await mintViewerToken('other-other-other-other-other-other', ['vip'], 60)],
      ['other room', await mintViewerToken(secret, ['lobby'], 60)],
      ['expired', await mintViewerToken(secret, ['vip'], 1, Date.now() - 100_000)],
    ];
    for (const [what, token] of cases) {
      const v = await open(gw.port);
      v.send({ type: 'join', room: 'vip', ...(token ? { token } : {}) });
      const closed = await v.closed;
      assert.equal(closed.code, 1008, what);
      assert.ok(v.events.some(isType('error', (e) => e.code === 'unauthorized')), what);
      assert.equal(v.events.filter((e) => e.type === 'roster').length, 0, `${what}: sees nothing`);
      assert.equal(v.binaries.length, 0);
    }
    const good = await mintViewerToken(secret, ['vip'], 60);
    const v = await open(gw.port);
    const roster = await v.join('vip', good);
    assert.equal(roster.room, 'vip');

    const snap = `http://127.0.0.1:${gw.port}/api/rooms/vip/sources/cam1/snapshot.jpg`;
    assert.equal((await fetch(snap)).status, 401);
    assert.equal((await fetch(`${snap}?token=${await mintViewerToken(secret, ['lobby'], 60)}`)).status, 401);
    assert.equal((await fetch(snap, { headers: { authorization: `Bearer ${good}` } })).status, 404);
    assert.equal((await fetch(`${snap}?token=${good}`)).status, 404);
    const mj = `http://127.0.0.1:${gw.port}/api/rooms/vip/sources/cam1/stream.mjpeg`;
    assert.equal((await fetch(mj)).status, 401);
    // Without a token, room lists stay private.
    const rooms = (await (await fetch(`http://127.0.0.1:${gw.port}/api/rooms`)).json()) as { rooms: unknown[] };
    assert.deepEqual(rooms.rooms, []);
    v.close();
    await gw.close();
  });

  it('exits 1 with one clear line when the port is taken', async () => {
    const gw = await start({});
    const proc = startApp('gateway', ['--nats', nats.url, '--port', String(gw.port), '--host', '127.0.0.1']);
    const { code } = await proc.exited;
    assert.equal(code, 1);
    const lines = proc
      .output()
      .trim()
      .split('\n')
      .filter((l) => l.trim() !== '');
    assert.equal(lines.length, 1, proc.output());
    assert.match(lines[0]!, /port \d+ .*already in use.*--port.*VIDCHAT_PORT/);
    await gw.close();
  });

  it('does not let a stalled viewer slow a healthy one; drops are counted and memory stays bounded', async () => {
    // A child process, so that the RSS in /metrics is the gateway's alone.
    const proc = startApp('gateway', [
      '--nats',
      nats.url,
      '--port',
      '0',
      '--host',
      '127.0.0.1',
      '--video-high-water-bytes',
      '262144',
    ]);
    const stalled: TestViewer[] = [];
    try {
      const port = Number((await proc.waitForOutput(/viewer at http:\/\/[^\s]+:(\d+)\//))[1]);
      await waitFor(async () => (await fetch(`http://127.0.0.1:${port}/healthz`)).status === 200);
      const big = makeJpeg('1280x720', 2);
      const healthy = await TestViewer.open(port);
      viewers.push(healthy);
      await healthy.join('stall');
      for (let i = 0; i < 2; i++) {
        const s = await TestViewer.open(port);
        viewers.push(s);
        stalled.push(s);
        await s.join('stall');
        // Stop reading: the kernel buffers fill, then the gateway's socket buffer.
        (s.ws as unknown as { _socket: { pause(): void } })._socket.pause();
      }
      await waitFor(async () => (await metric(port, 'vidchat_gateway_room_subscriptions')) === 1);
      const src = new FakeSource(nc, 'stall', 'cam1');
      const frames = 300;
      for (let i = 0; i < frames; i++) {
        src.video(big, 1280, 720);
        if (i % 5 === 4) await sleep(10);
      }
      await waitFor(() => healthy.binaries.length >= frames * 0.95, { what: 'the healthy viewer', timeoutMs: 30_000 });
      const dropped = await metric(port, 'vidchat_gateway_dropped_frames_total', { reason: 'video-superseded' });
      assert.ok(dropped > 0, 'the stalled viewers dropped frames');
      const rss = await metric(port, 'vidchat_gateway_process_resident_memory_bytes');
      // 300 frames of this size pass through (tens of MB); queueing them per
      // stalled viewer would show; latest-frame-wins keeps the gateway small.
      assert.ok(rss > 0 && rss < 300 * 1024 * 1024, `rss ${rss}`);
      process.stdout.write(
        `# stall: frame ${big.length} B, healthy got ${healthy.binaries.length}/${frames}, dropped ${dropped}, rss ${Math.round(rss / 1048576)} MiB\n`,
      );
    } finally {
      for (const s of stalled) s.close();
      await proc.stop();
    }
  });
});
