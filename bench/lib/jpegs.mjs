// Real JPEGs for the publisher: a few distinct 640x360 frames of ffmpeg's
// testsrc2 at -q:v 5 (about 17–19 KB each), made once and cached.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { requireBinary } from '@vidchat/test-support';

export const JPEG_WIDTH = 640;
export const JPEG_HEIGHT = 360;
const DISTINCT_FRAMES = 8;
const QUALITY = 5;

/** Returns `DISTINCT_FRAMES` JPEG buffers, generating them with ffmpeg on first use. */
export function benchJpegs() {
  const dir = join(tmpdir(), `vidchat-bench-jpegs-${JPEG_WIDTH}x${JPEG_HEIGHT}-q${QUALITY}-n${DISTINCT_FRAMES}`);
  if (!existsSync(dir) || readdirSync(dir).filter((f) => f.endsWith('.jpg')).length !== DISTINCT_FRAMES) {
    const ffmpeg = requireBinary('ffmpeg');
    const tmp = `${dir}.tmp-${process.pid}`;
    rmSync(tmp, { recursive: true, force: true });
    mkdirSync(tmp, { recursive: true });
    // One frame every 7 of a 30 fps pattern, so the frames differ visibly.
    execFileSync(
      ffmpeg,
      [
        '-hide_banner',
        '-loglevel',
        'error',
        '-f',
        'lavfi',
        '-i',
        `testsrc2=size=${JPEG_WIDTH}x${JPEG_HEIGHT}:rate=30`,
        '-vf',
        'select=not(mod(n\\,7))',
        '-fps_mode',
        'passthrough',
        '-frames:v',
        String(DISTINCT_FRAMES),
        '-q:v',
        String(QUALITY),
        join(tmp, 'f%02d.jpg'),
      ],
      { timeout: 30_000 },
    );
    rmSync(dir, { recursive: true, force: true });
    renameSync(tmp, dir);
  }
  return readdirSync(dir)
    .filter((f) => f.endsWith('.jpg'))
    .sort()
    .map((f) => new Uint8Array(readFileSync(join(dir, f))));
}
