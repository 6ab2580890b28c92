import { readdir, readFile } from 'node:fs/promises';
import type { Logger } from '@vidchat/service-kit';
import { isValidId, type RecordingInfo } from '@vidchat/protocol';
import type { RecordingStore } from '../storage/recording-store.js';
import { finalizeRecording } from './finalize.js';
import { sidecarFile, type Sidecar } from './work-files.js';

/*
 * Recordings a previous recorder left in --work-dir when it was killed. Its
 * ffmpeg saw its inputs close and finished the fragmented file (or died
 * too, leaving every complete fragment). Each one is finalized and stored
 * as `failed` (it ended early, but the file plays up to that point).
 */

/** How long to wait for an orphaned ffmpeg to close its file before taking it as it is. */
export const ORPHAN_FFMPEG_WAIT_MS = 15_000;

function alive(pid: number | null): boolean {
  if (pid === null) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function readSidecar(dir: string, id: string): Promise<Sidecar | null> {
  try {
    const o = JSON.parse(await readFile(sidecarFile(dir, id), 'utf8')) as Partial<Sidecar>;
    if (o.v !== 1 || o.id !== id || !isValidId(o.room) || typeof o.startedAt !== 'number') return null;
    return {
      v: 1,
      id,
      room: o.room,
      startedAt: o.startedAt,
      ffmpegPid: typeof o.ffmpegPid === 'number' ? o.ffmpegPid : null,
    };
  } catch {
    return null;
  }
}

export async function recoverOrphans(o: {
  workDir: string;
  ffmpegPath: string;
  ffprobePath: string;
  store: RecordingStore;
  log: Logger;
  /** Recordings this process runs now: never touched. */
  active: ReadonlySet<string>;
}): Promise<RecordingInfo[]> {
  const names = await readdir(o.workDir).catch(() => [] as string[]);
  const ids = names
    .filter((n) => n.endsWith('.json'))
    .map((n) => n.slice(0, -'.json'.length))
    .filter((id) => isValidId(id) && !o.active.has(id));
  const out: RecordingInfo[] = [];
  for (const id of ids) {
    const sidecar = await readSidecar(o.workDir, id);
    if (!sidecar) {
      o.log.warn('unreadable sidecar in the work folder left alone', { id });
      continue;
    }
    const deadline = Date.now() + ORPHAN_FFMPEG_WAIT_MS;
    while (alive(sidecar.ffmpegPid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
    o.log.info('recovering a recording left by a recorder that died', { id, room: sidecar.room });
    const { info } = await finalizeRecording({
      id,
      room: sidecar.room,
      startedAt: sidecar.startedAt,
      state: 'failed',
      workDir: o.workDir,
      ffmpegPath: o.ffmpegPath,
      ffprobePath: o.ffprobePath,
      store: o.store,
      log: o.log,
    });
    out.push(info);
  }
  return out;
}
