import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { NatsConnection, Subscription } from '@nats-io/transport-node';
import {
  audioSubject,
  decodeEnvelope,
  decodePresence,
  encodeEnvelope,
  encodeLevelsEnvelope,
  mixAudioSubject,
  mixLevelsSubject,
  mixMinusSubject,
  presenceSubject,
  videoLayerSubject,
  videoSubject,
  type PresenceMessage,
} from '@vidchat/protocol';
import { setLogLevel } from '@vidchat/service-kit';
import { sleep, startNatsFixture, waitFor, type NatsFixture } from '@vidchat/test-support';
import { createGateway, defaultConfig, mintViewerToken, type RunningGateway } from '../src/index.js';
import {
  FakeSource,
  isType,
  makeJpeg,
  metric,
  mixedAudio,
  natsClient,
  TestParticipant,
  TestViewer,
} from './helpers.js';

/*
 * Participants: viewers that joined with `publish` and send their camera and
 * microphone as media envelopes over the same WebSocket. A real gateway
 * (in-process) on a real nats-server, `ws` clients sending real envelopes,
 * and a NATS client standing in for the mixer and for everyone else.
 */

/** Everything published on a subject, as copied bytes, with when it arrived. */
class Recorder {
  readonly msgs: { subject: string; data: Buffer; at: number }[] = [];
  private readonly sub: Subscription;
  constructor(nc: NatsConnection, subject: string) {
    this.sub = nc.subscribe(subject, {
      callback: (_err, msg) => {
        this.msgs.push({ subject: msg.subject, data: Buffer.from(msg.data), at: Date.now() });
      },
    });
  }
  on(subject: string): Buffer[] {
    return this.msgs.filter((m) => m.subject === subject).map((m) => m.data);
  }
  presence(room: string, source: string): PresenceMessage[] {
    return this.on(presenceSubject(room, source)).map((d) => decodePresence(d));
  }
  stop(): void {
    this.sub.unsubscribe();
  }
}

describe('participants (in-process gateway, real NATS, ws clients)', { timeout: 180_000 }, () => {
  let nats: NatsFixture;
  let nc: NatsConnection;
  let gw: RunningGateway;
  let all: Recorder;
  const clients: TestViewer[] = [];
  const jpeg = makeJpeg('64x48');
  const caps = {
    participantFramesPerSecond: 40,
    participantBytesPerSecond: 400_000,
    participantMaxFrameBytes: 64 * 1024,
  };

  const viewer = async (port = gw.port): Promise<TestViewer> => {
    const v = await TestViewer.open(port);
    clients.push(v);
    return v;
  };
  const participant = async (opts: { autoPong?: boolean } = {}, port = gw.port): Promise<TestParticipant> => {
    const p = await TestParticipant.open(port, opts);
    clients.push(p);
    return p;
  };
  const binariesOf = (v: TestViewer, kind: string, source?: string): Buffer[] =>
    v.binaries.filter((b) => {
      const e = decodeEnvelope(b);
      return e.kind === kind && (source === undefined || e.source === source);
    });

  before(async () => {
    setLogLevel('warn');
    nats = await startNatsFixture();
    nc = await natsClient(nats.url);
    all = new Recorder(nc, 'vidchat.>');
    gw = await createGateway(defaultConfig({ nats: nats.url, port: 0, host: '127.0.0.1', ...caps }));
    await gw.natsReady;
  });

  after(async () => {
    all?.stop();
    for (const c of clients) c.close();
    await gw?.close();
    await nc?.close();
    await nats?.stop();
  });

  it('gives a participant a source id, announces it (join, heartbeats, kind participant, listens) and shows it to others', async () => {
    const watcher = await viewer();
    await watcher.join('r1');
    const p = await participant();
    const roster = await p.joinAsParticipant('r1', '  Ada  ');
    assert.match(p.self, /^p-[0-9a-f]{12}$/);
    assert.equal(roster.self, p.self);
    const joined = await watcher.waitEvent(isType('source-joined', (e) => e.source.id === p.self));
    assert.equal(joined.source.kind, 'participant');
    assert.equal(joined.source.name, 'Ada', 'the name is trimmed');
    await waitFor(() => all.presence('r1', p.self).filter((m) => m.type === 'heartbeat').length >= 2, {
      what: 'two heartbeats',
    });
    const [first] = all.presence('r1', p.self);
    assert.equal(first?.type, 'join');
    assert.equal(first?.kind, 'participant');
    assert.equal(first?.listens, true);
    assert.equal(first?.name, 'Ada');
    const api = (await (await fetch(`http://127.0.0.1:${gw.port}/api/rooms/r1/sources`)).json()) as {
      sources: { id: string; kind: string }[];
    };
    assert.ok(api.sources.some((s) => s.id === p.self && s.kind === 'participant'));
    assert.equal(await metric(gw.port, 'vidchat_gateway_participants'), 1);

    // Two participants never get the same id.
    const q = await participant();
    await q.joinAsParticipant('r1', 'Bo');
    assert.notEqual(q.self, p.self);

    // `leave` says leave on NATS, and the others see the source go.
    p.send({ type: 'leave' });
    await watcher.waitEvent(isType('source-left', (e) => e.source === p.self));
    assert.equal(all.presence('r1', p.self).at(-1)?.type, 'leave');
    // A closed socket too.
    q.ws.close();
    await watcher.waitEvent(isType('source-left', (e) => e.source === q.self));
    assert.equal(all.presence('r1', q.self).at(-1)?.type, 'leave');
    await waitFor(async () => (await metric(gw.port, 'vidchat_gateway_participants')) === 0);
  });

  it("publishes a participant's video and audio unchanged; others get the video, the participant never its own", async () => {
    const watcher = await viewer();
    await watcher.join('r2');
    const p = await participant();
    await p.joinAsParticipant('r2', 'Cy', { video: { codec: 'jpeg', width: 64, height: 48, fps: 15 } });
    const cam = new FakeSource(nc, 'r2', 'cam1');
    cam.startHeartbeats();
    try {
      await p.waitEvent(isType('source-joined', (e) => e.source.id === 'cam1'));
      const sentVideo: Uint8Array[] = [];
      const sentAudio: Uint8Array[] = [];
      for (let i = 0; i < 5; i++) {
        sentVideo.push(p.sendVideo(jpeg));
        sentAudio.push(p.sendAudio());
        cam.video(jpeg);
        await sleep(50);
      }
      await waitFor(
        () => all.on(videoSubject('r2', p.self)).length === 5 && all.on(audioSubject('r2', p.self)).length === 5,
        {
          what: "the participant's media on NATS",
        },
      );
      assert.deepEqual(
        all.on(videoSubject('r2', p.self)),
        sentVideo.map((b) => Buffer.from(b)),
        'video unchanged',
      );
      assert.deepEqual(
        all.on(audioSubject('r2', p.self)),
        sentAudio.map((b) => Buffer.from(b)),
        'audio unchanged',
      );
      await waitFor(() => binariesOf(watcher, 'video', p.self).length === 5, {
        what: "the participant's video at a viewer",
      });
      assert.deepEqual(
        binariesOf(watcher, 'video', p.self),
        sentVideo.map((b) => Buffer.from(b)),
      );
      await waitFor(() => binariesOf(p, 'video', 'cam1').length >= 5, {
        what: "the camera's video at the participant",
      });
      await sleep(300);
      assert.equal(binariesOf(p, 'video', p.self).length, 0, 'its own video never comes back');
      // The first audio envelope filled in the presence's audio.
      await waitFor(() =>
        all.presence('r2', p.self).some((m) => m.audio?.codec === 'opus' && m.audio.frameDurationMs === 20),
      );
      assert.equal((await metric(gw.port, 'vidchat_gateway_participant_frames_total', { kind: 'video' })) >= 5, true);
    } finally {
      cam.stop();
    }
  });

  it('serves a participant layer 0 whatever layer is asked, and never its own video at any layer', async () => {
    const watcher = await viewer();
    // Asked before joining: a participant announces no layers, so layer 1 is served as layer 0.
    const p = await participant();
    await p.joinAsParticipant('r8', 'Di', { video: { codec: 'jpeg', width: 64, height: 48, fps: 15 } });
    watcher.send({ type: 'layer', source: p.self, layer: 1 });
    await watcher.join('r8');
    // The participant asks for its own layers too: still nothing of its own comes back.
    p.send({ type: 'layer', source: p.self, layer: 1 });
    p.send({ type: 'layer', source: p.self, layer: 0 });
    for (let i = 0; i < 5; i++) {
      p.sendVideo(jpeg);
      await sleep(50);
    }
    await waitFor(() => binariesOf(watcher, 'video', p.self).length >= 5, {
      what: "the participant's video (layer 0) at a viewer that asked for layer 1",
    });
    assert.ok(
      binariesOf(watcher, 'video', p.self).every((b) => {
        const e = decodeEnvelope(b);
        return e.kind === 'video' && e.layer === 0;
      }),
      'layer 0 only',
    );
    await sleep(300);
    assert.equal(binariesOf(p, 'video', p.self).length, 0, 'its own video never comes back');
  });

  it("publishes a participant's layer 1 on `.video1`, announces both layers, and serves layer 1 to who asks", async () => {
    const small = makeJpeg('32x24');
    const watcher = await viewer();
    const p = await participant();
    await p.joinAsParticipant('r9', 'Ed', { video: { codec: 'jpeg', width: 64, height: 48, fps: 15 } });
    await watcher.join('r9');
    watcher.send({ type: 'layer', source: p.self, layer: 1 });
    const before = await metric(gw.port, 'vidchat_gateway_invalid_messages_total', { reason: 'participant-garbage' });
    const sent1: Uint8Array[] = [];
    for (let i = 0; i < 6; i++) {
      p.sendVideo(jpeg);
      sent1.push(p.sendVideo(small, p.self, 32, 24, 1));
      await sleep(50);
    }
    // A layer the protocol has no subject for is dropped and counted, not published.
    p.sendVideo(small, p.self, 32, 24, 2);
    await waitFor(
      () => all.on(videoSubject('r9', p.self)).length === 6 && all.on(videoLayerSubject('r9', p.self, 1)).length === 6,
      { what: 'both layers on their subjects' },
    );
    assert.deepEqual(
      all.on(videoLayerSubject('r9', p.self, 1)),
      sent1.map((b) => Buffer.from(b)),
      'layer 1 unchanged on .video1',
    );
    assert.ok(all.on(videoSubject('r9', p.self)).every((b) => (decodeEnvelope(b) as { layer: number }).layer === 0));
    const announced = await waitFor(() => all.presence('r9', p.self).find((m) => m.layers !== undefined), {
      what: 'presence with layers',
    });
    assert.deepEqual(announced.layers, [
      { layer: 0, width: 64, height: 48, fps: 15 },
      { layer: 1, width: 32, height: 24, fps: 15 },
    ]);
    await waitFor(
      async () =>
        (await metric(gw.port, 'vidchat_gateway_invalid_messages_total', { reason: 'participant-garbage' })) ===
        before + 1,
      { what: 'the layer-2 envelope counted as garbage' },
    );
    // The viewer asked for layer 1: once the layers are announced, frames of layer 1 come.
    for (let i = 0; i < 6; i++) {
      p.sendVideo(jpeg);
      p.sendVideo(small, p.self, 32, 24, 1);
      await sleep(50);
    }
    await waitFor(
      () =>
        binariesOf(watcher, 'video', p.self).some((b) => {
          const e = decodeEnvelope(b);
          return e.kind === 'video' && e.layer === 1 && e.width === 32;
        }),
      { what: 'layer 1 at the viewer that asked for it' },
    );
  });

  it('gives a participant its mix-minus and not the room mix; `as` gets a source its mix-minus; a viewer the room mix', async () => {
    const watcher = await viewer();
    await watcher.join('r3');
    const p = await participant();
    await p.joinAsParticipant('r3', 'Di');
    const asCam = await viewer();
    asCam.send({ type: 'join', room: 'r3', as: 'cam9' });
    await asCam.waitEvent(isType('roster'));
    const ROOM = 0x11;
    const MINUS_P = 0x22;
    const MINUS_CAM = 0x33;
    const OTHER = 0x44;
    const markers = (v: TestViewer): number[] => binariesOf(v, 'mixedAudio').map((b) => decodeEnvelope(b).payload[0]!);
    // The mixer's part, published until each has heard ten packets: the
    // gateway subscribes as the joins arrive, and NATS delivers only after.
    let seq = 0;
    await waitFor(
      () => {
        nc.publish(mixAudioSubject('r3'), mixedAudio(seq, ROOM));
        nc.publish(mixMinusSubject('r3', p.self), mixedAudio(seq, MINUS_P));
        nc.publish(mixMinusSubject('r3', 'cam9'), mixedAudio(seq, MINUS_CAM));
        nc.publish(mixMinusSubject('r3', 'someone-else'), mixedAudio(seq, OTHER));
        seq++;
        return markers(p).length >= 10 && markers(watcher).length >= 10 && markers(asCam).length >= 10;
      },
      { what: 'ten mix packets at each', intervalMs: 20, timeoutMs: 20_000 },
    );
    await sleep(300);
    assert.deepEqual(new Set(markers(p)), new Set([MINUS_P]), 'the participant hears its mix-minus only');
    assert.deepEqual(new Set(markers(asCam)), new Set([MINUS_CAM]), '`as` hears that source its mix-minus only');
    assert.deepEqual(new Set(markers(watcher)), new Set([ROOM]), 'a viewer hears the room mix only');
    // Levels still reach everyone.
    nc.publish(mixLevelsSubject('r3'), encodeLevelsEnvelope({ room: 'r3', sources: [], active: null }, 0, 0));
    await waitFor(() => binariesOf(p, 'levels').length === 1 && binariesOf(watcher, 'levels').length === 1);
  });

  it('terminates a participant whose socket stops answering, and its source leaves within a few seconds', async () => {
    const watcher = await viewer();
    await watcher.join('r4');
    const p = await participant({ autoPong: false });
    await p.joinAsParticipant('r4', 'Ed');
    await watcher.waitEvent(isType('source-joined', (e) => e.source.id === p.self));
    const t0 = Date.now();
    await watcher.waitEvent(
      isType('source-left', (e) => e.source === p.self),
      8_000,
    );
    const took = Date.now() - t0;
    assert.ok(took < 6_000, `left after ${took} ms`);
    assert.equal(all.presence('r4', p.self).at(-1)?.type, 'leave');
    assert.equal((await p.closed).code, 1006, 'terminated');
  });

  it('answers a spoofed source id and other kinds with bad-media / 1008, publishing nothing for anyone else', async () => {
    const bystander = await viewer();
    await bystander.join('r5');
    const cam = new FakeSource(nc, 'r5', 'cam1');
    cam.startHeartbeats();
    try {
      const mixed = {
        kind: 'mixedAudio' as const,
        source: '' as const,
        seq: 1,
        captureTimeUs: 1,
        codec: 'opus' as const,
        sampleRate: 48000,
        channels: 1,
        durationUs: 20_000,
        payload: new Uint8Array([1, 2, 3]),
      };
      const attacks: [string, (p: TestParticipant) => void][] = [
        ['video as another source', (p) => p.sendVideo(jpeg, 'cam1')],
        ['audio as another source', (p) => p.sendAudio('cam1')],
        ['mixed audio', (p) => p.sendEnvelope(mixed)],
        ['levels', (p) => p.ws.send(encodeLevelsEnvelope({ room: 'r5', sources: [], active: 'cam1' }, 0, 0))],
      ];
      for (const [what, attack] of attacks) {
        const p = await participant();
        await p.joinAsParticipant('r5', 'Mallory');
        p.sendVideo(jpeg);
        attack(p);
        const closed = await p.closed;
        assert.equal(closed.code, 1008, what);
        assert.ok(p.events.some(isType('error', (e) => e.code === 'bad-media')), what);
        await bystander.waitEvent(isType('source-left', (e) => e.source === p.self));
      }
      // Nothing reached NATS for cam1 but what cam1 itself published, nor on the mix subjects.
      assert.equal(all.on(videoSubject('r5', 'cam1')).length, cam.sent);
      assert.equal(all.on(audioSubject('r5', 'cam1')).length, 0);
      assert.equal(all.msgs.filter((m) => m.subject.startsWith('vidchat.mix.r5')).length, 0);
      assert.ok(
        (await metric(gw.port, 'vidchat_gateway_invalid_messages_total', { reason: 'participant-bad-media' })) >= 4,
      );
      // The gateway goes on serving the bystander.
      const before = binariesOf(bystander, 'video', 'cam1').length;
      cam.video(jpeg);
      await waitFor(() => binariesOf(bystander, 'video', 'cam1').length > before, { what: 'the bystander served' });
    } finally {
      cam.stop();
    }
  });

  it('drops and counts malformed, oversize and over-rate frames, keeping the participant and everyone else', async () => {
    const bystander = await viewer();
    await bystander.join('r6');
    const p = await participant();
    await p.joinAsParticipant('r6', 'Flo');
    const count = (reason: string): Promise<number> =>
      metric(gw.port, 'vidchat_gateway_dropped_frames_total', { reason });

    p.ws.send(Buffer.from('VC garbage, not an envelope'));
    await waitFor(
      async () =>
        (await metric(gw.port, 'vidchat_gateway_invalid_messages_total', { reason: 'participant-garbage' })) >= 1,
    );

    const oversize = Buffer.concat([jpeg, Buffer.alloc(caps.participantMaxFrameBytes)]);
    p.sendVideo(oversize);
    await waitFor(async () => (await count('participant-oversize')) >= 1, { what: 'the oversize frame counted' });

    // A flood: far more envelopes than the frame rate allows, as fast as the socket takes them.
    await sleep(1_100); // a full bucket
    const t0 = Date.now();
    const flood = 400;
    for (let i = 0; i < flood; i++) p.sendAudio();
    await waitFor(async () => (await count('participant-frame-rate')) > 0, { what: 'frame-rate drops' });
    await waitFor(
      async () => (await count('participant-frame-rate')) + all.on(audioSubject('r6', p.self)).length >= flood,
      {
        what: 'every flood frame published or dropped',
      },
    );
    const published = all.on(audioSubject('r6', p.self)).length;
    const elapsed = (Date.now() - t0) / 1000;
    // One second of burst plus the rate over the time it took, never the whole flood.
    assert.ok(
      published <= caps.participantFramesPerSecond * (1 + elapsed) + 1,
      `published ${published} in ${elapsed} s`,
    );
    assert.ok(published < flood);

    // A byte flood: big frames under the frame rate but over the byte rate.
    await sleep(1_100);
    const big = Buffer.concat([jpeg, Buffer.alloc(60_000)]);
    for (let i = 0; i < 20; i++) p.sendVideo(big);
    await waitFor(async () => (await count('participant-byte-rate')) > 0, { what: 'byte-rate drops' });

    // Still open, still publishing once the buckets refill, and the bystander is served.
    assert.equal(p.ws.readyState, p.ws.OPEN);
    await sleep(1_100);
    const sent = p.sendVideo(jpeg);
    await waitFor(() => binariesOf(bystander, 'video', p.self).some((b) => b.equals(sent)), { what: 'a later frame' });
    assert.equal(p.events.filter((e) => e.type === 'error').length, 0, 'drops are silent');
  });

  it('refuses binary from a plain viewer (1003) and a participant join without the publish grant (unauthorized)', async () => {
    const v = await viewer();
    await v.join('r7');
    v.ws.send(
      encodeEnvelope({
        kind: 'audio',
        source: 'x',
        seq: 0,
        captureTimeUs: 0,
        codec: 'opus',
        sampleRate: 48000,
        channels: 1,
        durationUs: 20_000,
        payload: new Uint8Array([1]),
      }),
    );
    assert.equal((await v.closed).code, 1003);

    const secret = 's'.repeat(40);
    const locked = await createGateway(
      defaultConfig({ nats: nats.url, port: 0, host: '127.0.0.1', viewerSecret: secret }),
    );
    try {
      await locked.natsReady;
      const watchOnly = await participant({}, locked.port);
      watchOnly.send({
        type: 'join',
        room: 'r7',
        publish: true,
        name: 'Gil',
        token: await mintViewerToken(secret, ['r7'], 60),
      });
      assert.equal((await watchOnly.closed).code, 1008);
      assert.ok(watchOnly.events.some(isType('error', (e) => e.code === 'unauthorized')));

      const allowed = await participant({}, locked.port);
      const token = await mintViewerToken(secret, ['r7'], 60, Date.now(), { publish: true, name: 'Fixed Name' });
      await allowed.joinAsParticipant('r7', 'Other Name', { token });
      await waitFor(() => all.presence('r7', allowed.self).length > 0);
      assert.equal(all.presence('r7', allowed.self)[0]?.name, 'Fixed Name', "the token's name wins");
    } finally {
      await locked.close();
    }
  });
});
