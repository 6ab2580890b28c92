import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { REPO_ROOT, requireBinary, startApp, type RunningProcess } from '@vidchat/test-support';

/*
 * A real test-tone source for the mixer's integration tests: the capture
 * agent (`vidchat-agent --video none --audio test --tone HZ`), which runs
 * real ffmpeg and publishes presence and Opus envelopes.
 */
const AGENT_MAIN = resolve(REPO_ROOT, 'apps/capture-agent/dist/src/main.js');

export function startToneAgent(
  natsUrl: string,
  room: string,
  source: string,
  hz: number,
  extraArgs: readonly string[] = [],
): RunningProcess {
  return startAudioAgent(natsUrl, room, source, ['--audio', 'test', '--tone', String(hz), ...extraArgs]);
}

/**
 * A vowel-like sound through the agent's own encoder settings: eight
 * partials of a 196 Hz sawtooth, pitch ±12% three times a second, level
 * 0.5–1 four times a second (a steady tone is soon taken for background
 * noise by SILK's voice activity detector, and libopus then sends no FEC).
 */
export const VOWEL_INPUT =
  '-re -f lavfi -i aevalsrc=0.15*(0.75+0.25*sin(8*PI*t))*(' +
  [1, 2, 3, 4, 5, 6, 7, 8].map((h) => `sin(${2 * h}*PI*196*(t-0.12/(6*PI)*cos(6*PI*t)))/${h}`).join('+') +
  '):s=48000';

/** The agent with `--video none` and the given audio arguments. */
export function startAudioAgent(
  natsUrl: string,
  room: string,
  source: string,
  audioArgs: readonly string[],
): RunningProcess {
  requireBinary('ffmpeg');
  if (!existsSync(AGENT_MAIN)) {
    throw new Error(
      `the capture agent is not built (${AGENT_MAIN}): run \`npx tsc -b apps/mixer\` or \`npm run build\``,
    );
  }
  // prettier-ignore
  return startApp('capture-agent', [
    '--nats', natsUrl, '--room', room, '--source', source,
    '--video', 'none', ...audioArgs,
  ]);
}
