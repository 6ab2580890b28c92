import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { NatsConnection } from '@nats-io/transport-node';
import { setLogLevel } from '@vidchat/service-kit';
import {
  decodeViewerCountReport,
  encodeViewerCountReport,
  utf8Encode,
  viewersSubject,
  type ServerMessage,
  type ViewerCountReport,
} from '@vidchat/protocol';
import { NatsServer, sleep, waitFor } from '@vidchat/test-support';
import { createGateway, defaultConfig, type RunningGateway } from '../src/index.js';
import { metric, natsClient, TestParticipant, TestViewer } from './helpers.js';

/*
 * The number of people watching a room, across gateways: two in-process
 * gateways on one real nats-server, as in a scaled-out deployment. Every
 * viewer must see the sum of both gateways' viewers (participants are not
 * counted), lowered when a viewer leaves or a gateway closes; a gateway that
 * vanishes without a goodbye is forgotten when its report runs out; garbage
 * on the subject is counted and dropped.
 *
 * The heartbeat is a minute long (a report holds three minutes): whatever
 * happens within a test's deadlines happens through the change reports,
 * the answers to a new gateway and the goodbyes, never through a heartbeat
 * or an expiry, except where a test sends its own short-lived report.
 */

type Viewers = Extract<ServerMessage, { type: 'viewers' }>;
const INTERVAL_MS = 200;

const counts = (v: TestViewer, room: string): number[] =>
  v.events.filter((e): e is Viewers => e.type === 'viewers' && e.room === room).map((e) => e.count);

/** Waits until the last count `v` was told for `room` is `n`. */
async function waitCount(v: TestViewer, room: string, n: number, what: string): Promise<void> {
  await waitFor(() => (counts(v, room).at(-1) === n ? true : null), {
    timeoutMs: 15_000,
    intervalMs: 20,
    what: `${what}: ${n} watching (last told ${String(counts(v, room).at(-1))})`,
  });
}

describe('viewers watching, across gateways (real NATS)', { timeout: 240_000 }, () => {
  let nats: NatsServer;
  let nc: NatsConnection;
  const gateways: RunningGateway[] = [];
  const viewers: TestViewer[] = [];
  const start = async (): Promise<RunningGateway> => {
    const gw = await createGateway(
      defaultConfig({
        nats: nats.url,
        port: 0,
        host: '127.0.0.1',
        viewerCountIntervalMs: INTERVAL_MS,
        viewerCountHeartbeatMs: 60_000,
      }),
    );
    gateways.push(gw);
    await gw.natsReady;
    return gw;
  };
  const watcher = async (gw: RunningGateway, room: string): Promise<TestViewer> => {
    const v = await TestViewer.open(gw.port);
    viewers.push(v);
    await v.join(room);
    return v;
  };
  /** Every report seen on a room's subject, from any gateway. */
  const reports = async (room: string): Promise<ViewerCountReport[]> => {
    const seen: ViewerCountReport[] = [];
    nc.subscribe(viewersSubject(room), {
      callback: (_e, m) => {
        try {
          seen.push(decodeViewerCountReport(m.data));
        } catch {
          // The garbage the tests publish themselves.
        }
      },
    });
    await nc.flush();
    return seen;
  };

  /**
   * Waits for the gateway's first report on the room (it publishes one when it
   * starts serving it): its subscription went to the broker before that
   * report, so what the test publishes from now on reaches it.
   */
  const serving = (seen: ViewerCountReport[]): Promise<ViewerCountReport> =>
    waitFor(() => seen.find((r) => r.ttl > 0) ?? null, { timeoutMs: 10_000, what: "the gateway's first report" });

  before(async () => {
    setLogLevel('warn');
    nats = await NatsServer.start({ jetstream: true });
    nc = await natsClient(nats.url);
  });

  after(async () => {
    for (const v of viewers) v.close();
    for (const g of gateways) await g.close();
    await nc?.close();
    await nats?.stop();
  });

  it('every viewer sees the total of both gateways; a viewer leaving and a gateway closing lower it', async () => {
    const room = 'count-two';
    const seen = await reports(room);
    const a = await start();
    const b = await start();
    const a1 = await watcher(a, room);
    const a2 = await watcher(a, room);
    const b1 = await watcher(b, room);
    // A participant is in the people list by name: it sees the count, it is not in it.
    const p = await TestParticipant.open(b.port);
    viewers.push(p);
    await p.joinAsParticipant(room, 'Pia');
    for (const [v, what] of [
      [a1, 'a1'],
      [a2, 'a2'],
      [b1, 'b1'],
      [p, 'the participant'],
    ] as const) {
      await waitCount(v, room, 3, what);
    }

    // A viewer leaves on gateway a: everyone, on b too, sees 2.
    a2.send({ type: 'leave' });
    await waitCount(b1, room, 2, 'b1 after a2 left');
    await waitCount(a1, room, 2, 'a1 after a2 left');
    await waitCount(p, room, 2, 'the participant after a2 left');

    // A viewer's socket closes on b: a's viewer sees 1.
    b1.close();
    await waitCount(a1, room, 1, 'a1 after b1 closed');

    // Another viewer on b, then b closes: its goodbye lowers a's total at once
    // (the report it last sent would hold three minutes).
    const b2 = await watcher(b, room);
    await waitCount(a1, room, 2, 'a1 with b2');
    await b.close();
    await waitCount(a1, room, 1, 'a1 after gateway b closed');
    // Only b stopped serving the room (a kept a1 all along): the one goodbye is b's.
    const goodbyes = seen.filter((r) => r.ttl === 0);
    assert.equal(goodbyes.length, 1, JSON.stringify(seen.slice(-5)));
    assert.equal(goodbyes[0]?.count, 0);
    assert.equal(b2.ws.readyState === b2.ws.OPEN, false, 'b closed its viewers');
    // Each report holds three heartbeats.
    assert.ok(seen.filter((r) => r.ttl > 0).every((r) => r.ttl === 180_000));
  });

  it('forgets a gateway that stops reporting without a goodbye, when its report runs out', async () => {
    const room = 'count-ghost';
    const seen = await reports(room);
    const a = await start();
    const v = await watcher(a, room);
    await waitCount(v, room, 1, 'alone');
    await serving(seen);
    const ghost: ViewerCountReport = { v: 1, room, gateway: 'ghost-gw', count: 5, ttl: 1_500, ts: Date.now() };
    nc.publish(viewersSubject(room), encodeViewerCountReport(ghost));
    await waitCount(v, room, 6, "with the ghost's five");
    // No heartbeat follows: after its ttl the ghost is forgotten.
    await waitCount(v, room, 1, 'the ghost forgotten');
  });

  it('counts and drops garbage on the subject, and subscribes only to rooms it has viewers in', async () => {
    const room = 'count-garbage';
    const seen = await reports(room);
    const a = await start();
    const v = await watcher(a, room);
    await waitCount(v, room, 1, 'alone');
    await serving(seen);
    const garbage = () => metric(a.port, 'vidchat_gateway_invalid_messages_total', { reason: 'viewer-count-garbage' });
    const before = await garbage();
    const good: ViewerCountReport = { v: 1, room, gateway: 'other-gw', count: 2, ttl: 60_000, ts: Date.now() };
    const bad: Uint8Array[] = [
      utf8Encode('not json'),
      utf8Encode(JSON.stringify({ ...good, v: 2 })),
      utf8Encode(JSON.stringify({ ...good, count: -1 })),
      utf8Encode(JSON.stringify({ ...good, count: 1.5 })),
      utf8Encode(JSON.stringify({ ...good, gateway: 'a.b' })),
      utf8Encode(JSON.stringify({ ...good, ttl: 3_600_000 })),
      // A report naming another room than its subject's.
      encodeViewerCountReport({ ...good, room: 'elsewhere' }),
      new Uint8Array(2_000).fill(0x20),
    ];
    // First on a room nobody watches here (no subscription: not even counted), then on the watched one.
    for (const b of bad) nc.publish(viewersSubject('count-unwatched'), b);
    for (const b of bad) nc.publish(viewersSubject(room), b);
    // Then a good one: once it is counted, everything before it was read.
    nc.publish(viewersSubject(room), encodeViewerCountReport(good));
    await waitCount(v, room, 3, 'with the good report');
    assert.equal((await garbage()) - before, bad.length, 'each bad report counted once, on the watched room only');
    assert.deepEqual(
      counts(v, room).filter((n) => n !== 1 && n !== 3),
      [],
      'garbage never changed the count',
    );
    assert.equal(v.ws.readyState, v.ws.OPEN);
  });

  it('a gateway leaves a room with a goodbye, and answers a gateway new to the room with its count', async () => {
    const room = 'count-interest';
    const seen = await reports(room);
    const a = await start();
    const v = await watcher(a, room);
    await waitCount(v, room, 1, 'alone');
    const own = await serving(seen);
    // A gateway that just started serving the room: a answers with its count
    // within about one interval, long before its next heartbeat (a minute).
    const newcomer: ViewerCountReport = { v: 1, room, gateway: 'new-gw', count: 1, ttl: 60_000, ts: Date.now() };
    const n = seen.length;
    nc.publish(viewersSubject(room), encodeViewerCountReport(newcomer));
    await waitFor(() => seen.slice(n).some((r) => r.gateway === own.gateway && r.count === 1 && r.ttl > 0) || null, {
      timeoutMs: 10_000,
      what: "a's answer to the new gateway",
    });
    await waitCount(v, room, 2, 'with the new gateway');
    v.send({ type: 'leave' });
    await waitFor(() => seen.some((r) => r.gateway === own.gateway && r.ttl === 0) || null, {
      timeoutMs: 10_000,
      what: "a's goodbye when its last viewer left",
    });
    // Unsubscribed: garbage on the room is not even read any more.
    const garbage = () => metric(a.port, 'vidchat_gateway_invalid_messages_total', { reason: 'viewer-count-garbage' });
    const before = await garbage();
    nc.publish(viewersSubject(room), utf8Encode('not json'));
    await nc.flush();
    await sleep(500);
    assert.equal(await garbage(), before);
  });

  it('coalesces: many viewers joining make a few broadcasts and reports, not one per join', async (t) => {
    const room = 'count-storm';
    const seen = await reports(room);
    const a = await start();
    const first = await watcher(a, room);
    await waitCount(first, room, 1, 'the first viewer');
    const joiners = 150;
    const t0 = performance.now();
    const opened = await Promise.all(Array.from({ length: joiners }, () => TestViewer.open(a.port)));
    viewers.push(...opened);
    await Promise.all(opened.map((v) => v.join(room)));
    await waitCount(first, room, joiners + 1, 'the first viewer after the storm');
    const elapsed = performance.now() - t0;
    // At most one broadcast per interval while the count moved, plus the last.
    const bound = Math.ceil(elapsed / INTERVAL_MS) + 2;
    const told = counts(first, room).length;
    const published = seen.filter((r) => r.count > 1).length;
    assert.ok(
      told <= bound + 1,
      `the first viewer was told ${told} times in ${Math.round(elapsed)} ms (at most ${bound + 1})`,
    );
    assert.ok(published <= bound, `${published} reports in ${Math.round(elapsed)} ms (at most ${bound})`);
    assert.ok(told < joiners / 5, `${told} messages for ${joiners} joins`);
    t.diagnostic(
      `${joiners} joins in ${Math.round(elapsed)} ms: ${told} viewers messages to the first viewer, ${published} reports`,
    );
    // Every joiner ends up with the total too.
    for (const v of opened) await waitCount(v, room, joiners + 1, 'a joiner');
  });
});
