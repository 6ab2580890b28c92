import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { requireBinary, sleep, waitFor, type RunningProcess } from '@vidchat/test-support';
import { AgentRun, RoomRecorder } from './support/agent-harness.js';

/*
 * Capture times of a camera-like input: not `--video test`, but an input
 * given as ffmpeg arguments (`--ffmpeg-input`, the path a dshow or
 * avfoundation camera, a file or a URL takes), here a real lavfi source
 * paced at real time. Each frame's capture time must be ffmpeg's own
 * timestamp (the input's pts, put on the wall clock), not the moment
 * the JPEG left ffmpeg's pipe. To tell the two apart, the agent is stopped
 * (SIGSTOP) for 1.5 s while ffmpeg keeps writing into the pipe: the frames
 * waiting there arrive in one burst after SIGCONT; stamped at pipe exit they
 * would carry almost the same time, stamped by ffmpeg they keep the input's
 * 100 ms spacing and are older than their arrival by up to the pause.
 */

describe('capture agent: capture times of a non-test video input', { timeout: 90_000 }, () => {
  let run: AgentRun;
  let recorder: RoomRecorder;
  let agent: RunningProcess;
  const room = 'capture-time';

  before(async () => {
    requireBinary('ffmpeg');
    run = await AgentRun.start(room, 'cam1', [
      ...['--ffmpeg-input', '-re -f lavfi -i testsrc2=size=160x120:rate=30'],
      ...['--size', '160x120', '--fps', '10', '--audio', 'none', '--quality', '20'],
    ]);
    ({ recorder, agent } = run);
    await waitFor(() => recorder.video.length > 10, { timeoutMs: 30_000, what: 'frames from the agent' });
  });

  after(async () => {
    await run?.stop();
  });

  it("stamps frames with ffmpeg's own timestamps: the input's spacing, capped to --fps, kept through a stalled agent", async () => {
    const pid = agent.child.pid;
    assert.ok(pid !== undefined);
    const before = recorder.video.length;
    process.kill(pid, 'SIGSTOP');
    const stoppedAt = Date.now();
    try {
      await sleep(1_500);
    } finally {
      process.kill(pid, 'SIGCONT');
    }
    await waitFor(() => recorder.video.length > before + 20, { timeoutMs: 20_000, what: 'frames after SIGCONT' });
    const v = recorder.video;
    // Steady state before the pause: ffmpeg's select keeps about 10 of the input's 30 frames a second.
    const steady = v.slice(2, before).map((r) => r.msg.captureTimeUs);
    const spacing = steady.slice(1).map((t, i) => t - steady[i]!);
    const median = [...spacing].sort((a, b) => a - b)[Math.floor(spacing.length / 2)]!;
    assert.ok(median >= 80_000 && median <= 120_000, `median spacing ${median} µs`);
    assert.ok(
      spacing.every((g) => g > 0),
      'capture times only go forward',
    );
    // The frames that waited in the pipe: captured while the agent was stopped, arriving after it resumed.
    const waited = v
      .slice(before)
      .filter((r) => r.msg.captureTimeUs / 1_000 < stoppedAt + 1_400 && r.at > stoppedAt + 1_500);
    assert.ok(waited.length >= 3, `${waited.length} frames captured during the pause`);
    const waitedSpacing = waited.slice(1).map((r, i) => r.msg.captureTimeUs - waited[i]!.msg.captureTimeUs);
    const arrivals = waited.map((r) => r.at);
    // They arrived in a burst, yet keep their capture spacing: the stamps are ffmpeg's, not the pipe's.
    assert.ok(
      waitedSpacing.every((g) => g >= 50_000),
      `spacing of frames that waited in the pipe: ${waitedSpacing.join(', ')} µs (arrivals within ${arrivals[arrivals.length - 1]! - arrivals[0]!} ms)`,
    );
    assert.ok(
      arrivals[arrivals.length - 1]! - arrivals[0]! <
        (waited[waited.length - 1]!.msg.captureTimeUs - waited[0]!.msg.captureTimeUs) / 1_000,
    );
  });
});
