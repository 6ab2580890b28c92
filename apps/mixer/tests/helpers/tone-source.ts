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
  requireBinary('ffmpeg');
  if (!existsSync(AGENT_MAIN)) {
    throw new Error(
      `the capture agent is not built (${AGENT_MAIN}): run \`npx tsc -b apps/mixer\` or \`npm run build\``,
    );
  }
  // prettier-ignore
  return startApp('capture-agent', [
    '--nats', natsUrl, '--room', room, '--source', source,
    '--video', 'none', '--audio', 'test', '--tone', String(hz), ...extraArgs,
  ]);
}
