import { execFile } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { concatArgs, concatListLine, remuxArgs } from './encoder-args.js';
import { EncoderError } from './encoder-errors.js';

/** Longest a faststart remux or a probe may take (a copy of a few hundred MB on a slow disk). */
export const FINALIZE_TIMEOUT_MS = 120_000;

function run(bin: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(
      bin,
      args,
      { timeout: FINALIZE_TIMEOUT_MS, maxBuffer: 1024 * 1024, encoding: 'utf8' },
      (err, stdout, stderr) => {
        if (err)
          reject(
            new EncoderError(
              'ERR_REMUX_FAILED',
              `${bin} failed: ${stderr.trim().split('\n').slice(-2).join(' | ') || err.message}`,
              stderr,
              { cause: err },
            ),
          );
        else resolve(stdout);
      },
    );
  });
}

/**
 * Rewrites the fragmented recording as a plain MP4 with its index in front
 * (`+faststart`): every player and browser seeks in it at once. Stream copy,
 * no re-encoding: a second or two of I/O for an hour of video.
 */
export async function remuxFaststart(ffmpegPath: string, input: string, output: string): Promise<void> {
  await run(ffmpegPath, remuxArgs(input, output));
}

/**
 * Joins segments that are already plain MP4s (see `remuxFaststart`) into
 * one faststart MP4, in order, by stream copy. `listFile` is written here.
 */
export async function concatSegments(
  ffmpegPath: string,
  inputs: string[],
  listFile: string,
  output: string,
): Promise<void> {
  await writeFile(listFile, inputs.map(concatListLine).join('\n') + '\n');
  await run(ffmpegPath, concatArgs(listFile, output));
}

/** Duration of an MP4 in ms, read by ffprobe from the container. */
export async function probeDurationMs(ffprobePath: string, file: string): Promise<number> {
  const out = await run(ffprobePath, [
    '-v',
    'error',
    '-show_entries',
    'format=duration',
    '-of',
    'default=nw=1:nk=1',
    file,
  ]);
  const s = Number(out.trim());
  return Number.isFinite(s) && s > 0 ? Math.round(s * 1000) : 0;
}
