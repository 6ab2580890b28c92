import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { requireBinary } from '@vidchat/test-support';

/*
 * Media made by the real ffmpeg at test time, so no binaries are committed.
 */

function ffmpegToBytes(args: string[], ext: string): Buffer {
  const ffmpeg = requireBinary('ffmpeg');
  const dir = mkdtempSync(join(tmpdir(), 'vidchat-agent-fixture-'));
  try {
    const out = join(dir, `out.${ext}`);
    const r = spawnSync(ffmpeg, ['-hide_banner', '-nostdin', '-loglevel', 'error', ...args, '-y', out], {
      encoding: 'utf8',
    });
    if (r.status !== 0) throw new Error(`ffmpeg failed making a fixture: ${r.stderr}`);
    return readFileSync(out);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** `frames` JPEGs of testsrc2 at `size`, concatenated as ffmpeg's mjpeg muxer writes them. */
export function mjpegStream(size: string, frames: number, quality = 5): Buffer {
  return ffmpegToBytes(
    [
      '-f',
      'lavfi',
      '-i',
      `testsrc2=size=${size}:rate=10`,
      '-frames:v',
      String(frames),
      '-c:v',
      'mjpeg',
      '-q:v',
      String(quality),
      '-f',
      'mjpeg',
    ],
    'mjpg',
  );
}

/** Ogg Opus of a sine tone, muxed as the agent asks ffmpeg to (20 ms packets, one per page). */
export function oggOpusSine(seconds: number, hz = 440): Buffer {
  return ffmpegToBytes(
    [
      '-f',
      'lavfi',
      '-i',
      `sine=frequency=${hz}:sample_rate=48000:duration=${seconds}`,
      '-ac',
      '1',
      '-c:a',
      'libopus',
      '-application',
      'lowdelay',
      '-frame_duration',
      '20',
      '-page_duration',
      '20000',
      '-f',
      'ogg',
    ],
    'ogg',
  );
}

/** Splits a stream of JPEGs by their SOI offsets, known here because ffmpeg wrote no EXIF. */
export function naiveFrames(stream: Buffer): Buffer[] {
  const out: Buffer[] = [];
  let start = 0;
  for (;;) {
    const end = stream.indexOf(Buffer.from([0xff, 0xd9]), start);
    if (end === -1) break;
    out.push(stream.subarray(start, end + 2));
    start = end + 2;
  }
  return out;
}
