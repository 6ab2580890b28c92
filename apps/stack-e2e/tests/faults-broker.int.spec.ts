import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { PRESENCE_TIMEOUT_MS } from '@vidchat/protocol';
import { NatsServer, sleep, waitFor } from '@vidchat/test-support';
import { healthStatus, startStack, ViewerClient, type Stack } from '../src/index.js';

/*
 * The broker fails under a running stack (gateway, mixer, a real agent and a
 * WebSocket viewer), all real processes on a real nats-server:
 * - killed (SIGKILL) and restarted on the same port: every service reconnects
 *   by itself, /healthz says 503 while it is down and 200 after, and the
 *   viewer gets frames again within RECOVERY_BUDGET_MS of the broker's return;
 * - one of two clustered servers killed: every client moves to the other one
 *   without a restart, and frames keep reaching the viewer.
 */

const ROOM = 'broker';
/** The budget for frames after the broker is back. */
const RECOVERY_BUDGET_MS = 5_000;

describe('broker killed and restarted on the same port', { timeout: 120_000 }, () => {
  let nats: NatsServer;
  let stack: Stack | undefined;
  let viewer: ViewerClient | undefined;

  before(async () => {
    nats = await NatsServer.start();
    stack = await startStack({ nats: nats.url, room: ROOM, mixer: true, agents: [{ source: 'cam1', audio: true }] });
  });

  after(async () => {
    viewer?.close();
    await stack?.stop();
    await nats?.stop();
  });

  it('reconnects every service; the viewer gets frames and the mix again', { timeout: 90_000 }, async (t) => {
    const s = stack!;
    viewer = await ViewerClient.join(s.port, ROOM);
    await viewer.waitForMoreVideo('cam1', 5, 20_000);
    await viewer.waitForMoreMix(10, 20_000);
    assert.equal(await healthStatus(s.port), 200);

    await nats.kill();
    const killedAt = Date.now();
    await waitFor(async () => (await healthStatus(s.port)) === 503, {
      timeoutMs: 5_000,
      what: '/healthz to answer 503 while NATS is down',
    });
    const downFrames = viewer.videoCount('cam1');
    // Down for a while, but less than the presence timeout: the source stays.
    await sleep(1_500);
    assert.ok(viewer.videoCount('cam1') - downFrames <= 1, 'no frames flow while the broker is down');

    await nats.restart();
    const backAt = Date.now();
    const framesAt = await viewer.waitForMoreVideo('cam1', 3, RECOVERY_BUDGET_MS);
    const mixAt = await viewer.waitForMoreMix(5, RECOVERY_BUDGET_MS);
    await waitFor(async () => (await healthStatus(s.port)) === 200, {
      timeoutMs: RECOVERY_BUDGET_MS,
      what: '/healthz to answer 200 again',
    });
    const healthyAt = Date.now();
    t.diagnostic(
      `broker down ${backAt - killedAt} ms; after its return: video ${framesAt - backAt} ms, ` +
        `mix ${mixAt - backAt} ms, /healthz 200 ${healthyAt - backAt} ms`,
    );

    // Each service saw the loss and reconnected by itself: none was restarted.
    for (const [name, p] of [
      ['gateway', s.gateway!],
      ['mixer', s.mixer!],
      ['agent', s.agent('cam1')],
    ] as const) {
      assert.equal(p.child.exitCode, null, `${name} still runs`);
      assert.match(p.output(), /NATS connection lost/, `${name} noticed the loss`);
      assert.match(p.output(), /NATS reconnected/, `${name} reconnected`);
    }
    assert.equal(viewer.closed, null, 'the viewer socket stayed open');
  });

  it('recovers from an outage longer than the presence timeout', { timeout: 60_000 }, async (t) => {
    const s = stack!;
    const v = viewer!;
    await v.waitForMoreVideo('cam1', 3, 10_000);
    await nats.kill();
    const killedAt = Date.now();
    await sleep(PRESENCE_TIMEOUT_MS + 1_500);
    await nats.restart();
    const backAt = Date.now();
    const framesAt = await v.waitForMoreVideo('cam1', 3, RECOVERY_BUDGET_MS);
    const mixAt = await v.waitForMoreMix(5, RECOVERY_BUDGET_MS);
    // The gateway hears nobody while the broker is down, so it expires
    // nobody: no tile vanishes and comes back over a broker restart.
    const left = v.events.filter((e) => e.at >= killedAt && e.msg.type === 'source-left').length;
    const rejoined = v.events.filter((e) => e.at >= killedAt && e.msg.type === 'source-joined').length;
    t.diagnostic(
      `broker down ${backAt - killedAt} ms; after its return: video ${framesAt - backAt} ms, mix ${mixAt - backAt} ms; ` +
        `viewer saw ${left} source-left and ${rejoined} source-joined meanwhile`,
    );
    assert.equal(left, 0, 'no source-left while the broker was down');
    assert.equal(rejoined, 0, 'no source-joined after it came back: the tile never left');
    const sources = (await (await fetch(`http://127.0.0.1:${s.port}/api/rooms/${ROOM}/sources`)).json()) as unknown;
    assert.match(JSON.stringify(sources), /"cam1"/);
  });
});

/** `connected to NATS server=127.0.0.1:<port>` / `NATS reconnected server=…`: the port a service is on now. */
function currentServerPort(output: string): number | null {
  const all = [...output.matchAll(/(?:connected to NATS|NATS reconnected) server=\S*?:(\d+)/g)];
  const last = all.at(-1);
  return last ? Number(last[1]) : null;
}

describe('two clustered brokers, one killed', { timeout: 120_000 }, () => {
  let a: NatsServer;
  let b: NatsServer;
  let stack: Stack | undefined;
  let viewer: ViewerClient | undefined;

  before(async () => {
    a = await NatsServer.start({ cluster: { name: 'vidchat-test', routes: [] } });
    b = await NatsServer.start({ cluster: { name: 'vidchat-test', routes: [a.clusterUrl] } });
    stack = await startStack({
      nats: `${a.url},${b.url}`,
      room: ROOM,
      mixer: true,
      agents: [{ source: 'cam1', audio: true }],
    });
  });

  after(async () => {
    viewer?.close();
    await stack?.stop();
    await a?.stop();
    await b?.stop();
  });

  it('moves every client to the surviving server; frames keep arriving', { timeout: 90_000 }, async (t) => {
    const s = stack!;
    viewer = await ViewerClient.join(s.port, ROOM);
    // Frames cross the route when agent and gateway sit on different servers.
    await viewer.waitForMoreVideo('cam1', 5, 20_000);
    await viewer.waitForMoreMix(10, 20_000);

    // Kill the server the gateway is connected to (clients pick one of the
    // two URLs at random); whoever was on it must move to the other.
    const services = { gateway: s.gateway!, mixer: s.mixer!, agent: s.agent('cam1') };
    const gatewayPort = currentServerPort(s.gateway!.output());
    const [victim, survivor] = gatewayPort === a.port ? [a, b] : [b, a];
    assert.equal(gatewayPort, victim.port);
    const before = Object.fromEntries(Object.entries(services).map(([k, p]) => [k, currentServerPort(p.output())]));
    t.diagnostic(`servers a=${a.port} b=${b.port}; clients before: ${JSON.stringify(before)}; killing ${victim.port}`);

    await victim.kill();
    const killedAt = Date.now();
    const framesAt = await viewer.waitForMoreVideo('cam1', 3, RECOVERY_BUDGET_MS);
    const mixAt = await viewer.waitForMoreMix(5, RECOVERY_BUDGET_MS);
    for (const [name, p] of Object.entries(services)) {
      await waitFor(() => currentServerPort(p.output()) === survivor.port, {
        timeoutMs: RECOVERY_BUDGET_MS,
        what: `${name} to be on the surviving server ${survivor.port}`,
      });
      assert.equal(p.child.exitCode, null, `${name} still runs`);
    }
    await waitFor(async () => (await healthStatus(s.port)) === 200, { timeoutMs: 5_000, what: '/healthz 200' });
    t.diagnostic(`after the kill: video ${framesAt - killedAt} ms, mix ${mixAt - killedAt} ms`);
    // And they keep coming.
    await viewer.waitForMoreVideo('cam1', 10, 10_000);
    assert.equal(viewer.closed, null);

    // The dead one comes back and rejoins the cluster; now the other one
    // dies, and everybody moves back.
    await victim.restart();
    await sleep(1_000);
    await survivor.kill();
    const secondKillAt = Date.now();
    const framesAgainAt = await viewer.waitForMoreVideo('cam1', 3, RECOVERY_BUDGET_MS);
    for (const [name, p] of Object.entries(services)) {
      await waitFor(() => currentServerPort(p.output()) === victim.port, {
        timeoutMs: RECOVERY_BUDGET_MS,
        what: `${name} to be back on ${victim.port}`,
      });
    }
    await viewer.waitForMoreMix(5, RECOVERY_BUDGET_MS);
    t.diagnostic(`second failover (back to ${victim.port}): video ${framesAgainAt - secondKillAt} ms`);
  });
});
