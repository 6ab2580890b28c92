import { join } from 'node:path';

/*
 * What a recording in progress keeps in `--work-dir`: `<id>.part.mp4`, the
 * fragmented MP4 ffmpeg writes, and `<id>.json`, a sidecar naming its room
 * and start. A recorder that died leaves both; the next one to start on the
 * same folder finalizes and stores them (see orphans.ts).
 */
export interface Sidecar {
  v: 1;
  id: string;
  room: string;
  startedAt: number;
  ffmpegPid: number | null;
}

export const partFile = (dir: string, id: string): string => join(dir, `${id}.part.mp4`);
export const finalFile = (dir: string, id: string): string => join(dir, `${id}.mp4`);
export const sidecarFile = (dir: string, id: string): string => join(dir, `${id}.json`);
