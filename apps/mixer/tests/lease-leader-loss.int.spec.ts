import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import {
  decodeEnvelope,
  encodePresence,
  MIXER_LEASE_BUCKET,
  mixAudioSubject,
  PRESENCE_VERSION,
  presenceSubject,
  type PresenceMessage,
} from '@vidchat/protocol';
import { NatsCluster, sleep, startApp, waitFor, type RunningProcess } from '@vidchat/test-support';

/*
 * The node that leads the lease bucket's stream dies (a real 3-node
 * nats-server 2.9 cluster). Until the other two elect a new leader (raft
 * election timeout 4-9 s in nats-server, not configurable) no mixer can
 * renew or take a lease: the owner publishes until the deadline of its last
 * answered renewal, then keeps the lease and the room's mix running
 * unpublished, retrying; its first renewal answered by the new leader makes
 * it publish again. The mix is back soon after the election (not one more
 * TTL and a takeover later), and never published by two mixers at once.
 */
const ROOM = 'leaderloss';
const STREAM = `KV_${MIXER_LEASE_BUCKET}`;
/** From the new leader's first answer to the mix flowing again: a retry period (ttl/8) plus a loaded machine's slack. */
const AFTER_ELECTION_MS = 2_500;
/** From the kill: the election's worst case (9 s) plus the above. */
const AFTER_KILL_MS = 12_000;

interface StreamInfoReply {
  error?: { description?: string };
  config?: { num_replicas?: number };
  cluster?: { leader?: string; replicas?: { name: string; current: boolean }[] };
}

let cluster: NatsCluster;
let nc: NatsConnection;
const mixers: RunningProcess[] = [];
const received: { at: number; seq: number }[] = [];

async function streamInfo(conn: NatsConnection): Promise<StreamInfoReply> {
  try {
    const reply = await conn.request(`$JS.API.STREAM.INFO.${STREAM}`, undefined, { timeout: 1_000 });
    return reply.json<StreamInfoReply>();
  } catch (err) {
    return { error: { description: (err as Error).message } };
  }
}

function presence(type: PresenceMessage['type']): PresenceMessage {
  return {
    v: PRESENCE_VERSION,
    type,
    room: ROOM,
    source: 'mic',
    name: 'mic',
    ts: Date.now(),
    video: null,
    audio: { codec: 'opus', sampleRate: 48_000, channels: 1, frameDurationMs: 20 },
  };
}

function duplicates(): number {
  return received.length - new Set(received.map((r) => r.seq)).size;
}

before(async () => {
  cluster = await NatsCluster.start();
  for (const id of ['mixer-a', 'mixer-b']) {
    // prettier-ignore
    const m = startApp('mixer', ['--nats', cluster.natsArg, '--instance-id', id, '--lease-replicas', '3', '--status-interval-ms', '2000']);
    mixers.push(m);
    await m.waitForOutput(/leases on/, 30_000);
  }
});

after(async () => {
  for (const m of mixers) await m.stop().catch(() => undefined);
  await nc?.close();
  await cluster?.stop();
});

test(
  'the lease stream leader dies: the mix is back soon after the election, never doubled',
  { timeout: 120_000 },
  async (t) => {
    // The test's own connection is on a node that is not the leader, so that
    // what it sees is the mixers' doing, not its own reconnect.
    const probe = await connect({ servers: cluster.urls[0]!, reconnect: false });
    const info = await waitFor(
      async () => {
        const i = await streamInfo(probe);
        return i.cluster?.leader && (i.cluster.replicas?.length ?? 0) === 2 ? i : null;
      },
      { timeoutMs: 30_000, what: 'the lease stream with a leader and two replicas' },
    );
    await probe.close();
    assert.equal(info.config?.num_replicas, 3, 'the lease bucket has 3 replicas');
    const leader = cluster.names.indexOf(info.cluster!.leader!);
    assert.ok(leader >= 0, `leader ${info.cluster!.leader} is a node of the cluster`);
    const watcher = cluster.urls[(leader + 1) % cluster.urls.length]!;
    nc = await connect({ servers: watcher });
    nc.subscribe(mixAudioSubject(ROOM), {
      callback: (_e, msg) => {
        received.push({ at: Date.now(), seq: decodeEnvelope(msg.data).seq });
      },
    });
    const beat = (type: PresenceMessage['type']): void => {
      nc.publish(presenceSubject(ROOM, 'mic'), encodePresence(presence(type)));
    };
    beat('join');
    const timer = setInterval(() => beat('heartbeat'), 1_000);
    try {
      await waitFor(() => received.length > 100, { timeoutMs: 30_000, what: 'the room mix' });
      const owners = mixers.filter((m) => new RegExp(`lease won room=${ROOM}\\b`).test(m.output()));
      assert.equal(owners.length, 1, 'one mixer won the room');
      const owner = mixers.indexOf(owners[0]!);

      const before = received.length;
      await cluster.kill(leader);
      const killedAt = Date.now();
      // The new leader, as the surviving nodes see it.
      const elected = await waitFor(
        async () => {
          const i = await streamInfo(nc);
          const l = i.cluster?.leader;
          return l && l !== cluster.names[leader] ? { leader: l, at: Date.now() } : null;
        },
        { timeoutMs: 30_000, intervalMs: 50, what: 'a new leader of the lease stream' },
      );
      await waitFor(() => received.length > before && received.at(-1)!.at > elected.at, {
        timeoutMs: 15_000,
        what: 'the mix after the election',
      });
      // The longest silence since the kill, and where it ended.
      let gapMs = 0;
      let backAt = received.at(-1)!.at;
      for (let i = Math.max(1, before); i < received.length; i++) {
        const g = received[i]!.at - received[i - 1]!.at;
        if (g > gapMs) {
          gapMs = g;
          backAt = received[i]!.at;
        }
      }
      const takenOver = mixers.some((m, i) => i !== owner && new RegExp(`lease won room=${ROOM}\\b`).test(m.output()));
      t.diagnostic(
        `killed leader ${cluster.names[leader]}; new leader ${elected.leader} after ${elected.at - killedAt} ms; ` +
          `mix silent ${gapMs} ms, back ${backAt - killedAt} ms after the kill, ${backAt - elected.at} ms after the election seen; ` +
          (takenOver ? 'the other mixer took the room' : `mixer-${'ab'[owner]} kept the room`),
      );
      assert.ok(backAt - killedAt <= AFTER_KILL_MS, `mix back ${backAt - killedAt} ms after the kill`);
      assert.ok(
        backAt - elected.at <= AFTER_ELECTION_MS,
        `mix back ${backAt - elected.at} ms after the new leader was seen`,
      );
      if (!takenOver) {
        // The owner kept its lease through the election: it never gave the room up.
        const out = mixers[owner]!.output();
        assert.match(out, new RegExp(`lease renewal got no answer[^\\n]*room=${ROOM}\\b`));
        assert.doesNotMatch(out, new RegExp(`lease lost[^\\n]*room=${ROOM}\\b`));
      }

      // Then steady: about 50 packets/s from one mixer, every sequence number once.
      const from = received.length;
      const t0 = Date.now();
      await sleep(3_000);
      const n = received.length - from;
      const perS = n / ((Date.now() - t0) / 1_000);
      assert.ok(perS > 25 && perS < 70, `about 50 packets/s after the election, got ${perS.toFixed(1)}`);
      assert.equal(duplicates(), 0, 'never two packets with one sequence number');
      for (const m of mixers) assert.equal(m.child.exitCode, null, 'both mixers still run');
    } finally {
      clearInterval(timer);
      beat('leave');
    }
  },
);
