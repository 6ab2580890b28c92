import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { PRESENCE_TIMEOUT_MS, presenceSubject } from '@vidchat/protocol';
import { NatsServer } from '@vidchat/test-support';
import { killHard, startStack, ViewerClient, type Stack } from '../src/index.js';

/*
 * A capture agent fails under a running gateway and a WebSocket viewer:
 * - its ffmpeg is killed: the agent's supervisor restarts it after a back-off
 *   (and says so), and frames reach the viewer again;
 * - the agent itself is SIGKILLed (no `leave`): the gateway drops its tile
 *   once heartbeats stop for PRESENCE_TIMEOUT_MS, and the viewer gets
 *   `source-left`; started again, it comes back with `source-joined` and frames.
 */

const ROOM = 'agentfaults';
/** The gateway sweeps sources every 250 ms; the rest is scheduling on two busy cores. */
const LEAVE_SLACK_MS = 1_000;

describe('agent faults', { timeout: 150_000 }, () => {
  let nats: NatsServer;
  let stack: Stack | undefined;
  let viewer: ViewerClient | undefined;
  let nc: NatsConnection | undefined;
  /** Arrival times of cam1's presence messages, seen by this test on NATS. */
  const presenceAt: number[] = [];

  before(async () => {
    nats = await NatsServer.start();
    stack = await startStack({ nats: nats.url, room: ROOM, agents: [{ source: 'cam1' }, { source: 'cam2' }] });
    nc = await connect({ servers: nats.url });
    nc.subscribe(presenceSubject(ROOM, 'cam1'), { callback: () => void presenceAt.push(Date.now()) });
    viewer = await ViewerClient.join(stack.port, ROOM);
  });

  after(async () => {
    viewer?.close();
    await nc?.close();
    await stack?.stop();
    await nats?.stop();
  });

  it('restarts a killed ffmpeg with back-off; frames resume', { timeout: 60_000 }, async (t) => {
    const v = viewer!;
    const agent = stack!.agent('cam1');
    await v.waitForMoreVideo('cam1', 5, 20_000);
    const started = [...agent.output().matchAll(/ffmpeg started track=video pid=(\d+)/g)];
    const pid = Number(started.at(-1)?.[1]);
    assert.ok(pid > 0, `the agent logs its video ffmpeg's pid:\n${agent.output().slice(-2000)}`);

    process.kill(pid, 'SIGKILL');
    const killedAt = Date.now();
    const died = await agent.waitForOutput(/ffmpeg died: restarting track=video .*restartInMs=(\d+)/, 10_000);
    await agent.waitForOutput(/ffmpeg started track=video pid=\d+ restarts=1/, 15_000);
    const framesAt = await v.waitForMoreVideo('cam1', 3, 15_000);
    t.diagnostic(`ffmpeg killed: back-off ${died[1]} ms, frames again after ${framesAt - killedAt} ms`);
    assert.equal(agent.child.exitCode, null, 'the agent itself kept running');
    // The other agent never noticed.
    await v.waitForMoreVideo('cam2', 3, 5_000);
  });

  it('drops a SIGKILLed agent within the presence timeout; a restarted one rejoins', { timeout: 60_000 }, async (t) => {
    const v = viewer!;
    const s = stack!;
    await v.waitForMoreVideo('cam1', 3, 10_000);
    await killHard(s.agent('cam1'));
    const killedAt = Date.now();
    const left = await v.waitForEvent(
      (m) => m.type === 'source-left' && m.source === 'cam1',
      PRESENCE_TIMEOUT_MS + LEAVE_SLACK_MS + 2_000,
      'source-left for cam1',
      killedAt,
    );
    const lastHeartbeat = presenceAt.filter((at) => at <= killedAt).at(-1) ?? 0;
    const afterHeartbeat = left.at - lastHeartbeat;
    t.diagnostic(`source-left ${afterHeartbeat} ms after the last heartbeat (${left.at - killedAt} ms after the kill)`);
    assert.ok(afterHeartbeat >= PRESENCE_TIMEOUT_MS - 100, `not before the timeout (${afterHeartbeat} ms)`);
    assert.ok(
      afterHeartbeat <= PRESENCE_TIMEOUT_MS + LEAVE_SLACK_MS,
      `within ${PRESENCE_TIMEOUT_MS} ms + ${LEAVE_SLACK_MS} ms slack of the last heartbeat (${afterHeartbeat} ms)`,
    );
    // cam2 is unaffected.
    await v.waitForMoreVideo('cam2', 3, 5_000);

    const restartAt = Date.now();
    await s.startAgent({ source: 'cam1' });
    const joined = await v.waitForEvent(
      (m) => m.type === 'source-joined' && m.source.id === 'cam1',
      15_000,
      'source-joined for cam1',
      restartAt,
    );
    const framesAt = await v.waitForMoreVideo('cam1', 3, 15_000);
    t.diagnostic(
      `restarted agent: source-joined after ${joined.at - restartAt} ms, frames after ${framesAt - restartAt} ms`,
    );
    assert.equal(v.events.filter((e) => e.msg.type === 'source-left').length, 1, 'exactly one source-left');
    assert.equal(v.closed, null);
  });
});
