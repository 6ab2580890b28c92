import { readdir } from 'node:fs/promises';
import { join } from 'node:path';

/*
 * What a recording in progress keeps in `--work-dir`: `<id>.part.mp4`, the
 * fragmented MP4 ffmpeg writes (then `<id>.part1.mp4`, `<id>.part2.mp4`, …
 * when ffmpeg had to be restarted: one segment per ffmpeg), and `<id>.json`,
 * a sidecar naming its room and start. A recorder that died leaves them;
 * the next one to start on the same folder finalizes and stores them (see
 * orphans.ts).
 */
export interface Sidecar {
  v: 1;
  id: string;
  room: string;
  startedAt: number;
  /** The current ffmpeg (the one an orphan's recovery waits for). */
  ffmpegPid: number | null;
  /** Segment files so far (absent in older sidecars: one). */
  segments?: number;
}

/** Segment `segment` of a recording: 0 is `<id>.part.mp4`, N > 0 `<id>.part<N>.mp4`. */
export const partFile = (dir: string, id: string, segment = 0): string =>
  join(dir, segment === 0 ? `${id}.part.mp4` : `${id}.part${segment}.mp4`);

/** The segment files of a recording present in `dir`, in order. */
export async function segmentFiles(dir: string, id: string): Promise<string[]> {
  const names = await readdir(dir).catch(() => [] as string[]);
  const prefix = `${id}.part`;
  const found: { n: number; file: string }[] = [];
  for (const name of names) {
    if (!name.startsWith(prefix) || !name.endsWith('.mp4')) continue;
    const digits = name.slice(prefix.length, -'.mp4'.length);
    if (digits !== '' && !/^[1-9][0-9]{0,5}$/.test(digits)) continue;
    found.push({ n: digits === '' ? 0 : Number(digits), file: join(dir, name) });
  }
  return found.sort((a, b) => a.n - b.n).map((f) => f.file);
}
export const finalFile = (dir: string, id: string): string => join(dir, `${id}.mp4`);
export const sidecarFile = (dir: string, id: string): string => join(dir, `${id}.json`);
