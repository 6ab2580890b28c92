import { execFile } from 'node:child_process';
import { classifyFfmpegExit } from './ffmpeg-errors.js';

/** How long `ffmpeg -version` may take before the binary counts as unusable. */
export const FFMPEG_PREFLIGHT_TIMEOUT_MS = 5_000;

/**
 * Runs `ffmpeg -version` once before anything else, so that a missing or
 * unrunnable binary is one clear error at start-up, not a retry loop that
 * only shows itself once the broker answers.
 */
export function assertFfmpegRuns(ffmpegPath: string): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile(ffmpegPath, ['-hide_banner', '-version'], { timeout: FFMPEG_PREFLIGHT_TIMEOUT_MS }, (err) => {
      if (!err) return resolve();
      reject(
        classifyFfmpegExit('preflight', 'start', {
          exitCode: typeof err.code === 'number' ? err.code : null,
          signal: err.signal ?? null,
          stderrTail: '',
          launchError: err,
        }),
      );
    });
  });
}
