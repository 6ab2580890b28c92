import assert from 'node:assert/strict';
import { randomBytes, randomInt } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import {
  audioSubject,
  encodeEnvelope,
  encodeLevelsEnvelope,
  encodePresence,
  ENVELOPE_LIMITS,
  mixAudioSubject,
  mixLevelsSubject,
  presenceSubject,
  utf8Encode,
  videoSubject,
  type Envelope,
  type PresenceMessage,
} from '@vidchat/protocol';
import { NatsServer, REPO_ROOT, waitFor } from '@vidchat/test-support';
import {
  healthStatus,
  metricSum,
  mixerStatusSum,
  rssBytes,
  scrapeMetrics,
  startStack,
  ViewerClient,
  type Stack,
} from '../src/index.js';

/*
 * Bad input on NATS, published with a raw client onto the subjects a real
 * stack listens to (gateway, mixer, a real agent with camera and microphone,
 * a WebSocket viewer). Each case: the gateway counts every bad message under
 * a named reason on /metrics (exact counts where the input is certain to be
 * bad), the mixer counts what it sees on its status line, neither crashes
 * nor forwards anything invalid, and the real agent's frames and the mix
 * still reach the viewer afterwards.
 */

const ROOM = 'badin';
const FLOOD_ROOM = 'flood';
/** A small per-room source cap so that the flood case stays cheap. */
const SOURCE_CAP = 16;
const RANDOM_PER_SUBJECT = 600;

type Publication = [subject: string, bytes: Uint8Array];

const video = (source: string, payload: Uint8Array = randomBytes(64)): Envelope => ({
  kind: 'video',
  source,
  seq: 1,
  captureTimeUs: Date.now() * 1_000,
  width: 64,
  height: 48,
  codec: 'jpeg',
  layer: 0,
  payload,
});
const audio = (source: string, payload: Uint8Array = randomBytes(40)): Envelope => ({
  kind: 'audio',
  source,
  seq: 1,
  captureTimeUs: Date.now() * 1_000,
  codec: 'opus',
  sampleRate: 48_000,
  channels: 1,
  durationUs: 20_000,
  payload,
});
const mixed = (payload: Uint8Array = randomBytes(40)): Envelope => ({
  kind: 'mixedAudio',
  source: '',
  seq: 1,
  captureTimeUs: Date.now() * 1_000,
  codec: 'opus',
  sampleRate: 48_000,
  channels: 1,
  durationUs: 20_000,
  payload,
});
const presence = (room: string, source: string, over: Record<string, unknown> = {}): PresenceMessage =>
  ({
    v: 1,
    type: 'join',
    room,
    source,
    name: source,
    ts: Date.now(),
    video: { codec: 'jpeg', width: 64, height: 48, fps: 10 },
    audio: { codec: 'opus', sampleRate: 48_000, channels: 1, frameDurationMs: 20 },
    ...over,
  }) as PresenceMessage;
const json = (v: unknown): Uint8Array => utf8Encode(JSON.stringify(v));

/** Every way a valid envelope can be made bad without luck deciding: cuts, extra bytes, versions, kinds, sizes. */
function brokenEnvelopes(valid: Uint8Array, payloadLength: number, oversized: Uint8Array): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let n = 0; n < valid.length; n++) out.push(valid.slice(0, n));
  out.push(Buffer.concat([valid, Buffer.from([0])]), Buffer.concat([valid, randomBytes(100)]));
  for (const version of [0, 2, 255]) {
    const b = Buffer.from(valid);
    b[2] = version;
    out.push(b);
  }
  for (const kind of [0, 5, 255]) {
    const b = Buffer.from(valid);
    b[3] = kind;
    out.push(b);
  }
  // A payload length that claims more than the message holds, and than any limit.
  const lying = Buffer.from(valid);
  lying.writeUInt32BE(0xffffffff, valid.length - payloadLength - 4);
  out.push(lying, oversized);
  return out;
}

describe('bad input on NATS', { timeout: 240_000 }, () => {
  let nats: NatsServer;
  let stack: Stack | undefined;
  let nc: NatsConnection | undefined;
  let viewer: ViewerClient | undefined;
  let rssStart = 0;
  let mixerRssStart = 0;
  let natsSubsStart = 0;

  before(async () => {
    nats = await NatsServer.start();
    stack = await startStack({
      nats: nats.url,
      room: ROOM,
      mixer: true,
      agents: [{ source: 'cam1', audio: true }],
      gatewayArgs: ['--max-sources-per-room', String(SOURCE_CAP)],
      mixerArgs: ['--max-sources-per-room', String(SOURCE_CAP)],
    });
    nc = await connect({ servers: nats.url });
    viewer = await ViewerClient.join(stack.port, ROOM);
    await viewer.waitForMoreVideo('cam1', 5, 20_000);
    await viewer.waitForMoreMix(10, 20_000);
    rssStart = rssBytes(stack.gateway!.child.pid!);
    mixerRssStart = rssBytes(stack.mixer!.child.pid!);
    natsSubsStart = metricSum(await scrapeMetrics(stack.port), 'vidchat_gateway_nats_subscriptions');
  });

  after(async () => {
    viewer?.close();
    await nc?.close();
    await stack?.stop();
    await nats?.stop();
  });

  async function publishAll(list: Publication[]): Promise<void> {
    for (const [subject, bytes] of list) nc!.publish(subject, bytes);
    await nc!.flush();
  }

  async function invalid(): Promise<Record<string, number>> {
    const m = await scrapeMetrics(stack!.port);
    const reasons = ['presence-garbage', 'presence-mismatch', 'envelope-garbage', 'envelope-mismatch', 'bad-subject'];
    return Object.fromEntries(
      reasons.map((r) => [r, metricSum(m, 'vidchat_gateway_invalid_messages_total', `reason="${r}"`)]),
    );
  }

  /** Waits until the gateway counted at least `expected` more rejections per reason than `from`; returns the deltas. */
  async function gatewayCounted(
    from: Record<string, number>,
    expected: Record<string, number>,
  ): Promise<Record<string, number>> {
    let delta: Record<string, number> = {};
    await waitFor(
      async () => {
        const now = await invalid();
        delta = Object.fromEntries(Object.keys(now).map((k) => [k, now[k]! - (from[k] ?? 0)]));
        return Object.entries(expected).every(([k, n]) => (delta[k] ?? 0) >= n);
      },
      { timeoutMs: 10_000, intervalMs: 200, what: `gateway counters ${JSON.stringify(expected)}` },
    ).catch((err: Error) => {
      throw new Error(`${err.message}; counted ${JSON.stringify(delta)}`);
    });
    return delta;
  }

  /** Mixer counters printed after `mark`, once its next status lines are out. */
  async function mixerCounted(mark: number, field: string, atLeast: number): Promise<number> {
    const out = (): string => stack!.mixer!.output();
    await waitFor(() => mixerStatusSum(out(), field, mark) >= atLeast, {
      timeoutMs: 10_000,
      intervalMs: 200,
      what: `mixer ${field} >= ${atLeast}`,
    }).catch((err: Error) => {
      throw new Error(`${err.message}; counted ${mixerStatusSum(out(), field, mark)}`);
    });
    return mixerStatusSum(out(), field, mark);
  }

  /** Nobody crashed, nothing invalid reached the viewer, and the real agent still gets through. */
  async function stillServes(): Promise<void> {
    const s = stack!;
    const v = viewer!;
    assert.equal(s.gateway!.child.exitCode, null, 'the gateway runs');
    assert.equal(s.mixer!.child.exitCode, null, 'the mixer runs');
    assert.equal(s.agent('cam1').child.exitCode, null, 'the agent runs');
    assert.equal(await healthStatus(s.port), 200);
    await v.waitForMoreVideo('cam1', 3, 5_000);
    await v.waitForMoreMix(10, 5_000);
    assert.equal(v.garbage, 0, 'the gateway forwarded no invalid envelope');
    assert.equal(v.closed, null);
    const strangers = v.events.filter((e) => e.msg.type === 'source-joined' && e.msg.source.id !== 'cam1');
    assert.deepEqual(strangers, [], 'no bogus source joined the room');
  }

  it('random payloads on every source and mix subject are counted and dropped', { timeout: 60_000 }, async (t) => {
    const before = await invalid();
    const mark = stack!.mixer!.output().length;
    // The gateway subscribes to its watched rooms' video and mix; sources'
    // own audio goes to the mixer only (counted in its `rejected` below).
    const gatewayMedia = [
      videoSubject(ROOM, 'cam1'),
      videoSubject(ROOM, 'rnd'),
      mixAudioSubject(ROOM),
      mixLevelsSubject(ROOM),
    ];
    const media = [...gatewayMedia, audioSubject(ROOM, 'cam1'), audioSubject(ROOM, 'rnd')];
    const presences = [presenceSubject(ROOM, 'cam1'), presenceSubject(ROOM, 'rnd')];
    const list: Publication[] = [];
    for (let i = 0; i < RANDOM_PER_SUBJECT; i++) {
      for (const subject of [...media, ...presences]) list.push([subject, randomBytes(randomInt(0, 1_500))]);
    }
    await publishAll(list);
    const garbageMedia = RANDOM_PER_SUBJECT * gatewayMedia.length;
    const garbagePresence = RANDOM_PER_SUBJECT * presences.length;
    const delta = await gatewayCounted(before, { 'presence-garbage': garbagePresence });
    await gatewayCounted(before, {});
    // Random bytes that happen to start with a valid header are counted as mismatches; none pass.
    await waitFor(
      async () => {
        const d = await gatewayCounted(before, {});
        return (d['envelope-garbage'] ?? 0) + (d['envelope-mismatch'] ?? 0) >= garbageMedia;
      },
      { timeoutMs: 10_000, what: `${garbageMedia} media rejections` },
    );
    const rejected = await mixerCounted(mark, 'rejected', RANDOM_PER_SUBJECT * 2);
    const badPresence = await mixerCounted(mark, 'badPresence', garbagePresence);
    t.diagnostic(
      `${list.length} random messages: gateway ${JSON.stringify(await gatewayCounted(before, {}))}; ` +
        `mixer rejected=${rejected} badPresence=${badPresence} (presence-garbage ${delta['presence-garbage']})`,
    );
    await stillServes();
  });

  it(
    'truncated, oversized, trailing, wrong-version and unknown-kind envelopes are counted',
    { timeout: 60_000 },
    async (t) => {
      const before = await invalid();
      const mark = stack!.mixer!.output().length;
      const big = { ...ENVELOPE_LIMITS, maxVideoPayloadBytes: 1_000_001, maxAudioPayloadBytes: 5_000 };
      const cases: [string, Uint8Array[]][] = [
        [
          videoSubject(ROOM, 'cam1'),
          brokenEnvelopes(
            encodeEnvelope(video('cam1')),
            64,
            encodeEnvelope(video('cam1', randomBytes(1_000_001)), big),
          ),
        ],
        [
          audioSubject(ROOM, 'cam1'),
          brokenEnvelopes(encodeEnvelope(audio('cam1')), 40, encodeEnvelope(audio('cam1', randomBytes(4_001)), big)),
        ],
        [
          mixAudioSubject(ROOM),
          brokenEnvelopes(encodeEnvelope(mixed()), 40, encodeEnvelope(mixed(randomBytes(5_000)), big)),
        ],
      ];
      const list: Publication[] = cases.flatMap(([subject, all]) => all.map((b): Publication => [subject, b]));
      await publishAll(list);
      // The source audio case is the mixer's: the gateway does not subscribe to it.
      const audioCount = cases[1]![1].length;
      const forGateway = list.length - audioCount;
      const delta = await gatewayCounted(before, {});
      await waitFor(
        async () => {
          const d = await gatewayCounted(before, {});
          return (d['envelope-garbage'] ?? 0) + (d['envelope-mismatch'] ?? 0) >= forGateway;
        },
        { timeoutMs: 10_000, what: `${forGateway} rejections` },
      );
      const rejected = await mixerCounted(mark, 'rejected', audioCount);
      const final = await gatewayCounted(before, {});
      t.diagnostic(`${list.length} broken envelopes: gateway ${JSON.stringify(final)}; mixer rejected=${rejected}`);
      assert.equal(
        (final['envelope-garbage'] ?? 0) + (final['envelope-mismatch'] ?? 0),
        forGateway,
        'every one on a subject the gateway subscribes to counted once',
      );
      assert.ok(delta['presence-garbage'] === 0);
      await stillServes();
    },
  );

  it('malformed presence is counted; the roster does not change', { timeout: 60_000 }, async (t) => {
    const before = await invalid();
    const mark = stack!.mixer!.output().length;
    const subject = presenceSubject(ROOM, 'pbad');
    const good = presence(ROOM, 'pbad');
    const bad: Uint8Array[] = [
      new Uint8Array(0),
      utf8Encode('{'),
      utf8Encode('hello'),
      utf8Encode('null'),
      utf8Encode('[]'),
      utf8Encode('"join"'),
      json({ v: 1 }),
      json({ ...good, v: 2 }),
      json({ ...good, v: '1' }),
      json({ ...good, type: 'explode' }),
      json({ ...good, room: 'bad.room' }),
      json({ ...good, source: '*' }),
      json({ ...good, name: 'x'.repeat(65) }),
      json({ ...good, name: 42 }),
      json({ ...good, ts: -1 }),
      json({ ...good, video: { codec: 'h264', width: 1, height: 1, fps: 1 } }),
      json({ ...good, audio: { codec: 'opus', sampleRate: 1, channels: 1, frameDurationMs: 20 } }),
      json({ ...good, agent: { version: 7 } }),
      json({ ...good, pad: 'x'.repeat(5_000) }),
      utf8Encode('['.repeat(50_000) + ']'.repeat(50_000)),
      utf8Encode(`{"__proto__":{"v":1},"constructor":{"prototype":{"polluted":true}}}`),
      Buffer.from([0xff, 0xfe, 0x7b, 0x7d]),
      Buffer.concat([json(good), Buffer.from([0xc3])]),
    ];
    await publishAll(bad.map((b): Publication => [subject, b]));
    const delta = await gatewayCounted(before, { 'presence-garbage': bad.length });
    const badPresence = await mixerCounted(mark, 'badPresence', bad.length);
    t.diagnostic(
      `${bad.length} malformed presence messages: gateway ${JSON.stringify(delta)}; mixer badPresence=${badPresence}`,
    );
    assert.equal(delta['presence-garbage'], bad.length);
    const sources = (await (
      await fetch(`http://127.0.0.1:${stack!.port}/api/rooms/${ROOM}/sources`)
    ).json()) as unknown;
    assert.doesNotMatch(JSON.stringify(sources), /pbad/);
    await stillServes();
  });

  it(
    'envelopes and presence whose ids differ from their subject are counted, not forwarded',
    { timeout: 60_000 },
    async (t) => {
      const before = await invalid();
      const mark = stack!.mixer!.output().length;
      // On the subjects the gateway subscribes to (video, mix)...
      const gatewayEnvelopes: Publication[] = [
        // Another source's id on cam1's subject, and cam1's id on an impostor's subject.
        [videoSubject(ROOM, 'cam1'), encodeEnvelope(video('evil'))],
        [videoSubject(ROOM, 'evil'), encodeEnvelope(video('cam1'))],
        // The wrong kind for the track.
        [videoSubject(ROOM, 'cam1'), encodeEnvelope(audio('cam1'))],
        [mixAudioSubject(ROOM), encodeEnvelope(video('cam1'))],
        [mixLevelsSubject(ROOM), encodeEnvelope(mixed())],
        [mixAudioSubject(ROOM), encodeLevelsEnvelope({ room: ROOM, sources: [], active: null }, 1, 1)],
      ];
      // ...and on sources' audio subjects, which only the mixer subscribes to.
      const envelopes: Publication[] = [
        ...gatewayEnvelopes,
        [audioSubject(ROOM, 'evil'), encodeEnvelope(audio('cam1'))],
        [audioSubject(ROOM, 'cam1'), encodeEnvelope(video('cam1'))],
        [audioSubject(ROOM, 'cam1'), encodeEnvelope(mixed())],
      ];
      const presences: Publication[] = [
        [presenceSubject(ROOM, 'evil'), encodePresence(presence(ROOM, 'ghost'))],
        [presenceSubject(ROOM, 'evil'), encodePresence(presence('elsewhere', 'evil'))],
        [presenceSubject(ROOM, 'cam1'), encodePresence(presence(ROOM, 'ghost2'))],
      ];
      const repeat = 20;
      const list = Array.from({ length: repeat }, () => [...envelopes, ...presences]).flat();
      await publishAll(list);
      const delta = await gatewayCounted(before, {
        'envelope-mismatch': gatewayEnvelopes.length * repeat,
        'presence-mismatch': presences.length * repeat,
      });
      const rejected = await mixerCounted(mark, 'rejected', 2 * repeat);
      const badPresence = await mixerCounted(mark, 'badPresence', presences.length * repeat);
      const mixerTookGhost = /\[mixer\] source joined room=\w+ source=(ghost|evil)/.test(stack!.mixer!.output());
      t.diagnostic(
        `${list.length} mismatched messages: gateway ${JSON.stringify(delta)}; mixer rejected=${rejected}; ` +
          `mixer badPresence=${badPresence}, ${mixerTookGhost ? 'ACCEPTED' : 'ignored'} presence whose ids differ from its subject`,
      );
      assert.equal(delta['envelope-mismatch'], gatewayEnvelopes.length * repeat);
      // A well-formed levels envelope whose JSON is not levels: the gateway
      // checks levels JSON (10 Hz per room, cheap) and drops it, counted,
      // so a viewer never gets a levels message it cannot read.
      const badLevels0 = viewer!.badLevels;
      const beforeLevels = await invalid();
      const levels = encodeEnvelope({
        kind: 'levels',
        source: '',
        seq: 1,
        captureTimeUs: 1,
        payload: utf8Encode('{"not":"levels"}'),
      });
      await publishAll(Array.from({ length: 10 }, (): Publication => [mixLevelsSubject(ROOM), levels]));
      await gatewayCounted(beforeLevels, { 'envelope-garbage': 10 });
      await viewer!.waitForMoreMix(10, 5_000);
      assert.equal(viewer!.badLevels - badLevels0, 0, 'no unreadable levels message reached the viewer');
      assert.equal(delta['presence-mismatch'], presences.length * repeat);
      assert.equal(delta['envelope-garbage'], 0);
      assert.equal(mixerTookGhost, false, 'the mixer takes no source from presence whose ids differ from its subject');
      await stillServes();
    },
  );

  it('a flood of fake sources is capped per room, counted, and expires', { timeout: 60_000 }, async (t) => {
    const s = stack!;
    const metrics0 = await scrapeMetrics(s.port);
    const capped0 = metricSum(metrics0, 'vidchat_gateway_dropped_frames_total', 'reason="source-cap"');
    const floodViewer = await ViewerClient.join(s.port, FLOOD_ROOM);
    const fakes = 3 * SOURCE_CAP;
    try {
      // Announced by presence, and (another batch) seen only by their frames.
      const list: Publication[] = [];
      for (let i = 0; i < fakes; i++) {
        list.push([presenceSubject(FLOOD_ROOM, `p${i}`), encodePresence(presence(FLOOD_ROOM, `p${i}`))]);
        list.push([videoSubject(FLOOD_ROOM, `f${i}`), encodeEnvelope(video(`f${i}`))]);
      }
      await publishAll(list);
      const listed = await waitFor(
        async () => {
          const r = await fetch(`http://127.0.0.1:${s.port}/api/rooms/${FLOOD_ROOM}/sources`);
          const body = (await r.json()) as { sources?: unknown[] } | unknown[];
          const n = Array.isArray(body) ? body.length : (body.sources?.length ?? 0);
          return n === SOURCE_CAP ? n : null;
        },
        { timeoutMs: 5_000, what: `${SOURCE_CAP} sources listed in ${FLOOD_ROOM}` },
      );
      const capped =
        metricSum(await scrapeMetrics(s.port), 'vidchat_gateway_dropped_frames_total', 'reason="source-cap"') - capped0;
      const joined = floodViewer.events.filter((e) => e.msg.type === 'source-joined').length;
      const roster = floodViewer.events.find((e) => e.msg.type === 'roster');
      t.diagnostic(
        `${fakes} presence + ${fakes} frame-only fake sources: ${listed} kept (cap ${SOURCE_CAP}), ` +
          `${capped} refusals counted (source-cap), flood viewer got ${joined} source-joined`,
      );
      assert.ok(capped >= 2 * fakes - SOURCE_CAP, `every refused source counted (${capped})`);
      assert.ok(joined <= SOURCE_CAP, `the flood viewer saw at most ${SOURCE_CAP} sources join (${joined})`);
      assert.ok(roster);

      // Without heartbeats they all expire; then the room is empty and nothing is held for it.
      const leftAt = Date.now();
      await waitFor(
        async () => {
          const r = await fetch(`http://127.0.0.1:${s.port}/api/rooms/${FLOOD_ROOM}/sources`);
          const body = (await r.json()) as { sources?: unknown[] } | unknown[];
          return (Array.isArray(body) ? body.length : (body.sources?.length ?? 0)) === 0;
        },
        { timeoutMs: 8_000, what: 'the fake sources to expire' },
      );
      t.diagnostic(`fake sources expired ${Date.now() - leftAt} ms after the flood stopped`);
    } finally {
      floodViewer.close();
    }
    await waitFor(
      async () => {
        const r = (await (await fetch(`http://127.0.0.1:${s.port}/api/rooms`)).json()) as unknown;
        return !JSON.stringify(r).includes(`"${FLOOD_ROOM}"`);
      },
      { timeoutMs: 5_000, what: `${FLOOD_ROOM} to be gone from /api/rooms` },
    );
    await stack!.mixer!.waitForOutput(/room stopped room=flood/, 10_000);
    await stillServes();
  });

  it('the per-room source cap is a named option, documented with its default', () => {
    const help = execFileSync(process.execPath, [join(REPO_ROOT, 'apps/gateway/dist/src/main.js'), '--help'], {
      encoding: 'utf8',
    });
    const helpDefault = /--max-sources-per-room <n>.*\(default: (\d+)\)/.exec(help)?.[1];
    assert.ok(helpDefault, '--help lists --max-sources-per-room with its default');
    const readme = readFileSync(join(REPO_ROOT, 'apps/gateway/README.md'), 'utf8');
    const row = /^\|\s*`--max-sources-per-room`\s*\|\s*`VIDCHAT_MAX_SOURCES_PER_ROOM`\s*\|\s*(\d+)\s*\|(.*)$/m.exec(
      readme,
    );
    assert.ok(row, 'apps/gateway/README.md has a row for --max-sources-per-room and its env var');
    assert.equal(row[1], helpDefault, 'README and --help agree on the default');
    assert.match(readme, /source-cap/, 'README names the counter reason of refused sources');
  });

  it('leaks nothing: subscriptions back to where they were, memory bounded', { timeout: 30_000 }, async (t) => {
    const s = stack!;
    const m = await scrapeMetrics(s.port);
    const rss = rssBytes(s.gateway!.child.pid!);
    const mixerRss = rssBytes(s.mixer!.child.pid!);
    t.diagnostic(
      `gateway RSS ${(rssStart / 2 ** 20).toFixed(1)}MB before the bad input, ${(rss / 2 ** 20).toFixed(1)}MB after; ` +
        `NATS subscriptions ${natsSubsStart} → ${metricSum(m, 'vidchat_gateway_nats_subscriptions')}; ` +
        `mixer RSS ${(mixerRssStart / 2 ** 20).toFixed(1)}MB → ${(mixerRss / 2 ** 20).toFixed(1)}MB`,
    );
    assert.equal(metricSum(m, 'vidchat_gateway_nats_subscriptions'), natsSubsStart);
    assert.equal(metricSum(m, 'vidchat_gateway_rooms'), 1);
    assert.ok(rss - rssStart < 100 * 2 ** 20, 'gateway RSS grew by less than 100 MB');
    assert.ok(mixerRss - mixerRssStart < 100 * 2 ** 20, 'mixer RSS grew by less than 100 MB');
    // The mixer is back to the one real room: a status line after the flood room stopped says so.
    await waitFor(
      () => {
        const out = s.mixer!.output();
        const i = out.lastIndexOf('room stopped room=flood');
        return i >= 0 && /\[mixer\] status .*\brooms=1 sources=1 /.test(out.slice(i));
      },
      { timeoutMs: 5_000, what: 'a mixer status line with rooms=1 sources=1 after the flood room stopped' },
    );
    await stillServes();
  });
});
