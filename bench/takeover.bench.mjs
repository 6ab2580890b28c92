// Scale-out figures (docs/SCALE-OUT.md).
//
//  1. Mixer takeover gap: a real 3-node nats-server cluster with JetStream,
//     two `vidchat-mixer` processes sharing a room through leases (the room
//     is started by presence alone, so its mix is published every 20 ms
//     without ffmpeg). The owner is SIGKILLed, then restarted; the gap is
//     the longest silence of the room mix around each kill, and the jump of
//     its sequence numbers against the ticks elapsed. p50 / max over the kills.
//  2. Lease stream leader loss: the same two mixers; the node that leads the
//     lease bucket's stream (KV_vidchat-mixer-leases) is SIGKILLed. The
//     baseline, measured in the same run, is the bucket's own outage: from
//     the kill to the first write a probe client gets answered (the raft
//     election, 4-9 s in nats-server). The room mix's longest silence and
//     when it came back are set against it.
//  3. Gateway NATS ingress follows its viewers: one `vidchat-gateway`, ten
//     rooms with one fake camera each (10 fps, a 320x240 JPEG of about 9 KB); the bytes the
//     server sends to the gateway's connection (nats-server /connz,
//     out_bytes of the client named vidchat-gateway) over a window, with a
//     viewer in 1 room against viewers in all 10. Expected ratio about 1/10.
//
//   npx tsc -b apps/mixer apps/gateway apps/stack-e2e && node bench/takeover.bench.mjs [--quick] [--json]
//
// Exports run({ quick }) → results object, and render(results) → text table.
import { connect } from '@nats-io/transport-node';
import { jetstream } from '@nats-io/jetstream';
import { Kvm } from '@nats-io/kv';
import {
  decodeEnvelope,
  encodePresence,
  mixAudioSubject,
  PRESENCE_VERSION,
  presenceSubject,
} from '../libs/protocol/dist/src/index.js';
import {
  FakeSource,
  freePort,
  makeJpeg,
  NatsCluster,
  NatsServer,
  sleep,
  startApp,
  waitFor,
} from '../libs/test-support/dist/src/index.js';
import { startStack, ViewerClient } from '../apps/stack-e2e/dist/src/index.js';
import { onCleanup } from './lib/procs.mjs';
import { runQuickJson } from './lib/cli.mjs';

const ROOM = 'takeover';

function percentile(sorted, p) {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

/**
 * What both mixer figures start from: a fresh 3-node cluster, a client on
 * it, two mixers sharing rooms through leases (`startMixer` starts one again
 * under its id), and a microphone source that sends presence heartbeats into
 * the room; `join()` announces it (the room starts on presence alone) once
 * both mixers have their leases. `close()` ends all of it.
 */
async function leasedMixers() {
  const cluster = await NatsCluster.start();
  const unregister = onCleanup(() => cluster.stop());
  const nc = await connect({ servers: cluster.urls });
  const startMixer = (id) =>
    startApp('mixer', ['--nats', cluster.natsArg, '--instance-id', id, '--lease-replicas', '3']);
  const mixers = { 'mixer-a': startMixer('mixer-a'), 'mixer-b': startMixer('mixer-b') };
  const presence = (type) =>
    nc.publish(
      presenceSubject(ROOM, 'mic'),
      encodePresence({
        v: PRESENCE_VERSION,
        type,
        room: ROOM,
        source: 'mic',
        name: 'mic',
        ts: Date.now(),
        video: null,
        audio: { codec: 'opus', sampleRate: 48_000, channels: 1, frameDurationMs: 20 },
      }),
    );
  const beat = setInterval(() => presence('heartbeat'), 1_000);
  return {
    cluster,
    nc,
    mixers,
    startMixer,
    async join() {
      for (const m of Object.values(mixers)) await m.waitForOutput(/leases on/, 30_000);
      presence('join');
    },
    async close() {
      clearInterval(beat);
      for (const m of Object.values(mixers)) await m.stop().catch(() => undefined);
      await nc.close();
      await cluster.stop();
      unregister();
    },
  };
}

async function takeover(kills) {
  const stack = await leasedMixers();
  const { nc, mixers } = stack;
  const packets = [];
  nc.subscribe(mixAudioSubject(ROOM), {
    callback: (_e, msg) => {
      packets.push({ at: Date.now(), seq: decodeEnvelope(msg.data).seq });
    },
  });
  const samples = [];
  try {
    await stack.join();
    await waitFor(() => packets.length > 100, { timeoutMs: 30_000, what: 'the room mix' });
    for (let k = 0; k < kills; k++) {
      // The owner is the mixer whose latest lease line for the room is a win.
      const owner = Object.entries(mixers).find(([, m]) => {
        const wins = [...m.output().matchAll(/lease (won|lost)[^\n]*room=takeover/g)];
        return wins.at(-1)?.[1] === 'won';
      });
      if (!owner) throw new Error('no mixer holds the room');
      const [id, proc] = owner;
      const before = packets.length;
      const killedAt = Date.now();
      proc.child.kill('SIGKILL');
      await proc.exited;
      await waitFor(() => packets.length > before + 25, { timeoutMs: 15_000, what: 'the mix after the kill' });
      // The longest silence after the kill: a packet or two already on the
      // way when the owner died still arrive first.
      let i = before;
      for (let j = before; j < before + 25; j++) {
        if (packets[j].at - packets[j - 1].at > packets[i].at - packets[i - 1].at) i = j;
      }
      const last = packets[i - 1];
      const first = packets[i];
      const gapMs = first.at - last.at;
      samples.push({
        kill: k + 1,
        gapMs,
        afterKillMs: first.at - killedAt,
        seqJump: (first.seq - last.seq) | 0,
        ticksElapsed: Math.round(gapMs / 20),
        duplicates: packets.length - new Set(packets.map((p) => p.seq)).size,
      });
      mixers[id] = stack.startMixer(id);
      await mixers[id].waitForOutput(/leases on/, 30_000);
      await sleep(2_000);
    }
  } finally {
    await stack.close();
  }
  const gaps = samples.map((s) => s.gapMs).sort((a, b) => a - b);
  return {
    kills: samples.length,
    gapP50Ms: percentile(gaps, 50),
    gapMaxMs: gaps.at(-1),
    duplicates: samples.at(-1)?.duplicates ?? 0,
    samples,
  };
}

const LEASE_STREAM = 'KV_vidchat-mixer-leases';

async function leaderLoss(kills) {
  const stack = await leasedMixers();
  const { cluster, nc } = stack;
  const samples = [];
  let duplicates = 0;
  try {
    await stack.join();
    for (let k = 0; k < kills; k++) {
      const info = await waitFor(
        async () => {
          const r = await nc
            .request(`$JS.API.STREAM.INFO.${LEASE_STREAM}`, undefined, { timeout: 1_000 })
            .catch(() => null);
          const i = r?.json();
          return i?.cluster?.leader && (i.cluster.replicas ?? []).every((p) => p.current) ? i : null;
        },
        { timeoutMs: 30_000, what: 'the lease stream with a leader and current replicas' },
      );
      const leader = cluster.names.indexOf(info.cluster.leader);
      // Watch and probe from a node that survives, so that no reconnect of ours is measured.
      const other = cluster.urls[(leader + 1) % cluster.urls.length];
      const watch = await connect({ servers: other, reconnect: false });
      const packets = [];
      watch.subscribe(mixAudioSubject(ROOM), {
        callback: (_e, msg) => {
          packets.push({ at: Date.now(), seq: decodeEnvelope(msg.data).seq });
        },
      });
      const kv = await new Kvm(jetstream(watch, { timeout: 500 })).open('vidchat-mixer-leases');
      await waitFor(() => packets.length > 100, { timeoutMs: 30_000, what: 'the room mix' });
      const before = packets.length;
      await cluster.kill(leader);
      const killedAt = Date.now();
      let writesBackAt = 0;
      while (Date.now() - killedAt < 30_000) {
        const t = Date.now();
        try {
          await kv.put('bench.probe', String(t));
          writesBackAt = t;
          break;
        } catch {
          await sleep(50);
        }
      }
      await waitFor(() => packets.length > before + 50 && packets.at(-1).at > writesBackAt, {
        timeoutMs: 15_000,
        what: 'the mix after the election',
      });
      let i = before;
      for (let j = before; j < packets.length; j++) {
        if (packets[j].at - packets[j - 1].at > packets[i].at - packets[i - 1].at) i = j;
      }
      samples.push({
        kill: k + 1,
        writesBackMs: writesBackAt - killedAt,
        gapMs: packets[i].at - packets[i - 1].at,
        mixBackMs: packets[i].at - killedAt,
        mixBackMinusWritesBackMs: packets[i].at - writesBackAt,
      });
      duplicates += packets.length - new Set(packets.map((p) => p.seq)).size;
      await watch.close();
      await cluster.restart(leader);
      await sleep(2_000);
    }
  } finally {
    await stack.close();
  }
  const med = (key) => {
    const v = samples.map((x) => x[key]).sort((a, b) => a - b);
    return percentile(v, 50);
  };
  return {
    kills: samples.length,
    writesBackP50Ms: med('writesBackMs'),
    mixBackP50Ms: med('mixBackMs'),
    gapP50Ms: med('gapMs'),
    gapMaxMs: Math.max(...samples.map((x) => x.gapMs)),
    duplicates,
    samples,
  };
}

async function gatewayBytesIn(monitorPort) {
  const connz = await (await fetch(`http://127.0.0.1:${monitorPort}/connz?limit=1024`)).json();
  const gw = connz.connections.filter((c) => c.name === 'vidchat-gateway');
  if (gw.length !== 1) throw new Error(`expected one vidchat-gateway connection, found ${gw.length}`);
  return gw[0].out_bytes;
}

async function ingress(windowMs) {
  const monitorPort = await freePort();
  const server = await NatsServer.start({ extraConfig: `http: 127.0.0.1:${monitorPort}` });
  const unregister = onCleanup(() => server.stop());
  const rooms = Array.from({ length: 10 }, (_, i) => `ingress${i}`);
  const nc = await connect({ servers: server.url });
  const jpeg = makeJpeg('320x240', 5);
  const sources = rooms.map((room) => new FakeSource(nc, room, 'cam'));
  let stack;
  const viewers = [];
  try {
    stack = await startStack({ nats: server.url, room: rooms[0], agents: [] });
    for (const s of sources) s.start(jpeg, 10);
    await sleep(1_500);
    const measure = async (label) => {
      const b0 = await gatewayBytesIn(monitorPort);
      const t0 = Date.now();
      await sleep(windowMs);
      const bytes = (await gatewayBytesIn(monitorPort)) - b0;
      return { case: label, kBytesPerS: Math.round(bytes / (Date.now() - t0)) };
    };
    const none = await measure('no viewers');
    viewers.push(await ViewerClient.join(stack.port, rooms[0]));
    await viewers[0].waitForMoreVideo('cam', 3, 10_000);
    const one = await measure('viewers in 1 of 10 rooms');
    for (const room of rooms.slice(1)) viewers.push(await ViewerClient.join(stack.port, room));
    for (const v of viewers) await v.waitForMoreVideo('cam', 3, 10_000);
    const all = await measure('viewers in all 10 rooms');
    return {
      jpegBytes: jpeg.length,
      fps: 10,
      windowMs,
      cases: [none, one, all],
      oneOverAll: Number((one.kBytesPerS / all.kBytesPerS).toFixed(3)),
    };
  } finally {
    for (const v of viewers) v.close();
    for (const s of sources) s.stop();
    await stack?.stop();
    await nc.close();
    await server.stop();
    unregister();
  }
}

export async function run({ quick = false } = {}) {
  return {
    node: process.version,
    quick,
    takeover: await takeover(quick ? 3 : 6),
    leaderLoss: await leaderLoss(quick ? 2 : 4),
    ingress: await ingress(quick ? 3_000 : 8_000),
  };
}

export function render(r) {
  const t = r.takeover;
  const g = r.ingress;
  return [
    `scale-out bench, Node ${r.node}${r.quick ? ', --quick' : ''}`,
    '',
    `mixer takeover on a 3-node JetStream cluster, owner SIGKILLed ${t.kills} times (lease TTL 1500 ms):`,
    `  room mix silent p50 ${t.gapP50Ms} ms, max ${t.gapMaxMs} ms; sequence numbers received twice: ${t.duplicates}`,
    '  kill   gap ms   after kill ms   seq jump   ticks elapsed',
    ...t.samples.map(
      (s) =>
        `  ${String(s.kill).padStart(4)}   ${String(s.gapMs).padStart(6)}   ${String(s.afterKillMs).padStart(13)}   ${String(s.seqJump).padStart(8)}   ${String(s.ticksElapsed).padStart(13)}`,
    ),
    '',
    ...renderLeaderLoss(r.leaderLoss, false),
    '',
    `gateway NATS ingress (nats-server /connz out_bytes to the gateway), 10 rooms × 1 camera × ${g.fps} fps × ${g.jpegBytes} B, ${g.windowMs} ms windows:`,
    ...g.cases.map((c) => `  ${c.case.padEnd(26)} ${String(c.kBytesPerS).padStart(6)} kB/s`),
    `  1 room / 10 rooms: ${g.oneOverAll} (expected about 0.1)`,
  ].join('\n');
}

function renderLeaderLoss(l, markdown) {
  if (!l) return [];
  const head = `Lease stream leader SIGKILLed ${l.kills} times: the bucket took writes again after p50 ${l.writesBackP50Ms} ms (the election, the baseline); the room mix was back after p50 ${l.mixBackP50Ms} ms, silent p50 ${l.gapP50Ms} ms, max ${l.gapMaxMs} ms; sequence numbers received twice: ${l.duplicates}.`;
  const cols = ['kill', 'writesBackMs', 'mixBackMs', 'gapMs', 'mixBackMinusWritesBackMs'];
  if (markdown) {
    return [
      head,
      '',
      `| ${cols.join(' | ')} |`,
      `| ${cols.map((c) => '-'.repeat(c.length)).join(' | ')} |`,
      ...l.samples.map((x) => `| ${cols.map((c) => x[c]).join(' | ')} |`),
    ];
  }
  return [
    head,
    `  ${cols.join('   ')}`,
    ...l.samples.map((x) => `  ${cols.map((c) => String(x[c]).padStart(c.length)).join('   ')}`),
  ];
}

export function renderMarkdown(r) {
  const t = r.takeover;
  const g = r.ingress;
  return [
    `Mixer takeover, owner SIGKILLed ${t.kills} times (lease TTL 1500 ms, 3-node cluster): room mix silent **p50 ${t.gapP50Ms} ms, max ${t.gapMaxMs} ms**; sequence numbers received twice: ${t.duplicates}.`,
    '',
    '| kill | gapMs | afterKillMs | seqJump | ticksElapsed |',
    '| ---- | ----- | ----------- | ------- | ------------ |',
    ...t.samples.map((s) => `| ${s.kill} | ${s.gapMs} | ${s.afterKillMs} | ${s.seqJump} | ${s.ticksElapsed} |`),
    '',
    ...renderLeaderLoss(r.leaderLoss, true),
    '',
    `Gateway NATS ingress (nats-server \`/connz\` out_bytes to the gateway), 10 rooms × 1 camera × ${g.fps} fps × ${g.jpegBytes} B, ${g.windowMs} ms windows: 1 room / 10 rooms = **${g.oneOverAll}** (expected about 0.1).`,
    '',
    '| case | kBytesPerS |',
    '| ---- | ---------- |',
    ...g.cases.map((c) => `| ${c.case} | ${c.kBytesPerS} |`),
  ].join('\n');
}

await runQuickJson(import.meta.url, run, render);
