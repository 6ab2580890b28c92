import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { videoSubject } from '@vidchat/protocol';
import { FakeSource, NatsServer, sleep, waitFor } from '@vidchat/test-support';
import {
  metricSum,
  rssBytes,
  scrapeMetrics,
  StalledViewer,
  startStack,
  ViewerClient,
  type Stack,
} from '../src/index.js';

/*
 * Viewers that stop reading (frozen tabs) and viewers that read in bursts
 * (bad radio), beside healthy ones, on a gateway carrying a real agent and a
 * heavy fake camera (200 KB frames at 20 fps, 4 MB/s per viewer). What must
 * hold: the gateway's memory stays bounded (RSS from /proc), the stalled
 * viewers' video is dropped and counted (latest-frame-wins), and the healthy
 * viewers get every frame, counted against a raw NATS subscriber over the
 * same window (counts, not timings).
 */

const ROOM = 'slow';
const STALLED = 20;
const STALL_MS = 10_000;
const BIG_FRAME_BYTES = 200_000;
const BIG_FPS = 20;
/**
 * The gateway's RSS may grow by this much while the stalled viewers sit
 * there. Queuing everything would grow it by STALLED × 4 MB/s (800 MB in
 * 10 s); latest-frame-wins keeps about one high-water mark (512 KB) plus a
 * frame per viewer.
 */
const RSS_GROWTH_LIMIT = 120 * 1024 * 1024;

describe('slow and stalled viewers', { timeout: 150_000 }, () => {
  let nats: NatsServer;
  let stack: Stack | undefined;
  let nc: NatsConnection | undefined;
  let big: FakeSource | undefined;
  const healthy: ViewerClient[] = [];
  const stalled: StalledViewer[] = [];
  /** Video envelopes per source seen by a raw NATS subscriber: what a healthy viewer should get. */
  const onNats = new Map<string, number>();

  before(async () => {
    nats = await NatsServer.start();
    stack = await startStack({ nats: nats.url, room: ROOM, agents: [{ source: 'cam1' }] });
    nc = await connect({ servers: nats.url });
    for (const src of ['cam1', 'big']) {
      nc.subscribe(videoSubject(ROOM, src), { callback: () => void onNats.set(src, (onNats.get(src) ?? 0) + 1) });
    }
    big = new FakeSource(nc, ROOM, 'big', { name: 'big', width: 640, height: 360, fps: 20 });
    big.start(randomBytes(BIG_FRAME_BYTES), BIG_FPS);
  });

  after(async () => {
    big?.stop();
    for (const v of stalled) v.close();
    for (const v of healthy) v.close();
    await nc?.close();
    await stack?.stop();
    await nats?.stop();
  });

  it('keeps the gateway memory bounded and healthy viewers whole', { timeout: 90_000 }, async (t) => {
    const s = stack!;
    const pid = s.gateway!.child.pid!;
    healthy.push(await ViewerClient.join(s.port, ROOM), await ViewerClient.join(s.port, ROOM));
    for (const v of healthy) {
      await v.waitForMoreVideo('cam1', 5, 20_000);
      await v.waitForMoreVideo('big', 10, 10_000);
    }
    const rssBefore = rssBytes(pid);

    for (let i = 0; i < STALLED; i++) stalled.push(await StalledViewer.join(s.port, ROOM));
    const slow = await StalledViewer.join(s.port, ROOM);
    stalled.push(slow);
    // Let the stalled sockets fill the kernel's buffers first.
    await sleep(2_000);

    const natsAt0 = new Map(onNats);
    const viewersAt0 = healthy.map((v) => new Map(v.video));
    const rss: number[] = [];
    let slowBytes = 0;
    let slowBursts = 0;
    const deadline = Date.now() + STALL_MS;
    while (Date.now() < deadline) {
      // The slow viewer reads for 200 ms each second and must get something each time.
      const got = await slow.readFor(200);
      if (got > 0) slowBursts++;
      slowBytes += got;
      rss.push(rssBytes(pid));
      await sleep(800);
    }
    // The window closes on what NATS carried; frames still in flight then get
    // half a second to reach the healthy viewers.
    const natsDelta = (src: string): number => (onNats.get(src) ?? 0) - (natsAt0.get(src) ?? 0);
    const published = { cam1: natsDelta('cam1'), big: natsDelta('big') };
    await sleep(500);
    const healthyGot = healthy.map((v, i) => ({
      cam1: v.videoCount('cam1') - (viewersAt0[i]!.get('cam1') ?? 0),
      big: v.videoCount('big') - (viewersAt0[i]!.get('big') ?? 0),
    }));
    const metrics = await scrapeMetrics(s.port);
    const superseded = metricSum(metrics, 'vidchat_gateway_dropped_frames_total', 'reason="video-superseded"');
    const maxRss = Math.max(...rss);
    t.diagnostic(
      `gateway RSS ${mb(rssBefore)} before, max ${mb(maxRss)} with ${STALLED} stalled viewers ` +
        `(samples ${rss.map(mb).join(' ')}); ${superseded} frames superseded; ` +
        `in the window ${published.big} big + ${published.cam1} cam1 frames on NATS; ` +
        `healthy viewers got ${JSON.stringify(healthyGot)}; slow viewer read ${mb(slowBytes)} in ${slowBursts} bursts`,
    );

    for (const [i, v] of healthy.entries()) {
      for (const src of ['cam1', 'big'] as const) {
        const got = healthyGot[i]![src];
        // A healthy viewer gets every frame of the window. The 5 % is for a test
        // process that two busy cores may stall long enough to fall behind by itself.
        const floor = Math.floor(published[src] * 0.95);
        assert.ok(got >= floor, `healthy viewer ${i} got ${got} of ${published[src]} ${src} frames`);
      }
      assert.equal(v.closed, null);
    }
    assert.ok(published.big >= (STALL_MS / 1_000) * BIG_FPS * 0.5, 'the load really ran');
    assert.ok(superseded > 0, 'stalled viewers lose superseded video frames, counted');
    assert.ok(maxRss - rssBefore < RSS_GROWTH_LIMIT, `RSS grew by ${mb(maxRss - rssBefore)}`);
    assert.ok(slowBursts >= STALL_MS / 1_000 - 2, `the slow viewer got data in ${slowBursts} bursts`);
    assert.ok(
      stalled.every((v) => v.open),
      'stalled viewers are not closed (the heartbeat would, after 30 s)',
    );
    assert.equal(metricSum(metrics, 'vidchat_gateway_viewers'), healthy.length + stalled.length);

    // Gone viewers free their share.
    for (const v of stalled) v.close();
    await waitFor(async () => metricSum(await scrapeMetrics(s.port), 'vidchat_gateway_viewers') === healthy.length, {
      timeoutMs: 10_000,
      what: 'the stalled viewers to be gone from the viewers gauge',
    });
    await healthy[0]!.waitForMoreVideo('big', 10, 10_000);
    t.diagnostic(`gateway RSS ${mb(rssBytes(pid))} after the stalled viewers left`);
  });
});

function mb(bytes: number): string {
  return `${(bytes / 1024 / 1024).toFixed(1)}MB`;
}
