import { rm, stat } from 'node:fs/promises';
import type { RecordingInfo, RecordingState } from '@vidchat/protocol';
import type { Logger } from '@vidchat/service-kit';
import { probeDurationMs, remuxFaststart } from '../ffmpeg/finalize.js';
import type { RecordingStore } from '../storage/recording-store.js';
import { finalFile, partFile, sidecarFile } from './work-files.js';

/*
 * The end of every recording, finished or orphaned: the fragmented file is
 * remuxed into a faststart MP4, its duration read back from the container,
 * the MP4 uploaded to the bucket, and the work files removed. When the file
 * cannot be remuxed or stored it stays in --work-dir and the error is
 * returned with the info.
 */
export interface FinalizeInput {
  id: string;
  room: string;
  startedAt: number;
  state: Exclude<RecordingState, 'recording'>;
  workDir: string;
  ffmpegPath: string;
  ffprobePath: string;
  store: RecordingStore;
  log: Logger;
}

export async function finalizeRecording(f: FinalizeInput): Promise<{ info: RecordingInfo; error: Error | null }> {
  const part = partFile(f.workDir, f.id);
  const final = finalFile(f.workDir, f.id);
  let info: RecordingInfo = {
    id: f.id,
    room: f.room,
    state: f.state,
    startedAt: f.startedAt,
    durationMs: 0,
    bytes: 0,
    object: null,
  };
  const partSize = await stat(part).then(
    (s) => s.size,
    () => 0,
  );
  if (partSize === 0) {
    // ffmpeg never wrote anything: nothing to keep.
    await rm(part, { force: true });
    await rm(sidecarFile(f.workDir, f.id), { force: true });
    return { info: { ...info, state: 'failed' }, error: null };
  }
  try {
    await remuxFaststart(f.ffmpegPath, part, final);
    info = { ...info, durationMs: await probeDurationMs(f.ffprobePath, final), bytes: (await stat(final)).size };
    info = await f.store.put(info, final);
  } catch (err) {
    f.log.error('recording kept on disk: could not finalize or store it', {
      id: f.id,
      room: f.room,
      part,
      error: (err as Error).message,
    });
    await rm(final, { force: true });
    return { info: { ...info, state: 'failed', bytes: partSize }, error: err as Error };
  }
  await rm(final, { force: true });
  await rm(part, { force: true });
  await rm(sidecarFile(f.workDir, f.id), { force: true });
  return { info, error: null };
}
