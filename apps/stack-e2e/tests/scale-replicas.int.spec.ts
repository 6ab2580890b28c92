import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { NatsCluster, startApp, waitFor, type RunningProcess } from '@vidchat/test-support';

/*
 * What each part keeps in JetStream on a real 3-node cluster has the replica
 * count it is asked for: the recorder's object store bucket (--replicas),
 * the gateways' chat stream (--chat-replicas) and the mixers' lease bucket
 * (--lease-replicas). An existing stream is scaled up by a part that asks
 * for more, never down by one that asks for fewer (the default 1).
 */

interface StreamInfoReply {
  error?: { description?: string };
  config?: { num_replicas?: number };
  cluster?: { leader?: string; replicas?: { name: string }[] };
}

describe('replica counts of the JetStream streams on a 3-node cluster', { timeout: 240_000 }, () => {
  let cluster: NatsCluster;
  let nc: NatsConnection;
  const procs: RunningProcess[] = [];
  const workDir = mkdtempSync(join(tmpdir(), 'vidchat-replicas-'));

  /** The stream's configured replicas and how many nodes hold it (leader + replicas). */
  async function replicasOf(stream: string): Promise<{ config: number; nodes: number }> {
    const reply = await nc.request(`$JS.API.STREAM.INFO.${stream}`, undefined, { timeout: 5_000 });
    const info = reply.json<StreamInfoReply>();
    assert.equal(info.error, undefined, `stream ${stream}: ${info.error?.description}`);
    return {
      config: info.config?.num_replicas ?? 0,
      nodes: (info.cluster?.leader ? 1 : 0) + (info.cluster?.replicas?.length ?? 0),
    };
  }

  /** Waits until the stream has `n` replicas configured and placed on `n` nodes. */
  async function expectReplicas(stream: string, n: number): Promise<void> {
    let last = { config: 0, nodes: 0 };
    await waitFor(
      async () => {
        last = await replicasOf(stream);
        return last.config === n && last.nodes === n ? true : null;
      },
      { timeoutMs: 20_000, what: `${stream} with ${n} replicas` },
    ).catch((err: unknown) => {
      throw new Error(`${stream}: ${JSON.stringify(last)}, expected ${n}`, { cause: err });
    });
  }

  function start(app: 'gateway' | 'recorder' | 'mixer', args: string[]): RunningProcess {
    const p = startApp(app, ['--nats', cluster.natsArg, ...args]);
    procs.push(p);
    return p;
  }

  async function stop(p: RunningProcess): Promise<void> {
    await p.stop();
  }

  before(async () => {
    cluster = await NatsCluster.start();
    nc = await connect({ servers: cluster.urls });
  });

  after(async () => {
    for (const p of procs) await p.stop().catch(() => undefined);
    await nc?.close();
    await cluster?.stop();
    rmSync(workDir, { recursive: true, force: true });
  });

  it('the recorder creates its bucket with --replicas copies (1 by default)', async () => {
    const three = start('recorder', ['--work-dir', join(workDir, 'a'), '--replicas', '3']);
    await three.waitForOutput(/recordings bucket open[^\n]*replicas=3/, 30_000);
    await expectReplicas('OBJ_vidchat-recordings', 3);
    const one = start('recorder', ['--work-dir', join(workDir, 'b'), '--bucket', 'rec-default']);
    await one.waitForOutput(/recordings bucket open/, 30_000);
    await expectReplicas('OBJ_rec-default', 1);
    // Asked for more than an existing bucket has: it says so (it may not update streams).
    const more = start('recorder', ['--work-dir', join(workDir, 'c'), '--bucket', 'rec-default', '--replicas', '3']);
    await more.waitForOutput(/recordings bucket has fewer replicas than asked for[^\n]*replicas=1 wanted=3/, 30_000);
    for (const p of [three, one, more]) await stop(p);
  });

  it('the gateways create the chat stream with --chat-replicas copies and scale it up, never down', async () => {
    const gw = (args: string[]): RunningProcess => start('gateway', ['--host', '127.0.0.1', '--port', '0', ...args]);
    const first = gw([]);
    await first.waitForOutput(/chat stream created[^\n]*replicas=1/, 30_000);
    await expectReplicas('VIDCHAT_CHAT', 1);
    const second = gw(['--chat-replicas', '3']);
    await second.waitForOutput(/chat stream updated[^\n]*replicas=3/, 30_000);
    await expectReplicas('VIDCHAT_CHAT', 3);
    const third = gw([]);
    await third.waitForOutput(/chat stream updated[^\n]*replicas=3/, 30_000);
    await expectReplicas('VIDCHAT_CHAT', 3);
    for (const p of [first, second, third]) await stop(p);
  });

  it('the lease bucket: a mixer with --lease-replicas 3 scales up one made with 1', async () => {
    const a = start('mixer', ['--instance-id', 'mixer-a']);
    await a.waitForOutput(/leases on/, 30_000);
    assert.match(a.output(), /fewer than 3 replicas on a NATS cluster/, 'one replica on a cluster is warned');
    await expectReplicas('KV_vidchat-mixer-leases', 1);
    const b = start('mixer', ['--instance-id', 'mixer-b', '--lease-replicas', '3']);
    await b.waitForOutput(/leases on/, 30_000);
    assert.match(b.output(), /lease bucket scaled up from=1 to=3/);
    await expectReplicas('KV_vidchat-mixer-leases', 3);
    for (const p of [a, b]) await stop(p);
  });
});
