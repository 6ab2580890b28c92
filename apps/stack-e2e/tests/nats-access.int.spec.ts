import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { connect, PermissionViolationError, type NatsConnection } from '@nats-io/transport-node';
import {
  decodeRecordingReply,
  decodeViewerCountReport,
  encodeEnvelope,
  encodeRecordingRequest,
  mixAudioSubject,
  mixMinusSubject,
  parseRecordingListResponse,
  recSubject,
  videoSubject,
  viewersSubject,
  wildcards,
  type RecordingReply,
  type RecordingRequest,
} from '@vidchat/protocol';
import { startApp, waitFor, type RunningProcess } from '@vidchat/test-support';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startSecuredNats, startStack, ViewerClient, type SecuredNats, type Stack } from '../src/index.js';

/*
 * NATS access control with the repository's docker/nats.conf, on a real
 * nats-server: the three service users work end to end with their
 * passwords; wrong credentials are refused with one clear line and a quick
 * non-zero exit; and the permissions hold: the agent user cannot subscribe,
 * the mixer cannot read video, the gateway user may publish a source's
 * tracks (for its browser participants) and nothing else, and neither it nor
 * the agent can pose as the mixer.
 */

const ROOM = 'secure';
const PASSWORDS = {
  agent: `agent-${randomBytes(6).toString('hex')}`,
  mixer: `mixer-${randomBytes(6).toString('hex')}`,
  gateway: `gateway-${randomBytes(6).toString('hex')}`,
  recorder: `recorder-${randomBytes(6).toString('hex')}`,
};
/** A refused login is final: the service must not sit in its connect back-off. */
// Generous: the point is an exit instead of retrying forever; a loaded
// 2-core machine can take seconds just to load a program.
const REFUSAL_BUDGET_MS = 30_000;

/** A video envelope of a 2x2 (empty) JPEG: enough for NATS and the gateway, which never decode it. */
const tinyVideo = (source: string, seq: number): Uint8Array =>
  encodeEnvelope({
    kind: 'video',
    source,
    seq,
    captureTimeUs: Date.now() * 1_000,
    width: 2,
    height: 2,
    codec: 'jpeg',
    layer: 0,
    payload: new Uint8Array([0xff, 0xd8, 0xff, 0xd9]),
  });

const creds = (user: keyof typeof PASSWORDS): NodeJS.ProcessEnv => ({
  VIDCHAT_NATS_USER: user,
  VIDCHAT_NATS_PASS: PASSWORDS[user],
});

describe('NATS access control (docker/nats.conf)', { timeout: 150_000 }, () => {
  let nats: SecuredNats;
  let stack: Stack | undefined;
  const clients: NatsConnection[] = [];

  before(async () => {
    nats = await startSecuredNats(PASSWORDS);
  });

  after(async () => {
    await Promise.all(clients.map((c) => c.close()));
    await stack?.stop();
    await nats?.stop();
  });

  const wrongPasswordCases = [
    { app: 'capture-agent', name: 'vidchat-agent', user: 'agent', args: ['--room', ROOM, '--source', 'cam1'] },
    { app: 'mixer', name: 'vidchat-mixer', user: 'mixer', args: [] },
    { app: 'gateway', name: 'vidchat-gateway', user: 'gateway', args: ['--host', '127.0.0.1', '--port', '0'] },
  ] as const;
  for (const { app, name, user, args } of wrongPasswordCases) {
    it(
      `${name} with a wrong password is refused: one clear line, quick non-zero exit`,
      { timeout: 30_000 },
      async (t) => {
        const wrong = `wrong-${randomBytes(6).toString('hex')}`;
        const startedAt = Date.now();
        const p = startApp(app, ['--nats', nats.url, ...args], { VIDCHAT_NATS_USER: user, VIDCHAT_NATS_PASS: wrong });
        const exit = await Promise.race([
          p.exited,
          new Promise<null>((r) => setTimeout(() => r(null), REFUSAL_BUDGET_MS + 5_000)),
        ]);
        if (exit === null) await p.stop();
        const tookMs = Date.now() - startedAt;
        const lines = p.output().split('\n');
        const about = lines.filter((l) => /credential|authori[sz]ation/i.test(l));
        t.diagnostic(`${name}: exit ${JSON.stringify(exit)} after ${tookMs} ms: ${about.join(' | ')}`);
        assert.ok(exit, `${name} exits by itself:\n${p.output()}`);
        assert.notEqual(exit.code, 0);
        assert.ok(tookMs < REFUSAL_BUDGET_MS, `refused within ${REFUSAL_BUDGET_MS} ms (${tookMs} ms)`);
        assert.equal(about.length, 1, `exactly one line about the credentials:\n${p.output()}`);
        // The agent and the mixer print it as their one fatal line; the gateway
        // (whose HTTP side is up first) as an error log line.
        assert.match(about[0]!, new RegExp(`refused the credentials of user \\\\?"${user}\\\\?"`));
        assert.doesNotMatch(p.output(), new RegExp(wrong), 'the password is not printed');
      },
    );
  }

  it('agent, mixer and gateway with the right credentials work end to end', { timeout: 60_000 }, async (t) => {
    stack = await startStack({
      nats: nats.url,
      room: ROOM,
      mixer: true,
      agents: [{ source: 'cam1', audio: true }],
      env: { agent: creds('agent'), mixer: creds('mixer'), gateway: creds('gateway') },
    });
    const viewer = await ViewerClient.join(stack.port, ROOM);
    // A browser participant: the gateway user publishes its presence and video.
    const participant = await ViewerClient.join(stack.port, ROOM, { extra: { publish: true, name: 'Ada' } });
    try {
      await viewer.waitForMoreVideo('cam1', 5, 20_000);
      await viewer.waitForMoreMix(25, 20_000);
      await waitFor(() => viewer.levels > 2, { timeoutMs: 5_000, what: 'levels' });
      const self = participant.self;
      assert.ok(self, 'the participant has a source id');
      let seq = 0;
      const sendFrame = (): void => participant.ws.send(tinyVideo(self, seq++));
      const timer = setInterval(sendFrame, 50);
      try {
        await viewer.waitForMoreVideo(self, 5, 20_000);
      } finally {
        clearInterval(timer);
      }
      // The mixer heard its presence (listens) and mixes its mix-minus, which reaches it.
      await participant.waitForMoreMix(25, 20_000);
      t.diagnostic(
        `viewer: ${viewer.videoCount('cam1')} frames, ${viewer.mixedAudio} mix packets, ${viewer.levels} levels; ` +
          `participant ${self}: ${viewer.videoCount(self)} frames seen, ${participant.mixedAudio} mix-minus packets`,
      );
    } finally {
      viewer.close();
      participant.close();
    }
    for (const p of [stack.gateway!, stack.mixer!, stack.agent('cam1')]) {
      assert.doesNotMatch(p.output(), /Permissions Violation|permission/i, 'no service hits a permission it needs');
    }
  });

  it(
    'room chat and the viewer counts work through the gateway user (JetStream stream VIDCHAT_CHAT)',
    { timeout: 60_000 },
    async () => {
      assert.ok(stack, 'the end-to-end test started the stack');
      // What another gateway would read of the room's viewer counts, with the gateway user's permissions.
      const peer = await connect({ servers: nats.url, user: 'gateway', pass: PASSWORDS.gateway });
      clients.push(peer);
      const counts: number[] = [];
      peer.subscribe(viewersSubject(ROOM), {
        callback: (_e, m) => void counts.push(decodeViewerCountReport(m.data).count),
      });
      await peer.flush();
      const a = await ViewerClient.join(stack.port, ROOM);
      a.ws.send(JSON.stringify({ type: 'chat', text: 'through the secured broker' }));
      await a.waitForEvent((m) => m.type === 'chat' || m.type === 'error', 20_000, 'the chat echo');
      const b = await ViewerClient.join(stack.port, ROOM);
      try {
        // b joined after the message: it comes as history, read back from the stream.
        const got = await b.waitForEvent(
          (m) => m.type === 'chat' && m.text === 'through the secured broker',
          20_000,
          'the chat message',
        );
        assert.equal(got.msg.type === 'chat' && got.msg.history, true);
        assert.ok(!a.events.some((e) => e.msg.type === 'error'), JSON.stringify(a.events));
        // The stack's gateway published its count of the room (a and b watch it) and told its viewers.
        await waitFor(() => counts.includes(2) || null, { timeoutMs: 20_000, what: "the gateway's count report" });
        await b.waitForEvent((m) => m.type === 'viewers' && m.count === 2, 20_000, 'the viewers message');
      } finally {
        a.close();
        b.close();
      }
      assert.doesNotMatch(stack.gateway!.output(), /Permissions Violation|chat unavailable/i);
    },
  );

  it(
    'the gateway user cannot touch any other stream, and cannot change the recordings bucket',
    { timeout: 30_000 },
    async () => {
      const gw = await connect({ servers: nats.url, user: 'gateway', pass: PASSWORDS.gateway });
      clients.push(gw);
      for (const subject of [
        '$JS.API.STREAM.CREATE.OTHER',
        // The recordings bucket is readable (downloads), never writable.
        '$JS.API.STREAM.PURGE.OBJ_vidchat-recordings',
        '$JS.API.STREAM.DELETE.OBJ_vidchat-recordings',
        '$JS.API.STREAM.UPDATE.OBJ_vidchat-recordings',
        '$JS.API.STREAM.DELETE.VIDCHAT_CHAT',
        '$JS.API.STREAM.PURGE.VIDCHAT_CHAT',
        '$JS.API.STREAMS',
      ]) {
        await assert.rejects(
          gw.request(subject, JSON.stringify({ name: 'OTHER', subjects: ['other.>'] }), { timeout: 2_000 }),
          subject,
        );
      }
    },
  );

  it(
    'the recorder user records a room into its bucket; the gateway user may ask it to and serves the file',
    { timeout: 90_000 },
    async () => {
      assert.ok(stack, 'the end-to-end case started the stack');
      const workDir = mkdtempSync(join(tmpdir(), 'vidchat-access-rec-'));
      let recorder: RunningProcess | undefined;
      const gw = await connect({ servers: nats.url, user: 'gateway', pass: PASSWORDS.gateway });
      clients.push(gw);
      const request = async (req: RecordingRequest): Promise<RecordingReply> =>
        decodeRecordingReply(
          (await gw.request(recSubject(ROOM, req.action), encodeRecordingRequest(req), { timeout: 30_000 })).data,
        );
      try {
        recorder = startApp(
          'recorder',
          // A short room lock TTL: the 3 s recording renews its lock several times.
          ['--nats', nats.url, '--work-dir', workDir, '--size', '320x180', '--lock-ttl-ms', '2000'],
          creds('recorder'),
        );
        await recorder.waitForOutput(/\[main\] ready/, 30_000);
        const started = await request({ action: 'start' });
        assert.ok(started.ok && 'recording' in started, JSON.stringify(started));
        await new Promise((r) => setTimeout(r, 3_000));
        const stopped = await request({ action: 'stop', id: started.recording.id });
        assert.ok(stopped.ok && 'recording' in stopped, JSON.stringify(stopped));
        assert.equal(stopped.recording.state, 'done', recorder.output());
        assert.ok(stopped.recording.object && stopped.recording.bytes > 0);
        const listed = await request({ action: 'list' });
        assert.ok(listed.ok && 'recordings' in listed);
        assert.ok(listed.recordings.some((r) => r.id === started.recording.id && r.object !== null));

        // The gateway process (user gateway) serves the file from the bucket,
        // whole and as a range, with nothing but its read permissions.
        const base = `http://127.0.0.1:${stack.port}`;
        const items = parseRecordingListResponse(await (await fetch(`${base}/api/rooms/${ROOM}/recordings`)).json());
        const url = items.find((r) => r.id === started.recording.id)?.url;
        assert.ok(url, JSON.stringify(items));
        const whole = await fetch(`${base}${url}`);
        assert.equal(whole.status, 200, await whole.clone().text());
        assert.equal(whole.headers.get('content-type'), 'video/mp4');
        const file = Buffer.from(await whole.arrayBuffer());
        assert.equal(file.length, stopped.recording.bytes);
        assert.equal(file.subarray(4, 8).toString('latin1'), 'ftyp');
        const part = await fetch(`${base}${url}`, { headers: { Range: 'bytes=100-299' } });
        assert.equal(part.status, 206);
        assert.ok(Buffer.from(await part.arrayBuffer()).equals(file.subarray(100, 300)));
        assert.doesNotMatch(stack.gateway!.output(), /Permissions Violation/i, 'the gateway hits no permission');
        assert.doesNotMatch(
          recorder.output(),
          /Permissions Violation|permission/i,
          'the recorder hits no permission it needs',
        );
      } finally {
        await recorder?.stop();
        rmSync(workDir, { recursive: true, force: true });
      }
    },
  );

  it(
    'the recorder user cannot delete, purge or change its lock bucket, nor touch the mixer leases',
    { timeout: 30_000 },
    async () => {
      const rec = await connect({ servers: nats.url, user: 'recorder', pass: PASSWORDS.recorder });
      clients.push(rec);
      for (const subject of [
        '$JS.API.STREAM.DELETE.KV_vidchat-recorder-locks',
        '$JS.API.STREAM.PURGE.KV_vidchat-recorder-locks',
        '$JS.API.STREAM.UPDATE.KV_vidchat-recorder-locks',
        '$JS.API.STREAM.INFO.KV_vidchat-mixer-leases',
        '$KV.vidchat-mixer-leases.room.secure',
      ]) {
        await assert.rejects(rec.request(subject, '{}', { timeout: 2_000 }), subject);
      }
    },
  );

  it('the recorder user cannot publish as a source nor read source audio', { timeout: 20_000 }, async () => {
    const err = await subscribeError('recorder', wildcards.roomTrack(ROOM, 'audio'));
    assert.ok(err instanceof PermissionViolationError, `a permissions error, got ${String(err)}`);
    const rec = await connect({ servers: nats.url, user: 'recorder', pass: PASSWORDS.recorder });
    clients.push(rec);
    const denied = (async () => {
      for await (const s of rec.status()) {
        if (s.type === 'error' && s.error instanceof PermissionViolationError) return s.error;
      }
      throw new Error('status ended without a permissions error');
    })();
    rec.publish(videoSubject(ROOM, 'impostor'), new Uint8Array([1]));
    const e = await denied;
    assert.equal(e.operation, 'publish');
  });

  /** The error a subscription of `user` to `subject` ends with, or null if none came within 5 s. */
  async function subscribeError(user: keyof typeof PASSWORDS, subject: string): Promise<Error | null> {
    const nc = await connect({ servers: nats.url, user, pass: PASSWORDS[user] });
    clients.push(nc);
    return new Promise<Error | null>((resolve) => {
      nc.subscribe(subject, { callback: (e) => resolve(e) });
      setTimeout(() => resolve(null), 5_000);
    });
  }

  it('the agent user cannot subscribe', { timeout: 20_000 }, async () => {
    for (const subject of [wildcards.roomSources(ROOM), wildcards.roomMix(ROOM), '>']) {
      const err = await subscribeError('agent', subject);
      assert.ok(err instanceof PermissionViolationError, `a permissions error on ${subject}, got ${String(err)}`);
      assert.equal(err.operation, 'subscription');
    }
  });

  it('the mixer user cannot subscribe to video', { timeout: 20_000 }, async () => {
    const err = await subscribeError('mixer', wildcards.roomTrack(ROOM, 'video'));
    assert.ok(err instanceof PermissionViolationError, `a permissions error, got ${String(err)}`);
  });

  it(
    'the gateway user publishes source tracks only (participants), never a mix; the agent no mix either',
    { timeout: 30_000 },
    async () => {
      const gw = await connect({ servers: nats.url, user: 'gateway', pass: PASSWORDS.gateway });
      const agent = await connect({ servers: nats.url, user: 'agent', pass: PASSWORDS.agent });
      const watcher = await connect({ servers: nats.url, user: 'gateway', pass: PASSWORDS.gateway });
      clients.push(gw, agent, watcher);
      const seen: string[] = [];
      const participantVideo: string[] = [];
      watcher.subscribe(videoSubject(ROOM, 'p-0123456789ab'), {
        callback: (_e, m) => void participantVideo.push(m.subject),
      });
      watcher.subscribe(mixAudioSubject(ROOM), {
        callback: (_e, m) => {
          // The real mixer publishes here too: only count what the test users sent.
          if (m.data.length === 3) seen.push(m.subject);
        },
      });
      watcher.subscribe(mixMinusSubject(ROOM, 'cam1'), {
        callback: (_e, m) => {
          if (m.data.length === 3) seen.push(m.subject);
        },
      });
      watcher.subscribe(`vidchat.src.${ROOM}.cam1.other`, { callback: (_e, m) => void seen.push(m.subject) });
      await watcher.flush();

      // Allowed now: what the gateway publishes for a browser participant.
      gw.publish(videoSubject(ROOM, 'p-0123456789ab'), tinyVideo('p-0123456789ab', 0));
      await gw.flush();
      await waitFor(() => participantVideo.length === 1, { timeoutMs: 5_000, what: "a participant's video" });

      const violations = (nc: NatsConnection, n: number): Promise<PermissionViolationError[]> =>
        (async () => {
          const out: PermissionViolationError[] = [];
          for await (const s of nc.status()) {
            if (s.type === 'error' && s.error instanceof PermissionViolationError) out.push(s.error);
            if (out.length === n) return out;
          }
          throw new Error('status ended without the permissions errors');
        })();
      // A permissions error closes nothing but is reported per denied publish; one connection per attempt keeps it simple.
      const gwMix = await connect({ servers: nats.url, user: 'gateway', pass: PASSWORDS.gateway });
      const gwMinus = await connect({ servers: nats.url, user: 'gateway', pass: PASSWORDS.gateway });
      const gwOther = await connect({ servers: nats.url, user: 'gateway', pass: PASSWORDS.gateway });
      clients.push(gwMix, gwMinus, gwOther);
      const denied = Promise.all([
        violations(gwMix, 1),
        violations(gwMinus, 1),
        violations(gwOther, 1),
        violations(agent, 1),
      ]);
      gwMix.publish(mixAudioSubject(ROOM), new Uint8Array([1, 2, 3]));
      gwMinus.publish(mixMinusSubject(ROOM, 'cam1'), new Uint8Array([1, 2, 3]));
      gwOther.publish(`vidchat.src.${ROOM}.cam1.other`, new Uint8Array([1, 2, 3]));
      agent.publish(mixAudioSubject(ROOM), new Uint8Array([1, 2, 3]));
      const all = (await denied).flat();
      for (const v of all) assert.equal(v.operation, 'publish');
      assert.deepEqual(
        all.map((v) => v.subject),
        [mixAudioSubject(ROOM), mixMinusSubject(ROOM, 'cam1'), `vidchat.src.${ROOM}.cam1.other`, mixAudioSubject(ROOM)],
      );
      await watcher.flush();
      assert.deepEqual(seen, [], 'nothing denied reached a subscriber');
    },
  );
});
