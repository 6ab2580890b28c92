import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { connect, PermissionViolationError, type NatsConnection } from '@nats-io/transport-node';
import { encodeEnvelope, mixAudioSubject, videoSubject, wildcards } from '@vidchat/protocol';
import { startApp, waitFor } from '@vidchat/test-support';
import { startSecuredNats, startStack, ViewerClient, type SecuredNats, type Stack } from '../src/index.js';

/*
 * NATS access control with the repository's docker/nats.conf, on a real
 * nats-server: the three service users work end to end with their
 * passwords; wrong credentials are refused with one clear line and a quick
 * non-zero exit; and the permissions hold: the agent user cannot subscribe,
 * the mixer cannot read video, the gateway user cannot publish as a source,
 * and the agent cannot pose as the mixer.
 */

const ROOM = 'secure';
const PASSWORDS = {
  agent: `agent-${randomBytes(6).toString('hex')}`,
  mixer: `mixer-${randomBytes(6).toString('hex')}`,
  gateway: `gateway-${randomBytes(6).toString('hex')}`,
};
/** A refused login is final: the service must not sit in its connect back-off. */
const REFUSAL_BUDGET_MS = 5_000;

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
    try {
      await viewer.waitForMoreVideo('cam1', 5, 20_000);
      await viewer.waitForMoreMix(25, 20_000);
      await waitFor(() => viewer.levels > 2, { timeoutMs: 5_000, what: 'levels' });
      t.diagnostic(
        `viewer: ${viewer.videoCount('cam1')} frames, ${viewer.mixedAudio} mix packets, ${viewer.levels} levels`,
      );
    } finally {
      viewer.close();
    }
    for (const p of [stack.gateway!, stack.mixer!, stack.agent('cam1')]) {
      assert.doesNotMatch(p.output(), /Permissions Violation|permission/i, 'no service hits a permission it needs');
    }
  });

  it('room chat works through the gateway user (JetStream stream VIDCHAT_CHAT)', { timeout: 60_000 }, async () => {
    assert.ok(stack, 'the end-to-end test started the stack');
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
    } finally {
      a.close();
      b.close();
    }
    assert.doesNotMatch(stack.gateway!.output(), /Permissions Violation|chat unavailable/i);
  });

  it('the gateway user cannot touch any other stream', { timeout: 30_000 }, async () => {
    const gw = await connect({ servers: nats.url, user: 'gateway', pass: PASSWORDS.gateway });
    clients.push(gw);
    for (const subject of [
      '$JS.API.STREAM.CREATE.OTHER',
      '$JS.API.STREAM.INFO.OBJ_vidchat-recordings',
      '$JS.API.STREAM.DELETE.VIDCHAT_CHAT',
      '$JS.API.STREAM.PURGE.VIDCHAT_CHAT',
      '$JS.API.STREAMS',
    ]) {
      await assert.rejects(
        gw.request(subject, JSON.stringify({ name: 'OTHER', subjects: ['other.>'] }), { timeout: 2_000 }),
        subject,
      );
    }
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
    'the gateway user cannot publish under vidchat.src.>, nor the agent under vidchat.mix.>',
    { timeout: 20_000 },
    async () => {
      const gw = await connect({ servers: nats.url, user: 'gateway', pass: PASSWORDS.gateway });
      const agent = await connect({ servers: nats.url, user: 'agent', pass: PASSWORDS.agent });
      const watcher = await connect({ servers: nats.url, user: 'gateway', pass: PASSWORDS.gateway });
      clients.push(gw, agent, watcher);
      const seen: string[] = [];
      watcher.subscribe(videoSubject(ROOM, 'impostor'), { callback: (_e, m) => void seen.push(m.subject) });
      watcher.subscribe(mixAudioSubject(ROOM), {
        callback: (_e, m) => {
          // The real mixer publishes here too: only count what the agent user sent.
          if (m.data.length === 3) seen.push(m.subject);
        },
      });
      await watcher.flush();

      const violation = (nc: NatsConnection): Promise<PermissionViolationError> =>
        (async () => {
          for await (const s of nc.status()) {
            if (s.type === 'error' && s.error instanceof PermissionViolationError) return s.error;
          }
          throw new Error('status ended without a permissions error');
        })();
      const gwDenied = violation(gw);
      const agentDenied = violation(agent);
      gw.publish(
        videoSubject(ROOM, 'impostor'),
        encodeEnvelope({
          kind: 'video',
          source: 'impostor',
          seq: 0,
          captureTimeUs: Date.now() * 1_000,
          width: 2,
          height: 2,
          codec: 'jpeg',
          layer: 0,
          payload: new Uint8Array([0xff, 0xd8, 0xff, 0xd9]),
        }),
      );
      agent.publish(mixAudioSubject(ROOM), new Uint8Array([1, 2, 3]));
      const [g, a] = await Promise.all([gwDenied, agentDenied]);
      assert.equal(g.operation, 'publish');
      assert.equal(g.subject, videoSubject(ROOM, 'impostor'));
      assert.equal(a.operation, 'publish');
      await watcher.flush();
      assert.deepEqual(seen, [], 'nothing denied reached a subscriber');
    },
  );
});
