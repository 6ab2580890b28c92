import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { logLevelOption, natsOptions, opt, type Config, type Option } from '@vidchat/service-kit';
import { DEFAULT_RECORDINGS_BUCKET } from '@vidchat/protocol';

/*
 * Every flag and environment variable of the recorder, with its default.
 * This is the only file that reads configuration (through runCli).
 */

/** Largest canvas edge: keeps one raw frame (W×H×3 bytes) and x264's memory bounded. */
export const MAX_CANVAS_EDGE = 3_840;

export interface CanvasSize {
  width: number;
  height: number;
}

/** `WxH`, both even (yuv420p needs even sizes), from 160x90 up to MAX_CANVAS_EDGE. */
function sizeOption(flag: string, env: string, description: string, def: CanvasSize): Option<CanvasSize> {
  return {
    flag,
    env,
    description,
    placeholder: '<WxH>',
    default: def,
    defaultLabel: `${def.width}x${def.height}`,
    parse: (raw) => {
      const m = /^(\d{2,4})x(\d{2,4})$/.exec(raw.trim());
      const width = Number(m?.[1]);
      const height = Number(m?.[2]);
      if (
        !m ||
        width % 2 ||
        height % 2 ||
        width < 160 ||
        height < 90 ||
        width > MAX_CANVAS_EDGE ||
        height > MAX_CANVAS_EDGE
      ) {
        throw new Error(
          `expected even WIDTHxHEIGHT from 160x90 to ${MAX_CANVAS_EDGE}x${MAX_CANVAS_EDGE}, got ${JSON.stringify(raw)}`,
        );
      }
      return { width, height };
    },
  };
}

export const X264_PRESETS = ['ultrafast', 'superfast', 'veryfast', 'faster', 'fast', 'medium'] as const;
export type X264Preset = (typeof X264_PRESETS)[number];

export const recorderOptionSpec = {
  ...natsOptions,
  size: sizeOption('size', 'VIDCHAT_RECORDER_SIZE', 'canvas of the recording', { width: 1280, height: 720 }),
  fps: opt.int('fps', 'VIDCHAT_RECORDER_FPS', 'frames per second of the recording', 15, 1, 60),
  preset: opt.oneOf(
    'preset',
    'VIDCHAT_RECORDER_PRESET',
    'libx264 preset (faster presets hold real time on less CPU)',
    'veryfast',
    X264_PRESETS,
  ),
  crf: opt.int('crf', 'VIDCHAT_RECORDER_CRF', 'libx264 constant rate factor (lower: better and larger)', 26, 0, 51),
  audioBitrate: opt.int(
    'audio-bitrate',
    'VIDCHAT_RECORDER_AUDIO_BITRATE',
    'AAC bitrate of the mix, bit/s',
    96_000,
    16_000,
    320_000,
  ),
  latencyMs: opt.int(
    'latency-ms',
    'VIDCHAT_RECORDER_LATENCY_MS',
    'how far behind real time frames are composed, so late frames and audio still land in place, ms',
    500,
    50,
    10_000,
  ),
  maxRecordings: opt.int(
    'max-recordings',
    'VIDCHAT_RECORDER_MAX_RECORDINGS',
    'recordings this instance runs at once',
    4,
    1,
    256,
  ),
  maxDuration: opt.int(
    'max-duration',
    'VIDCHAT_RECORDER_MAX_DURATION',
    'longest recording, s; it stops itself then',
    4 * 3600,
    1,
    7 * 24 * 3600,
  ),
  maxTiles: opt.int(
    'max-tiles',
    'VIDCHAT_RECORDER_MAX_TILES',
    'cameras drawn at most (the first to join win)',
    16,
    1,
    64,
  ),
  bucket: opt.string(
    'bucket',
    'VIDCHAT_RECORDER_BUCKET',
    'JetStream object store bucket of finished recordings',
    DEFAULT_RECORDINGS_BUCKET,
    '<name>',
    (v) =>
      /^[A-Za-z0-9_-]{1,64}$/.test(v) ? null : `expected 1-64 characters A-Z a-z 0-9 _ -, got ${JSON.stringify(v)}`,
  ),
  maxTotalBytes: opt.int(
    'max-total-bytes',
    'VIDCHAT_RECORDER_MAX_TOTAL_BYTES',
    'bucket size limit (max_bytes); the oldest recordings are deleted to make room',
    10 * 1024 ** 3,
    1024 ** 2,
    Number.MAX_SAFE_INTEGER,
  ),
  replicas: opt.int(
    'replicas',
    'VIDCHAT_RECORDER_REPLICAS',
    'copies of the buckets (recordings, room locks) when the recorder creates them (3 on a 3-node NATS cluster)',
    1,
    1,
    5,
  ),
  lockTtlMs: opt.int(
    'lock-ttl-ms',
    'VIDCHAT_RECORDER_LOCK_TTL_MS',
    "a room's lock lapses when its recorder has not renewed it this long, ms (same on every recorder)",
    10_000,
    1_000,
    600_000,
  ),
  retention: opt.int(
    'retention',
    'VIDCHAT_RECORDER_RETENTION',
    'how long recordings are kept, s (0: until the size limit deletes the oldest)',
    30 * 24 * 3600,
    0,
    10 * 365 * 24 * 3600,
  ),
  workDir: {
    ...opt.string(
      'work-dir',
      'VIDCHAT_RECORDER_WORK_DIR',
      'folder for recordings in progress (one per recorder instance)',
      join(tmpdir(), 'vidchat-recorder'),
      '<dir>',
    ),
    defaultLabel: '$TMPDIR/vidchat-recorder',
  },
  ffmpeg: opt.string('ffmpeg', 'VIDCHAT_FFMPEG', 'ffmpeg binary', 'ffmpeg', '<path>'),
  statusIntervalMs: opt.int(
    'status-interval-ms',
    'VIDCHAT_RECORDER_STATUS_INTERVAL_MS',
    'period of the status log line per recording, ms (0: none)',
    10_000,
    0,
    3_600_000,
  ),
  logLevel: logLevelOption,
};

export type RecorderConfig = Config<typeof recorderOptionSpec>;

export const recorderProgram = {
  name: 'vidchat-recorder',
  summary:
    'records rooms on request: every camera in a grid plus the room mix, one MP4 per recording in a JetStream object store',
  spec: recorderOptionSpec,
};
