import { hostname } from 'node:os';
import { ENVELOPE_LIMITS, isValidId, MAX_NAME_LENGTH } from '@vidchat/protocol';
import { logLevelOption, natsOptions, opt, type Config, type Option } from '@vidchat/service-kit';
import { DEFAULT_AUDIO_PACKET_LOSS } from './ffmpeg/track-args.js';
import { parseFfmpegInput, type AudioSource, type VideoSource } from './sources.js';
import { DEFAULT_STATUS_INTERVAL_MS } from './status-reporter.js';

/*
 * Every flag and environment variable of vidchat-agent, in one place. Flags
 * win over the environment, the environment over the defaults shown by
 * --help. Nothing else in the agent reads process.env.
 */

export const DEFAULT_ROOM = 'demo';
export const DEFAULT_SIZE = { width: 640, height: 360 };
export const DEFAULT_FPS = 15;
export const DEFAULT_QUALITY = 5;
export const DEFAULT_TONE_HZ = 440;
export const DEFAULT_LAYERS = 2;

/**
 * The default source id: this host's name made into a valid id (characters
 * outside A-Z a-z 0-9 _ - become `-`, at most 64), or `agent`.
 */
export function defaultSourceId(host: string = hostname()): string {
  const id = host
    .replace(/[^A-Za-z0-9_-]/g, '-')
    .replace(/^[^A-Za-z0-9]+/, '')
    .slice(0, 64);
  return isValidId(id) ? id : 'agent';
}

export interface Size {
  width: number;
  height: number;
}

export function parseSize(raw: string): Size {
  const m = /^(\d{1,5})x(\d{1,5})$/.exec(raw.trim());
  const width = Number(m?.[1]);
  const height = Number(m?.[2]);
  const max = ENVELOPE_LIMITS.maxVideoDimension;
  if (!m || width < 16 || height < 16 || width > max || height > max || width % 2 || height % 2) {
    throw new Error(
      `expected WIDTHxHEIGHT with even numbers from 16 to ${max}, like 640x360, got ${JSON.stringify(raw)}`,
    );
  }
  return { width, height };
}

export function parseVideoSource(raw: string): VideoSource {
  if (raw === 'none' || raw === 'test') return { kind: raw };
  if (/^\/dev\/\S+$/.test(raw)) return { kind: 'v4l2', device: raw };
  throw new Error(`expected a device path like /dev/video0, test or none, got ${JSON.stringify(raw)}`);
}

export function parseAudioSource(raw: string): AudioSource {
  if (raw === 'none' || raw === 'test') return { kind: raw };
  const m = /^(?:(alsa|pulse):)?([A-Za-z0-9_.,:=@/-]+)$/.exec(raw);
  if (!m) {
    throw new Error(
      `expected an ALSA device (default, hw:1,0), pulse:<source>, test or none, got ${JSON.stringify(raw)}`,
    );
  }
  return m[1] === 'pulse' ? { kind: 'pulse', device: m[2]! } : { kind: 'alsa', device: m[2]! };
}

/**
 * An option whose text is checked by `parse` when read, and kept as text so
 * that --help shows its default as typed; `resolveSettings` turns it into a value.
 */
function checked(
  flag: string,
  env: string,
  description: string,
  def: string,
  placeholder: string,
  parse: (raw: string) => unknown,
): Option<string> {
  return opt.string(flag, env, description, def, placeholder, (raw) => {
    try {
      parse(raw);
      return null;
    } catch (err) {
      return (err as Error).message;
    }
  });
}

function ffmpegInputOption(
  flag: string,
  env: string,
  what: string,
): Option<{ inputOptions: string[]; input: string } | undefined> {
  return {
    flag,
    env,
    description: `raw ffmpeg input arguments for the ${what}, ending with -i <input> (avfoundation, dshow); replaces --${what === 'camera' ? 'video' : 'audio'}`,
    placeholder: '"<args> -i <input>"',
    default: undefined,
    parse: (raw) => parseFfmpegInput(raw),
  };
}

export const agentOptions = {
  ...natsOptions,
  room: opt.id('room', 'VIDCHAT_ROOM', 'room to publish into', DEFAULT_ROOM),
  source: {
    ...opt.id('source', 'VIDCHAT_SOURCE', 'this source id', defaultSourceId()),
    defaultLabel: 'this host name, as an id',
  },
  name: opt.string('name', 'VIDCHAT_NAME', 'label shown to viewers (default: the source id)', '', '<label>', (v) =>
    v.length > MAX_NAME_LENGTH ? `expected at most ${MAX_NAME_LENGTH} characters, got ${v.length}` : null,
  ),
  video: checked(
    'video',
    'VIDCHAT_VIDEO',
    'camera: a V4L2 device (/dev/video0), test (synthetic pattern) or none',
    'test',
    '<device|test|none>',
    parseVideoSource,
  ),
  audio: checked(
    'audio',
    'VIDCHAT_AUDIO',
    'microphone: an ALSA device (default, hw:1,0, alsa:<dev>), pulse:<source>, test (sine) or none',
    'test',
    '<device|test|none>',
    parseAudioSource,
  ),
  size: checked(
    'size',
    'VIDCHAT_SIZE',
    'video size, even numbers',
    `${DEFAULT_SIZE.width}x${DEFAULT_SIZE.height}`,
    '<WxH>',
    parseSize,
  ),
  fps: opt.int('fps', 'VIDCHAT_FPS', 'video frames per second', DEFAULT_FPS, 1, 60),
  quality: opt.int(
    'quality',
    'VIDCHAT_QUALITY',
    'JPEG quality, ffmpeg -q:v: 2 best .. 31 smallest',
    DEFAULT_QUALITY,
    2,
    31,
  ),
  layers: opt.int(
    'layers',
    'VIDCHAT_LAYERS',
    'video layers: 2 also publishes a half-width layer 1 (at most 15 fps) from the same ffmpeg when --size is at least 480 px wide; 1 publishes layer 0 only',
    DEFAULT_LAYERS,
    1,
    2,
  ),
  tone: opt.number('tone', 'VIDCHAT_TONE', 'frequency of the --audio test tone, Hz', DEFAULT_TONE_HZ, 20, 20_000),
  audioPacketLoss: opt.int(
    'audio-packet-loss',
    'VIDCHAT_AUDIO_PACKET_LOSS',
    'packet loss the Opus encoder plans for, percent: sizes its in-band FEC (0 = no FEC)',
    DEFAULT_AUDIO_PACKET_LOSS,
    0,
    100,
  ),
  ffmpegInput: ffmpegInputOption('ffmpeg-input', 'VIDCHAT_FFMPEG_INPUT', 'camera'),
  ffmpegAudioInput: ffmpegInputOption('ffmpeg-audio-input', 'VIDCHAT_FFMPEG_AUDIO_INPUT', 'microphone'),
  ffmpeg: opt.string('ffmpeg', 'VIDCHAT_FFMPEG', 'ffmpeg binary', 'ffmpeg', '<path>'),
  maxFrameBytes: opt.int(
    'max-frame-bytes',
    'VIDCHAT_MAX_FRAME_BYTES',
    'largest JPEG published; larger frames are dropped and counted',
    ENVELOPE_LIMITS.maxVideoPayloadBytes,
    1024,
    ENVELOPE_LIMITS.maxVideoPayloadBytes,
  ),
  statusInterval: opt.int(
    'status-interval',
    'VIDCHAT_STATUS_INTERVAL_MS',
    'ms between status lines at info',
    DEFAULT_STATUS_INTERVAL_MS,
    100,
    3_600_000,
  ),
  listen: opt.switch(
    'listen',
    'VIDCHAT_LISTEN',
    "say in presence that a person here listens: the mixer then publishes this source's mix-minus (the room without its own audio)",
  ),
  listDevices: opt.switch('list-devices', 'VIDCHAT_LIST_DEVICES', 'list cameras and microphones, then exit'),
  logLevel: logLevelOption,
};

export type AgentConfig = Config<typeof agentOptions>;

/** The configuration as values, after the checks `parseCli` already made. */
export interface AgentSettings {
  video: VideoSource;
  audio: AudioSource;
  size: Size;
}

/** --ffmpeg-input wins over --video, --ffmpeg-audio-input over --audio. */
export function resolveSettings(c: AgentConfig): AgentSettings {
  return {
    video: c.ffmpegInput ? { kind: 'custom', ...c.ffmpegInput } : parseVideoSource(c.video),
    audio: c.ffmpegAudioInput ? { kind: 'custom', ...c.ffmpegAudioInput } : parseAudioSource(c.audio),
    size: parseSize(c.size),
  };
}
