import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { decodeEnvelope, mixAudioSubject } from '@vidchat/protocol';
import { NatsServer, sleep, waitFor } from '@vidchat/test-support';
import { killHard, startStack, ViewerClient, type Stack } from '../src/index.js';

/*
 * The mixer restarts under two agents with microphones (ffmpeg sine tones),
 * a gateway and a viewer: the mixed audio on mixAudioSubject(room) stops
 * while it is down and resumes once it is back, from presence alone (the
 * new mixer learns the room from the agents' heartbeats); the viewer hears
 * the mix again without doing anything, and video never stopped.
 */

const ROOM = 'mixfaults';
/** A heartbeat (1 s) tells the new mixer about the room; then it needs its jitter buffer. */
const RESUME_BUDGET_MS = 20_000;

describe('mixer restarted', { timeout: 150_000 }, () => {
  let nats: NatsServer;
  let stack: Stack | undefined;
  let nc: NatsConnection | undefined;
  let viewer: ViewerClient | undefined;
  const mixAt: number[] = [];
  let badMix = 0;

  before(async () => {
    nats = await NatsServer.start();
    stack = await startStack({
      nats: nats.url,
      room: ROOM,
      mixer: true,
      agents: [
        { source: 'mic1', audio: true, tone: 440 },
        { source: 'mic2', audio: true, tone: 660 },
      ],
    });
    nc = await connect({ servers: nats.url });
    nc.subscribe(mixAudioSubject(ROOM), {
      callback: (_err, msg) => {
        try {
          if (decodeEnvelope(msg.data).kind === 'mixedAudio') mixAt.push(Date.now());
          else badMix++;
        } catch {
          badMix++;
        }
      },
    });
    viewer = await ViewerClient.join(stack.port, ROOM);
  });

  after(async () => {
    viewer?.close();
    await nc?.close();
    await stack?.stop();
    await nats?.stop();
  });

  const countSince = (t: number): number => mixAt.filter((at) => at >= t).length;

  /** mic1's level in the viewer's latest levels message (dBFS), or null when it is not listed. */
  const mic1Level = (): number | null =>
    viewer!.lastLevels?.levels.sources.find((l) => l.source === 'mic1')?.dbfs ?? null;

  it("restarts an agent's killed audio ffmpeg; its tone is back in the mix", { timeout: 180_000 }, async (t) => {
    const agent = stack!.agent('mic1');
    await waitFor(() => (mic1Level() ?? -100) > -40, { timeoutMs: 20_000, what: 'mic1 audible in the levels' });
    const pid = Number([...agent.output().matchAll(/ffmpeg started track=audio pid=(\d+)/g)].at(-1)?.[1]);
    assert.ok(pid > 0, 'the agent logs its audio ffmpeg pid');
    process.kill(pid, 'SIGKILL');
    const killedAt = Date.now();
    const died = await agent.waitForOutput(/ffmpeg died: restarting track=audio .*restartInMs=(\d+)/, 10_000);
    // Silence first (the source's jitter buffer runs dry), then the tone again.
    await waitFor(() => (mic1Level() ?? -100) < -60, { timeoutMs: 10_000, what: 'mic1 silent in the levels' });
    const silentAt = Date.now();
    await waitFor(() => (mic1Level() ?? -100) > -40, { timeoutMs: 15_000, what: 'mic1 audible again' });
    t.diagnostic(
      `audio ffmpeg killed: back-off ${died[1]} ms; silent in the levels after ${silentAt - killedAt} ms, ` +
        `audible again after ${Date.now() - killedAt} ms`,
    );
    assert.equal(agent.child.exitCode, null);
  });

  for (const how of ['stopped cleanly', 'killed'] as const) {
    it(`resumes the mixed audio after the mixer is ${how}`, { timeout: 180_000 }, async (t) => {
      const s = stack!;
      const v = viewer!;
      await waitFor(() => countSince(Date.now() - 1_000) >= 25, {
        timeoutMs: 60_000,
        what: 'the mix flowing (50 packets/s)',
      });
      if (how === 'killed') await killHard(s.mixer!);
      else await s.mixer!.stop();
      const downAt = Date.now();
      // Packets already on the wire may still land; after that, silence.
      await sleep(500);
      const quietFrom = Date.now();
      await sleep(1_000);
      assert.equal(countSince(quietFrom), 0, 'no mix while the mixer is down');
      const videoWhileDown = await v.waitForMoreVideo('mic1', 3, 20_000);
      assert.ok(videoWhileDown > 0, 'video is not affected');

      const restartAt = Date.now();
      await s.startMixer();
      const readyAt = Date.now();
      await waitFor(() => countSince(readyAt) >= 25, { timeoutMs: RESUME_BUDGET_MS, what: 'the mix to resume' });
      const firstAt = mixAt.find((at) => at >= readyAt) ?? 0;
      const viewerAt = await v.waitForMoreMix(10, RESUME_BUDGET_MS);
      t.diagnostic(
        `mixer ${how}: down ${restartAt - downAt} ms, ready after ${readyAt - restartAt} ms; ` +
          `first mixed packet ${firstAt - readyAt} ms after ready; viewer has the mix ${viewerAt - readyAt} ms after ready`,
      );
      assert.equal(badMix, 0, 'every packet on the mix subject is a mixed-audio envelope');
      assert.match(s.mixer!.output(), /room started room=mixfaults/);
    });
  }
});
