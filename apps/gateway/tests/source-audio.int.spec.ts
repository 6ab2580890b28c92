import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import type { NatsConnection } from '@nats-io/transport-node';
import { audioSubject, decodeEnvelope, encodeEnvelope, mixAudioSubject, mixMinusSubject } from '@vidchat/protocol';
import { setLogLevel } from '@vidchat/service-kit';
import { sleep, startNatsFixture, waitFor, type NatsFixture } from '@vidchat/test-support';
import { createGateway, defaultConfig, type RunningGateway } from '../src/index.js';
import { FakeSource, isType, metric, mixedAudio, natsClient, TestParticipant, TestViewer } from './helpers.js';

/*
 * Per-source audio (`{"type":"audio","mode":"sources"}`, for per-tile
 * volume): an in-process gateway on a real nats-server, `ws` viewers and a
 * participant, a NATS client standing in for the capture agents and the
 * mixer. A viewer in `sources` mode gets each source's own audio envelopes
 * instead of the mix, never its own source's; the room's source audio is
 * subscribed only while some joined viewer wants it; garbage on those
 * subjects is counted and dropped.
 */

const ROOM = 'vol';
const MIX = 0x11;
const MINUS = 0x22;

/** A source audio envelope whose payload's first byte says who sent it. */
function sourceAudio(source: string, seq: number, marker: number): Uint8Array {
  return encodeEnvelope({
    kind: 'audio',
    source,
    seq,
    captureTimeUs: Date.now() * 1000,
    codec: 'opus',
    sampleRate: 48000,
    channels: 1,
    durationUs: 20_000,
    payload: new Uint8Array([marker, 0xff, 0xfe]),
  });
}

interface Received {
  mix: number[];
  /** Source ids of the per-source audio envelopes received. */
  sources: string[];
}

/** What a viewer received from `from` on: mix packets (payload markers) and source audio (source ids). */
function received(v: TestViewer, from = 0): Received {
  const out: Received = { mix: [], sources: [] };
  for (const b of v.binaries.slice(from)) {
    const e = decodeEnvelope(b);
    if (e.kind === 'mixedAudio') out.mix.push(e.payload[0]!);
    else if (e.kind === 'audio') out.sources.push(e.source);
  }
  return out;
}

describe(
  'per-source audio for per-tile volume (in-process gateway, real NATS, ws clients)',
  { timeout: 180_000 },
  () => {
    let nats: NatsFixture;
    let nc: NatsConnection;
    let gw: RunningGateway;
    let camA: FakeSource;
    let camB: FakeSource;
    const clients: TestViewer[] = [];
    let seq = 0;
    /** Set once the participant has joined: its own microphone, sent over its socket. */
    let participant: TestParticipant | null = null;

    const sourceAudioSubs = (): Promise<number> => metric(gw.port, 'vidchat_gateway_source_audio_subscriptions');
    const sourceAudioViewers = (): Promise<number> => metric(gw.port, 'vidchat_gateway_source_audio_viewers');
    const invalid = async (): Promise<number> =>
      (await metric(gw.port, 'vidchat_gateway_invalid_messages_total', { reason: 'envelope-garbage' })) +
      (await metric(gw.port, 'vidchat_gateway_invalid_messages_total', { reason: 'envelope-mismatch' }));

    /** One 20 ms round of everything the room carries: both agents' audio, the participant's, the mix, its mix-minus. */
    const round = (): void => {
      nc.publish(audioSubject(ROOM, 'camA'), sourceAudio('camA', seq, 0xa0));
      nc.publish(audioSubject(ROOM, 'camB'), sourceAudio('camB', seq, 0xb0));
      nc.publish(mixAudioSubject(ROOM), mixedAudio(seq, MIX));
      if (participant) {
        participant.sendAudio();
        nc.publish(mixMinusSubject(ROOM, participant.self), mixedAudio(seq, MINUS));
      }
      seq++;
    };

    /** Publishes rounds until `done` holds (the gateway's subscriptions reach the server asynchronously). */
    const roundsUntil = (done: () => boolean, what: string): Promise<unknown> =>
      waitFor(
        () => {
          round();
          return done();
        },
        { what, intervalMs: 20, timeoutMs: 20_000 },
      );

    /** Publishes `n` rounds 20 ms apart, then waits until `v` has everything NATS delivered before a marker. */
    const rounds = async (n: number): Promise<void> => {
      for (let i = 0; i < n; i++) {
        round();
        await sleep(20);
      }
      // Round-trips through the server: everything published before has been delivered to the gateway.
      await nc.flush();
      await sleep(300);
    };

    const viewer = async (): Promise<TestViewer> => {
      const v = await TestViewer.open(gw.port);
      clients.push(v);
      return v;
    };

    before(async () => {
      setLogLevel('warn');
      nats = await startNatsFixture();
      nc = await natsClient(nats.url);
      gw = await createGateway(defaultConfig({ nats: nats.url, port: 0, host: '127.0.0.1' }));
      await gw.natsReady;
      camA = new FakeSource(nc, ROOM, 'camA');
      camB = new FakeSource(nc, ROOM, 'camB');
      camA.startHeartbeats();
      camB.startHeartbeats();
    });

    after(async () => {
      camA?.stopHeartbeats();
      camB?.stopHeartbeats();
      for (const c of clients) c.close();
      await gw?.close();
      await nc?.close();
      await nats?.stop();
    });

    it('sends a viewer in sources mode every source’s audio and no mix; a participant never its own; others keep the mix', async () => {
      const p = await TestParticipant.open(gw.port);
      clients.push(p);
      const listener = await viewer();
      const plain = await viewer();
      await plain.join(ROOM);
      await p.joinAsParticipant(ROOM, 'Pat');
      participant = p;
      const roster = await listener.join(ROOM);
      assert.deepEqual(roster.sources.map((s) => s.id).sort(), ['camA', 'camB', p.self].sort());
      assert.equal(await sourceAudioSubs(), 0, 'nobody asked: the room’s source audio is not subscribed');

      // Everyone hears the mix (the participant its mix-minus) before asking.
      await roundsUntil(
        () => received(listener).mix.length >= 3 && received(p).mix.length >= 3 && received(plain).mix.length >= 3,
        'the mix at everyone',
      );
      assert.deepEqual(received(listener).sources, []);

      listener.send({ type: 'audio', mode: 'sources' });
      p.send({ type: 'audio', mode: 'sources' });
      await waitFor(async () => (await sourceAudioSubs()) === 1 && (await sourceAudioViewers()) === 2, {
        what: 'the room’s source audio subscribed once, for two viewers',
      });
      const has = (v: TestViewer, from: number, ids: string[]): boolean => {
        const got = new Set(received(v, from).sources);
        return ids.every((id) => got.has(id));
      };
      await roundsUntil(
        () => has(listener, 0, ['camA', 'camB', p.self]) && has(p, 0, ['camA', 'camB']),
        'both agents’ audio (and the participant’s, at the listener)',
      );
      // A window after the switch: packets in flight before it are gone now.
      await rounds(3);
      const from = { listener: listener.binaries.length, p: p.binaries.length, plain: plain.binaries.length };
      await rounds(25);
      const l = received(listener, from.listener);
      const own = received(p, from.p);
      const other = received(plain, from.plain);
      assert.deepEqual(l.mix, [], 'no mix in sources mode');
      assert.deepEqual(own.mix, [], 'no mix-minus either');
      for (const id of ['camA', 'camB', p.self]) {
        assert.ok(l.sources.filter((s) => s === id).length >= 20, `the listener got ${id}'s packets`);
      }
      assert.ok(own.sources.filter((s) => s === 'camA').length >= 20);
      assert.ok(own.sources.filter((s) => s === 'camB').length >= 20);
      assert.ok(!own.sources.includes(p.self), 'never the participant’s own microphone');
      assert.equal(received(p).sources.filter((s) => s === p.self).length, 0);
      assert.deepEqual(other.sources, [], 'a viewer in mix mode gets no source audio');
      assert.ok(other.mix.length >= 20 && other.mix.every((m) => m === MIX), 'and keeps the room mix');
      // The bytes are forwarded unchanged.
      const a = listener.binaries.find((b) => {
        const e = decodeEnvelope(b);
        return e.kind === 'audio' && e.source === 'camA';
      });
      assert.ok(a);
      const env = decodeEnvelope(a);
      assert.equal(env.kind, 'audio');
      assert.deepEqual([...env.payload], [0xa0, 0xff, 0xfe]);
    });

    it('drops garbage and audio of unknown sources on those subjects, counted, and nothing bad reaches a viewer', async () => {
      const listener = clients[1]!;
      const before = await invalid();
      const from = listener.binaries.length;
      const junk = [
        randomBytes(0),
        randomBytes(3),
        randomBytes(200),
        // A valid envelope of another kind, and one naming another source than its subject.
        mixedAudio(1, MIX),
        sourceAudio('camB', 1, 0xee),
      ];
      for (const j of junk) nc.publish(audioSubject(ROOM, 'camA'), j);
      // A source the room does not know (no presence, no video): not a tile, not forwarded.
      for (let i = 0; i < 5; i++) nc.publish(audioSubject(ROOM, 'ghost'), sourceAudio('ghost', i, 0x99));
      await waitFor(async () => (await invalid()) - before >= junk.length, { what: 'the garbage counted' });
      await rounds(5);
      assert.equal((await invalid()) - before, junk.length, 'each counted once');
      const got = received(listener, from);
      assert.ok(!got.sources.includes('ghost'));
      assert.ok(
        listener.binaries.slice(from).every((b) => {
          const e = decodeEnvelope(b);
          return e.kind !== 'audio' || e.payload[0] !== 0xee;
        }),
        'the mismatched envelope was not forwarded',
      );
      assert.ok(got.sources.includes('camA') && got.sources.includes('camB'), 'the real packets still flow');
    });

    it('never sends an `as` viewer the audio of the source it listens as', async () => {
      const asCam = await viewer();
      asCam.send({ type: 'audio', mode: 'sources' });
      asCam.send({ type: 'join', room: ROOM, as: 'camA' });
      await asCam.waitEvent(isType('roster'));
      await roundsUntil(
        () => received(asCam).sources.includes('camB') && received(asCam).sources.includes(participant!.self),
        'the other sources at the `as` viewer',
      );
      await rounds(10);
      const got = received(asCam);
      assert.ok(!got.sources.includes('camA'), 'never camA, whose place it takes');
      assert.deepEqual(got.mix, []);
      asCam.close();
      await waitFor(async () => (await sourceAudioViewers()) === 2, { what: 'the `as` viewer released' });
    });

    it('goes back to the mix, and unsubscribes once nobody wants sources (mode switch, leave, close)', async () => {
      const p = participant!;
      const listener = clients[1]!;
      listener.send({ type: 'audio', mode: 'mix' });
      await waitFor(async () => (await sourceAudioViewers()) === 1, { what: 'one viewer left in sources mode' });
      assert.equal(await sourceAudioSubs(), 1, 'the participant still wants sources');
      await rounds(3);
      let from = listener.binaries.length;
      await rounds(20);
      let got = received(listener, from);
      assert.deepEqual(got.sources, [], 'back in mix mode: no source audio');
      assert.ok(got.mix.length >= 15 && got.mix.every((m) => m === MIX), 'the mix again');

      p.send({ type: 'audio', mode: 'mix' });
      await waitFor(async () => (await sourceAudioSubs()) === 0, { what: 'unsubscribed when nobody wants sources' });
      await rounds(3);
      from = p.binaries.length;
      await rounds(20);
      got = received(p, from);
      assert.deepEqual(got.sources, []);
      assert.ok(got.mix.length >= 15 && got.mix.every((m) => m === MINUS), 'the participant hears its mix-minus again');

      // Unsubscribed on the server: garbage on the audio subject is no longer even received.
      const before = await invalid();
      nc.publish(audioSubject(ROOM, 'camA'), randomBytes(50));
      await rounds(3);
      assert.equal(await invalid(), before, 'the gateway no longer receives the room’s source audio');

      // The mode holds across a join, and is released by a leave and by closing the socket.
      const v = await viewer();
      v.send({ type: 'audio', mode: 'sources' });
      await sleep(200);
      assert.equal(await sourceAudioSubs(), 0, 'not joined: nothing subscribed');
      await v.join(ROOM);
      await waitFor(async () => (await sourceAudioSubs()) === 1, { what: 'subscribed at the join' });
      await roundsUntil(() => received(v).sources.includes('camA'), 'source audio after the join');
      v.send({ type: 'leave' });
      await waitFor(async () => (await sourceAudioSubs()) === 0, { what: 'released by the leave' });
      await v.join(ROOM);
      await waitFor(async () => (await sourceAudioSubs()) === 1, { what: 'subscribed again at the next join' });
      v.close();
      await waitFor(async () => (await sourceAudioSubs()) === 0 && (await sourceAudioViewers()) === 0, {
        what: 'released when the socket closed',
      });
    });

    it('closes a socket whose audio mode is not mix or sources (bad-message, 1008)', async () => {
      const v = await viewer();
      await v.join(ROOM);
      v.send({ type: 'audio', mode: 'loud' });
      const err = await v.waitEvent(isType('error'));
      assert.equal(err.code, 'bad-message');
      assert.equal((await v.closed).code, 1008);
    });
  },
);
