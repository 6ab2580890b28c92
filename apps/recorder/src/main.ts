import { basename, dirname, join } from 'node:path';
import { connectNats, createLogger, onShutdown, runCli, setLogLevel } from '@vidchat/service-kit';
import { recorderProgram, type RecorderConfig } from './config.js';
import { assertFfmpegRuns } from './ffmpeg/preflight.js';
import { RecorderService } from './recorder-service.js';
import { RecordingStore } from './storage/recording-store.js';

/** ffprobe next to the given ffmpeg (same install), or from PATH. */
function ffprobeBeside(ffmpeg: string): string {
  return ffmpeg.includes('/') ? join(dirname(ffmpeg), basename(ffmpeg).replace('ffmpeg', 'ffprobe')) : 'ffprobe';
}

/* vidchat-recorder: parse the configuration, connect to NATS, serve recording requests until a signal. */
async function main(cfg: RecorderConfig): Promise<void> {
  setLogLevel(cfg.logLevel);
  const log = createLogger('main');
  const ffprobe = ffprobeBeside(cfg.ffmpeg);
  await assertFfmpegRuns(cfg.ffmpeg);
  await assertFfmpegRuns(ffprobe);
  const abort = new AbortController();
  onShutdown(() => abort.abort());
  const { nc } = await connectNats({
    servers: cfg.nats,
    name: 'vidchat-recorder',
    user: cfg.natsUser,
    pass: cfg.natsPass,
    credsFile: cfg.natsCreds,
    signal: abort.signal,
  });
  const store = new RecordingStore(nc, {
    bucket: cfg.bucket,
    maxTotalBytes: cfg.maxTotalBytes,
    replicas: cfg.replicas,
    retentionMs: cfg.retention * 1_000,
    log: createLogger('store'),
  });
  const service = new RecorderService(nc, store, {
    settings: { ...cfg.size, fps: cfg.fps, preset: cfg.preset, crf: cfg.crf, audioBitrate: cfg.audioBitrate },
    latencyMs: cfg.latencyMs,
    maxTiles: cfg.maxTiles,
    maxRecordings: cfg.maxRecordings,
    maxDurationMs: cfg.maxDuration * 1_000,
    workDir: cfg.workDir,
    ffmpegPath: cfg.ffmpeg,
    ffprobePath: ffprobe,
    statusIntervalMs: cfg.statusIntervalMs,
    lockTtlMs: cfg.lockTtlMs,
    replicas: cfg.replicas,
  });
  onShutdown(async () => {
    await service.close();
    await nc.drain();
  });
  await service.start();
  log.info('ready', { nats: nc.getServer(), bucket: cfg.bucket, workDir: cfg.workDir });
}

await runCli(recorderProgram, main);
