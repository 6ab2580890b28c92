import { rm, stat } from 'node:fs/promises';
import type { RecordingInfo, RecordingState } from '@vidchat/protocol';
import type { Logger } from '@vidchat/service-kit';
import { concatSegments, probeDurationMs, remuxFaststart } from '../ffmpeg/finalize.js';
import type { RecordingStore } from '../storage/recording-store.js';
import { finalFile, segmentFiles, sidecarFile } from './work-files.js';

/*
 * The end of every recording, finished or orphaned: the fragmented file is
 * remuxed into a faststart MP4 (when ffmpeg was restarted mid-recording,
 * each segment is remuxed and the segments are joined into one MP4 by the
 * concat demuxer, stream copy), its duration read back from the container,
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
  const segments: { file: string; size: number }[] = [];
  for (const file of await segmentFiles(f.workDir, f.id)) {
    const size = await stat(file).then(
      (s) => s.size,
      () => 0,
    );
    segments.push({ file, size });
  }
  const final = finalFile(f.workDir, f.id);
  const removeAll = async (): Promise<void> => {
    for (const s of segments) await rm(s.file, { force: true });
    await rm(sidecarFile(f.workDir, f.id), { force: true });
  };
  let info: RecordingInfo = {
    id: f.id,
    room: f.room,
    state: f.state,
    startedAt: f.startedAt,
    durationMs: 0,
    bytes: 0,
    object: null,
  };
  const written = segments.filter((s) => s.size > 0);
  const partSize = written.reduce((n, s) => n + s.size, 0);
  if (partSize === 0) {
    // ffmpeg never wrote anything: nothing to keep.
    await removeAll();
    return { info: { ...info, state: 'failed' }, error: null };
  }
  const temps: string[] = [];
  try {
    if (written.length === 1) {
      await remuxFaststart(f.ffmpegPath, written[0]!.file, final);
    } else {
      // A segment an ffmpeg died in before its first fragment cannot be read: it is left out.
      const readable: string[] = [];
      for (const [i, s] of written.entries()) {
        const out = `${final}.seg${i}.mp4`;
        temps.push(out);
        try {
          await remuxFaststart(f.ffmpegPath, s.file, out);
          readable.push(out);
        } catch (err) {
          f.log.warn('a segment of the recording cannot be read: left out', {
            id: f.id,
            segment: s.file,
            error: (err as Error).message,
          });
        }
      }
      if (readable.length === 0) throw new Error('no segment of the recording can be read');
      const list = `${final}.concat.txt`;
      temps.push(list);
      await concatSegments(f.ffmpegPath, readable, list, final);
      f.log.info('segments joined', { id: f.id, segments: readable.length, of: written.length });
    }
    info = { ...info, durationMs: await probeDurationMs(f.ffprobePath, final), bytes: (await stat(final)).size };
    info = await f.store.put(info, final);
  } catch (err) {
    f.log.error('recording kept on disk: could not finalize or store it', {
      id: f.id,
      room: f.room,
      segments: written.map((s) => s.file).join(','),
      error: (err as Error).message,
    });
    await rm(final, { force: true });
    for (const t of temps) await rm(t, { force: true });
    return { info: { ...info, state: 'failed', bytes: partSize }, error: err as Error };
  }
  await rm(final, { force: true });
  for (const t of temps) await rm(t, { force: true });
  await removeAll();
  return { info, error: null };
}
