import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { NatsCluster, NatsServer, sleep } from '../src/index.js';

/*
 * The cluster fixture's routes log in (as docker/nats-scale.conf's do): its
 * nodes route messages to each other, and a server that knows the cluster
 * port but not the route password is not let in.
 */
let cluster: NatsCluster;
const conns: NatsConnection[] = [];

before(async () => {
  cluster = await NatsCluster.start();
});
after(async () => {
  for (const nc of conns) await nc.close().catch(() => undefined);
  await cluster?.stop();
});

async function received(from: string, to: string, subject: string): Promise<boolean> {
  const sub = await connect({ servers: to, reconnect: false });
  const pub = await connect({ servers: from, reconnect: false });
  conns.push(sub, pub);
  let got = false;
  sub.subscribe(subject, {
    callback: () => {
      got = true;
    },
  });
  await sub.flush();
  // Interest travels over the routes; publish for a while rather than once.
  for (let i = 0; i < 30 && !got; i++) {
    pub.publish(subject, 'x');
    await sleep(100);
  }
  return got;
}

test('the nodes of the fixture route to each other with the route password', async () => {
  assert.equal(cluster.routeUser, 'route');
  assert.ok(await received(cluster.urls[0]!, cluster.urls[2]!, 'fixture.routes.ok'), 'node 1 → node 3');
  assert.ok(await received(cluster.urls[2]!, cluster.urls[1]!, 'fixture.routes.ok2'), 'node 3 → node 2');
});

test('a server without the route password is not let into the cluster; one with it is', async () => {
  const port = cluster.nodes[0]!.clusterPort;
  const cases: [string, boolean][] = [
    [`nats://127.0.0.1:${port}`, false],
    [`nats://route:wrong@127.0.0.1:${port}`, false],
    [cluster.routeUrl(0), true],
  ];
  for (const [route, joins] of cases) {
    const other = await NatsServer.start({ cluster: { name: 'vidchat-test', routes: [route] } });
    try {
      assert.equal(await received(other.url, cluster.urls[0]!, 'fixture.routes.other'), joins, route);
    } finally {
      await other.stop();
    }
  }
});
