import { execFile } from 'node:child_process';
import { EncoderError } from './encoder-errors.js';

/** How long `<binary> -version` may take before the binary counts as unusable. */
export const FFMPEG_PREFLIGHT_TIMEOUT_MS = 5_000;

/** Runs `ffmpeg -version` (or ffprobe) once at start-up: a missing binary is one clear error, not a failed recording later. */
export function assertFfmpegRuns(path: string): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile(path, ['-hide_banner', '-version'], { timeout: FFMPEG_PREFLIGHT_TIMEOUT_MS }, (err) => {
      if (!err) return resolve();
      reject(
        new EncoderError(
          'ERR_FFMPEG_NOT_FOUND',
          `${path} cannot run: install ffmpeg (apt-get install ffmpeg) or pass --ffmpeg <path>`,
          '',
          { cause: err },
        ),
      );
    });
  });
}
