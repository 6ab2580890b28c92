import { logLevelOption, natsOptions, opt, type Config } from '@vidchat/service-kit';
import { DEFAULT_JITTER_OPTIONS } from './dsp/jitter-buffer.js';
import { DEFAULT_MIX_BITRATE } from './codec/opus-encoder.js';

/*
 * Every flag and environment variable of the mixer, with its default. This
 * is the only file that reads configuration (through runCli).
 */
export const mixerOptionSpec = {
  ...natsOptions,
  jitterMinMs: opt.int(
    'jitter-min-ms',
    'VIDCHAT_MIXER_JITTER_MIN_MS',
    'smallest jitter-buffer depth per source, ms',
    DEFAULT_JITTER_OPTIONS.minMs,
    20,
    1_000,
  ),
  jitterMaxMs: opt.int(
    'jitter-max-ms',
    'VIDCHAT_MIXER_JITTER_MAX_MS',
    'largest jitter-buffer depth per source, ms',
    DEFAULT_JITTER_OPTIONS.maxMs,
    20,
    2_000,
  ),
  jitterStartMs: opt.int(
    'jitter-start-ms',
    'VIDCHAT_MIXER_JITTER_START_MS',
    'jitter-buffer depth before jitter is measured, ms',
    DEFAULT_JITTER_OPTIONS.startMs,
    20,
    2_000,
  ),
  levelsHz: opt.int('levels-hz', 'VIDCHAT_MIXER_LEVELS_HZ', 'levels messages per second per room (1-50)', 10, 1, 50),
  maxRooms: opt.int('max-rooms', 'VIDCHAT_MIXER_MAX_ROOMS', 'rooms this instance mixes at most', 100, 1, 100_000),
  maxSourcesPerRoom: opt.int(
    'max-sources-per-room',
    'VIDCHAT_MIXER_MAX_SOURCES_PER_ROOM',
    'audio sources mixed per room at most',
    64,
    1,
    256,
  ),
  maxListenersPerRoom: opt.int(
    'max-listeners-per-room',
    'VIDCHAT_MIXER_MAX_LISTENERS_PER_ROOM',
    'mix-minus streams per room at most (one Opus encoder each, for sources whose presence says listens)',
    64,
    0,
    256,
  ),
  bitrate: opt.int(
    'bitrate',
    'VIDCHAT_MIXER_BITRATE',
    'Opus bitrate of the mix and of each mix-minus, bit/s',
    DEFAULT_MIX_BITRATE,
    6_000,
    510_000,
  ),
  statusIntervalMs: opt.int(
    'status-interval-ms',
    'VIDCHAT_MIXER_STATUS_INTERVAL_MS',
    'period of the status log line, ms (0: none)',
    10_000,
    0,
    3_600_000,
  ),
  leaseTtlMs: opt.int(
    'lease-ttl-ms',
    'VIDCHAT_MIXER_LEASE_TTL_MS',
    'a room lease lapses when not renewed for this long (renewed every quarter of it); with JetStream only',
    1_500,
    200,
    60_000,
  ),
  takeoverDelayMs: opt.int(
    'takeover-delay-ms',
    'VIDCHAT_MIXER_TAKEOVER_DELAY_MS',
    'extra wait per rank for mixers that rendezvous hashing does not rank first for a free room, ms',
    250,
    0,
    10_000,
  ),
  leaseReplicas: opt.int(
    'lease-replicas',
    'VIDCHAT_MIXER_LEASE_REPLICAS',
    'replicas of the lease bucket when this mixer creates it (3 on a 3-node cluster)',
    1,
    1,
    5,
  ),
  instanceId: opt.optionalId(
    'instance-id',
    'VIDCHAT_MIXER_INSTANCE_ID',
    'name of this mixer in the lease bucket (default: random)',
  ),
  logLevel: logLevelOption,
};

export type MixerConfig = Config<typeof mixerOptionSpec>;

export const mixerProgram = {
  name: 'vidchat-mixer',
  summary:
    'mixes every microphone of each room into one Opus stream, with levels, the active speaker and a mix-minus per listener',
  spec: mixerOptionSpec,
};
