import { logLevelOption, natsOptions, opt, UsageError, type Config } from '@vidchat/service-kit';
import { isValidId, MAX_CLIENT_MESSAGE_BYTES } from '@vidchat/protocol';

/*
 * The gateway's configuration: every flag, its environment variable and its
 * default, in one place, so that every setting is a documented option.
 * `process.env` is read only here and in `runCli`.
 */

/** Named limits with their defaults; README.md documents each of them. */
export const DEFAULTS = {
  port: 8080,
  host: '0.0.0.0',
  /** Open viewer WebSockets; one more is refused with `too-many-viewers` / 1013. */
  maxViewers: 1_000,
  /** Largest text frame a viewer may send (ws `maxPayload`; close 1009 above it). */
  maxMessageBytes: MAX_CLIENT_MESSAGE_BYTES,
  /** Socket bytes buffered for a viewer above which its video becomes latest-frame-wins. */
  videoHighWaterBytes: 512 * 1024,
  /** Socket bytes buffered above which audio waits in the viewer's audio queue. */
  audioHighWaterBytes: 2 * 1024 * 1024,
  /** Audio packets (mixed audio, levels) queued per viewer before the oldest is dropped. */
  audioQueuePackets: 250,
  /** How often a viewer that is behind is checked for a drained socket. */
  drainPollMs: 10,
  /** Live sources kept per room; more are counted and ignored. */
  maxSourcesPerRoom: 64,
  /** Control messages (join, leave, ping) per second per connection, sustained. */
  messagesPerSecond: 5,
  /** Burst of control messages per connection. */
  messageBurst: 10,
  /**
   * `layer` messages per second per connection, sustained: they have their
   * own budget, since a grid re-laid out sends one per tile at once.
   */
  layerMessagesPerSecond: 20,
  /** Burst of `layer` messages per connection: two choices for each of 64 sources. */
  layerMessageBurst: 128,
  /** Messages over the rate limit before the connection is closed (1008). */
  rateLimitStrikes: 5,
  /** WebSocket ping interval; a viewer that misses one pong is terminated. */
  heartbeatMs: 30_000,
  /** How long a snapshot request waits for a first frame of a room nobody watches. */
  snapshotWaitMs: 2_000,
  /** MJPEG clients at once. */
  maxMjpegClients: 100,
} as const;

export const serveSpec = {
  ...natsOptions,
  port: opt.port('port', 'VIDCHAT_PORT', 'HTTP and WebSocket port (0 picks a free one)', DEFAULTS.port),
  host: opt.string('host', 'VIDCHAT_HOST', 'bind address', DEFAULTS.host, '<address>', (v) =>
    // A host name or an IPv4/IPv6 address; anything else is a typo, told before binding.
    /^([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$|^[0-9A-Fa-f:.]+$/.test(
      v,
    )
      ? null
      : `expected a host name or an IP address like 0.0.0.0, 127.0.0.1 or ::, got ${JSON.stringify(v)}`,
  ),
  viewerSecret: opt.secret(
    'viewer-secret',
    'VIDCHAT_VIEWER_SECRET',
    'HS256 secret for viewer tokens; when set, joins, snapshots and streams need a token',
    '<secret>',
  ),
  logLevel: logLevelOption,
  maxViewers: opt.int(
    'max-viewers',
    'VIDCHAT_MAX_VIEWERS',
    'open viewer WebSockets at most',
    DEFAULTS.maxViewers,
    1,
    1_000_000,
  ),
  maxMessageBytes: opt.int(
    'max-message-bytes',
    'VIDCHAT_MAX_MESSAGE_BYTES',
    'largest text message from a viewer (close 1009 above)',
    DEFAULTS.maxMessageBytes,
    64,
    MAX_CLIENT_MESSAGE_BYTES,
  ),
  videoHighWaterBytes: opt.int(
    'video-high-water-bytes',
    'VIDCHAT_VIDEO_HIGH_WATER_BYTES',
    'buffered bytes per viewer above which video is latest-frame-wins',
    DEFAULTS.videoHighWaterBytes,
    1_024,
    1 << 30,
  ),
  audioHighWaterBytes: opt.int(
    'audio-high-water-bytes',
    'VIDCHAT_AUDIO_HIGH_WATER_BYTES',
    'buffered bytes per viewer above which audio is queued',
    DEFAULTS.audioHighWaterBytes,
    1_024,
    1 << 30,
  ),
  audioQueuePackets: opt.int(
    'audio-queue-packets',
    'VIDCHAT_AUDIO_QUEUE_PACKETS',
    'audio packets queued per viewer before the oldest is dropped',
    DEFAULTS.audioQueuePackets,
    1,
    100_000,
  ),
  drainPollMs: opt.int(
    'drain-poll-ms',
    'VIDCHAT_DRAIN_POLL_MS',
    'check interval of a viewer that is behind',
    DEFAULTS.drainPollMs,
    1,
    1_000,
  ),
  maxSourcesPerRoom: opt.int(
    'max-sources-per-room',
    'VIDCHAT_MAX_SOURCES_PER_ROOM',
    'live sources kept per room',
    DEFAULTS.maxSourcesPerRoom,
    1,
    10_000,
  ),
  messagesPerSecond: opt.number(
    'messages-per-second',
    'VIDCHAT_MESSAGES_PER_SECOND',
    'control messages (join, leave, ping) per second per viewer',
    DEFAULTS.messagesPerSecond,
    0.1,
    10_000,
  ),
  messageBurst: opt.int(
    'message-burst',
    'VIDCHAT_MESSAGE_BURST',
    'burst of control messages per viewer',
    DEFAULTS.messageBurst,
    1,
    10_000,
  ),
  layerMessagesPerSecond: opt.number(
    'layer-messages-per-second',
    'VIDCHAT_LAYER_MESSAGES_PER_SECOND',
    'layer messages per second per viewer (their own budget: a grid sends one per tile at once)',
    DEFAULTS.layerMessagesPerSecond,
    0.1,
    10_000,
  ),
  layerMessageBurst: opt.int(
    'layer-message-burst',
    'VIDCHAT_LAYER_MESSAGE_BURST',
    'burst of layer messages per viewer',
    DEFAULTS.layerMessageBurst,
    1,
    100_000,
  ),
  rateLimitStrikes: opt.int(
    'rate-limit-strikes',
    'VIDCHAT_RATE_LIMIT_STRIKES',
    'messages over the rate before the viewer is closed (1008)',
    DEFAULTS.rateLimitStrikes,
    1,
    10_000,
  ),
  heartbeatMs: opt.int(
    'heartbeat-ms',
    'VIDCHAT_HEARTBEAT_MS',
    'WebSocket ping interval; no pong by the next ping terminates the viewer',
    DEFAULTS.heartbeatMs,
    100,
    3_600_000,
  ),
  snapshotWaitMs: opt.int(
    'snapshot-wait-ms',
    'VIDCHAT_SNAPSHOT_WAIT_MS',
    'how long a snapshot waits for a first frame',
    DEFAULTS.snapshotWaitMs,
    0,
    60_000,
  ),
  maxMjpegClients: opt.int(
    'max-mjpeg-clients',
    'VIDCHAT_MAX_MJPEG_CLIENTS',
    'MJPEG streams at once',
    DEFAULTS.maxMjpegClients,
    1,
    100_000,
  ),
};

export type GatewayConfig = Config<typeof serveSpec>;

/**
 * The Nest injection token of the validated `GatewayConfig` (a plain object,
 * so it needs a token rather than a class): `@Inject(GATEWAY_CONFIG)`.
 */
export const GATEWAY_CONFIG = Symbol('GatewayConfig');

/** The whole configuration with defaults, for `createGateway` callers (tests). */
export function defaultConfig(overrides: Partial<GatewayConfig> = {}): GatewayConfig {
  const base = Object.fromEntries(Object.entries(serveSpec).map(([k, o]) => [k, o.default])) as GatewayConfig;
  return { ...base, ...overrides };
}

/** `vidchat-gateway token`: mints a viewer token. */
export const tokenSpec = {
  viewerSecret: serveSpec.viewerSecret,
  ttl: {
    flag: 'ttl',
    env: 'VIDCHAT_TOKEN_TTL',
    description: 'lifetime of the token, e.g. 30m, 1h, 7d',
    placeholder: '<duration>',
    default: 3_600,
    parse: parseDurationSeconds,
  },
  logLevel: logLevelOption,
};

export type TokenConfig = Config<typeof tokenSpec>;

/** `90`, `90s`, `30m`, `1h`, `7d` → seconds. */
export function parseDurationSeconds(raw: string): number {
  const m = /^(\d+)(s|m|h|d)?$/.exec(raw.trim());
  const unit = { s: 1, m: 60, h: 3_600, d: 86_400 } as const;
  if (!m) throw new Error(`expected a duration like 90s, 30m, 1h or 7d, got ${JSON.stringify(raw)}`);
  const n = Number(m[1]) * unit[(m[2] ?? 's') as keyof typeof unit];
  if (!Number.isSafeInteger(n) || n < 1 || n > 366 * 86_400) {
    throw new Error(`expected a duration from 1s to 366d, got ${JSON.stringify(raw)}`);
  }
  return n;
}

/**
 * `--room` may repeat; the shared parser keeps the last value of a flag, so
 * the token subcommand collects the rooms from argv itself and hands the
 * rest to `runCli`.
 */
export function splitRooms(argv: readonly string[]): { rooms: string[]; rest: string[] } {
  const rooms: string[] = [];
  const rest: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    let value: string | undefined;
    if (a === '--room') value = argv[++i];
    else if (a.startsWith('--room=')) value = a.slice('--room='.length);
    else {
      rest.push(a);
      continue;
    }
    if (value === undefined || !isValidId(value)) {
      throw new UsageError(
        `--room: expected 1-64 characters A-Z a-z 0-9 _ - starting with a letter or digit, got ${JSON.stringify(value ?? '')}`,
      );
    }
    rooms.push(value);
  }
  return { rooms, rest };
}

/** The environment, for main.ts (reading it anywhere else is a lint error). */
export const processEnv = (): Readonly<Record<string, string | undefined>> => process.env;
