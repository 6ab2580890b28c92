import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { decodeEnvelope, mixAudioSubject } from '@vidchat/protocol';
import { NatsCluster, waitFor } from '@vidchat/test-support';
import { healthStatus, startStack, ViewerClient, type Stack } from '../src/index.js';

/*
 * Scale-out on a real 3-node nats-server cluster with JetStream: two
 * gateways and two mixers (sharing the room through leases), one real agent,
 * a WebSocket viewer on each gateway. Killing the NATS node one gateway is
 * on: that gateway and the agent move to another node, the viewer gets
 * frames again within RECOVERY_BUDGET_MS, the room's mix comes back, and it
 * is never published by both mixers at once.
 */
const ROOM = 'scale';
const RECOVERY_BUDGET_MS = 5_000;
/** Mix back after a node loss: if the node led the lease stream, the raft election (4-9 s) comes first. */
const MIX_RECOVERY_MS = 10_000;

/** `server_name` of the node a service's log says it is on now (connect and reconnect lines). */
function currentNode(output: string): string | null {
  const all = [...output.matchAll(/(?:connected to NATS|NATS reconnected) server=\S+ name=(\S+)/g)];
  return all.at(-1)?.[1] ?? null;
}

describe('two gateways and two mixers on a 3-node JetStream cluster', { timeout: 180_000 }, () => {
  let cluster: NatsCluster;
  const stacks: Stack[] = [];
  const viewers: ViewerClient[] = [];
  let nc: NatsConnection;
  const mixSeqs: number[] = [];

  before(async () => {
    cluster = await NatsCluster.start();
    nc = await connect({ servers: cluster.urls });
    nc.subscribe(mixAudioSubject(ROOM), {
      callback: (_e, msg) => {
        mixSeqs.push(decodeEnvelope(msg.data).seq);
      },
    });
    for (const [i, id] of ['mixer-a', 'mixer-b'].entries()) {
      stacks.push(
        await startStack({
          nats: cluster.natsArg,
          room: ROOM,
          mixer: true,
          mixerArgs: ['--instance-id', id, '--lease-replicas', '3'],
          agents: i === 0 ? [{ source: 'cam1', audio: true }] : [],
        }),
      );
    }
  });

  after(async () => {
    for (const v of viewers) v.close();
    for (const s of stacks) await s.stop().catch(() => undefined);
    await nc?.close();
    await cluster?.stop();
  });

  it('a killed node: its clients move, the viewer gets frames within 5 s, the mix is back and never doubled', async (t) => {
    for (const s of stacks) viewers.push(await ViewerClient.join(s.port, ROOM));
    for (const v of viewers) {
      await v.waitForMoreVideo('cam1', 5, 30_000);
      await v.waitForMoreMix(10, 30_000);
    }
    const dupes = (): number => mixSeqs.length - new Set(mixSeqs).size;
    assert.equal(dupes(), 0, 'the room is mixed by one mixer');

    // Kill the node the first gateway is on.
    const gateway = stacks[0]!.gateway!;
    const agent = stacks[0]!.agent('cam1');
    const node = currentNode(gateway.output());
    assert.ok(node, `the gateway says which node it is on:\n${gateway.output().slice(-1500)}`);
    const victim = cluster.names.indexOf(node);
    assert.ok(victim >= 0, `node ${node} is one of ${cluster.names.join(', ')}`);
    t.diagnostic(
      `gateways on ${node}, ${currentNode(stacks[1]!.gateway!.output())}; agent on ${currentNode(agent.output())}; mixers on ` +
        stacks.map((s) => currentNode(s.mixer!.output())).join(', '),
    );
    await cluster.kill(victim);
    const killedAt = Date.now();

    const v = viewers[0]!;
    const framesAt = await v.waitForMoreVideo('cam1', 3, RECOVERY_BUDGET_MS);
    const mixAt = await v.waitForMoreMix(5, MIX_RECOVERY_MS);
    await waitFor(() => currentNode(gateway.output()) !== node, {
      timeoutMs: RECOVERY_BUDGET_MS,
      what: 'the gateway on another node',
    });
    await waitFor(async () => (await healthStatus(stacks[0]!.port)) === 200, {
      timeoutMs: RECOVERY_BUDGET_MS,
      what: '/healthz 200',
    });
    t.diagnostic(
      `after killing ${node}: video ${framesAt - killedAt} ms, mix ${mixAt - killedAt} ms; ` +
        `gateway now on ${currentNode(gateway.output())}, agent on ${currentNode(agent.output())}`,
    );
    assert.equal(agent.child.exitCode, null, 'the agent still runs');
    assert.notEqual(currentNode(agent.output()), node, 'the agent is not on the dead node');
    // The other gateway's viewer kept its room too.
    await viewers[1]!.waitForMoreVideo('cam1', 5, RECOVERY_BUDGET_MS).catch((err: unknown) => {
      throw new Error(`second viewer; its gateway:\n${stacks[1]!.gateway!.output().slice(-3000)}`, { cause: err });
    });
    await viewers[1]!.waitForMoreMix(5, MIX_RECOVERY_MS);
    assert.equal(dupes(), 0, 'never two mix packets with one sequence number');
    for (const viewer of viewers) assert.equal(viewer.closed, null, 'viewer sockets stayed open');

    // The node comes back and rejoins; nothing breaks.
    await cluster.restart(victim);
    await v.waitForMoreVideo('cam1', 5, RECOVERY_BUDGET_MS);
    assert.equal(dupes(), 0);

    // Now the node the agent is on dies: the agent moves and both viewers get its frames again.
    const agentNode = currentNode(agent.output());
    assert.ok(agentNode);
    await cluster.kill(cluster.names.indexOf(agentNode));
    const agentKilledAt = Date.now();
    await waitFor(() => currentNode(agent.output()) !== agentNode, {
      timeoutMs: RECOVERY_BUDGET_MS,
      what: 'the agent on another node',
    });
    const againAt = await Promise.all(viewers.map((viewer) => viewer.waitForMoreVideo('cam1', 3, RECOVERY_BUDGET_MS)));
    t.diagnostic(
      `after killing the agent's node ${agentNode}: agent now on ${currentNode(agent.output())}; video at the viewers ` +
        againAt.map((at) => `${at - agentKilledAt} ms`).join(', '),
    );
    assert.equal(agent.child.exitCode, null, 'the agent still runs');
  });
});
