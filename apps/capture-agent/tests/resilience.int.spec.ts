import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { NatsServer, requireBinary, sleep, waitFor, type RunningProcess } from '@vidchat/test-support';
import { RoomRecorder, startAgent } from './support/agent-harness.js';

/*
 * Faults the agent must survive: its ffmpeg killed, the broker restarted,
 * a camera that is not there (while the microphone goes on).
 */
describe('capture agent under faults', { timeout: 90_000 }, () => {
  it('restarts a killed ffmpeg, logs it, and frames resume', { timeout: 40_000 }, async () => {
    requireBinary('ffmpeg');
    const server = await NatsServer.start();
    let agent: RunningProcess | null = null;
    let recorder: RoomRecorder | null = null;
    try {
      recorder = await RoomRecorder.start(server.url, 'faults');
      agent = startAgent(server.url, 'faults', 'cam1', ['--size', '160x120', '--fps', '10', '--audio', 'test']);
      const m = await agent.waitForOutput(/ffmpeg started track=video pid=(\d+) restarts=0/);
      await waitFor(() => recorder!.video.length >= 5, { timeoutMs: 10_000, what: 'first frames' });
      const audioBefore = recorder.audio.length;
      process.kill(Number(m[1]), 'SIGKILL');
      await agent.waitForOutput(/ffmpeg died: restarting track=video code=ERR_FFMPEG_DIED .*signal=SIGKILL/);
      const again = await agent.waitForOutput(/ffmpeg started track=video pid=(\d+) restarts=1/);
      assert.notEqual(again[1], m[1]);
      const afterRestart = recorder.video.length;
      await waitFor(() => recorder!.video.length >= afterRestart + 5, {
        timeoutMs: 10_000,
        what: 'frames after the restart',
      });
      // The microphone's ffmpeg was not touched.
      assert.ok(recorder.audio.length > audioBefore + 10);
      assert.doesNotMatch(agent.output(), /track=audio .*restarts=1/);
    } finally {
      await agent?.stop();
      await recorder?.stop();
      await server.stop();
    }
  });

  it('survives a broker restart on the same port: frames resume', { timeout: 40_000 }, async () => {
    const server = await NatsServer.start();
    let agent: RunningProcess | null = null;
    let recorder: RoomRecorder | null = null;
    try {
      agent = startAgent(server.url, 'faults', 'cam2', ['--size', '160x120', '--fps', '10', '--audio', 'none']);
      recorder = await RoomRecorder.start(server.url, 'faults');
      await waitFor(() => recorder!.video.length >= 5, { timeoutMs: 15_000, what: 'first frames' });
      await recorder.stop();
      await server.kill();
      await agent.waitForOutput(/NATS connection lost/);
      await sleep(1_500);
      await server.restart();
      await agent.waitForOutput(/NATS reconnected/, 15_000);
      recorder = await RoomRecorder.start(server.url, 'faults');
      await waitFor(() => recorder!.video.length >= 5, { timeoutMs: 10_000, what: 'frames after the broker restart' });
      await waitFor(() => recorder!.presence.some((p) => p.msg.type === 'heartbeat'), {
        timeoutMs: 3_000,
        what: 'heartbeat',
      });
      // Frames made while the broker was away were dropped (latest wins), and the status line counts them.
      await agent.waitForOutput(/status fps=\S+ .*videoDrops=[1-9]/, 5_000);
      assert.equal(agent.child.exitCode, null);
    } finally {
      await agent?.stop();
      await recorder?.stop();
      await server.stop();
    }
  });

  it(
    'reports a missing camera as failed to start, retries, and keeps the microphone going',
    { timeout: 30_000 },
    async () => {
      const server = await NatsServer.start();
      let agent: RunningProcess | null = null;
      let recorder: RoomRecorder | null = null;
      try {
        recorder = await RoomRecorder.start(server.url, 'faults');
        agent = startAgent(server.url, 'faults', 'cam3', ['--video', '/dev/video-missing-99', '--audio', 'test']);
        await agent.waitForOutput(
          /ffmpeg failed to start: retrying track=video code=ERR_DEVICE_NOT_FOUND .*stderr=/,
          10_000,
        );
        await agent.waitForOutput(/ffmpeg started track=video pid=\d+ restarts=1/, 10_000);
        await waitFor(() => recorder!.audio.length >= 50, { timeoutMs: 10_000, what: 'audio while the camera fails' });
        assert.equal(recorder.video.length, 0);
      } finally {
        await agent?.stop();
        await recorder?.stop();
        await server.stop();
      }
    },
  );

  it('exits 1 with ERR_FFMPEG_NOT_FOUND when ffmpeg is missing', { timeout: 20_000 }, async () => {
    const server = await NatsServer.start();
    let agent: RunningProcess | null = null;
    try {
      agent = startAgent(server.url, 'faults', 'cam4', ['--ffmpeg', '/nonexistent/ffmpeg', '--audio', 'none']);
      const exit = await agent.exited;
      assert.equal(exit.code, 1, agent.output());
      assert.match(agent.output(), /ERR_FFMPEG_NOT_FOUND/);
      // Told before the broker is needed: with nothing listening it still exits at once.
      agent = startAgent('nats://127.0.0.1:1', 'faults', 'cam4', [
        '--ffmpeg',
        '/nonexistent/ffmpeg',
        '--audio',
        'none',
      ]);
      const offline = await agent.exited;
      assert.equal(offline.code, 1, agent.output());
      assert.match(agent.output(), /ERR_FFMPEG_NOT_FOUND/);
      assert.doesNotMatch(agent.output(), /cannot reach NATS/);
    } finally {
      await agent?.stop();
      await server.stop();
    }
  });
});
