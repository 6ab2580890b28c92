import { logLevelOption, natsOptions, opt, UsageError, type Config, type Option } from '@vidchat/service-kit';

import { DEFAULT_RECORDINGS_BUCKET, isValidId, MAX_CLIENT_MESSAGE_BYTES, MAX_NAME_LENGTH } from '@vidchat/protocol';

/*
 * The gateway's configuration: every flag, its environment variable and its
 * default, in one place, so that every setting is a documented option.
 * `process.env` is read only here and in `runCli`.
 */

/** `--tls`: `off` (HTTPS only with --tls-cert/--tls-key) or `self-signed` (a certificate made at start). */
export type TlsMode = 'off' | 'self-signed';
export const TLS_MODES: readonly TlsMode[] = ['off', 'self-signed'];

/** Named limits with their defaults; README.md documents each of them. */
export const DEFAULTS = {
  port: 8080,
  /** HTTPS (and wss) port, used when TLS is on (`--tls self-signed` or `--tls-cert/--tls-key`). */
  tlsPort: 8443,
  host: '0.0.0.0',
  /** Open viewer WebSockets; one more is refused with `too-many-viewers` / 1013. */
  maxViewers: 1_000,
  /** Largest text frame a viewer may send (ws `maxPayload`; close 1009 above it). */
  maxMessageBytes: MAX_CLIENT_MESSAGE_BYTES,
  /** Socket bytes buffered for a viewer above which its video becomes latest-frame-wins. */
  videoHighWaterBytes: 512 * 1024,
  /** Socket bytes buffered above which audio waits in the viewer's audio queue, however young the backlog. */
  audioHighWaterBytes: 2 * 1024 * 1024,
  /** Audio packets (mixed audio, levels) queued per viewer at most; the age limit usually drops them first. */
  audioQueuePackets: 64,
  /**
   * Oldest audio a viewer is sent, in ms: audio waits while the viewer's socket backlog is older than
   * this, and a waiting packet older than this is dropped (`audio-stale`). Video also waits for it.
   */
  audioMaxAgeMs: 300,
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
  /** Messages over the rate limit before the connection is closed (1008)... */
  rateLimitStrikes: 5,
  /**
   * ...within this window: one strike is forgiven per period, so a viewer is
   * closed for a flood, not for a few slips spread over a long session.
   */
  rateLimitStrikeDecayMs: 10_000,
  /** WebSocket ping interval; a viewer that misses one pong is terminated. */
  heartbeatMs: 30_000,
  /** How long a snapshot request waits for a first frame of a room nobody watches. */
  snapshotWaitMs: 2_000,
  /** MJPEG clients at once. */
  maxMjpegClients: 100,
  /** Chat messages per second per viewer, sustained (a token bucket: the allowance decays back). */
  chatPerSecond: 1,
  /** Burst of chat messages per viewer. */
  chatBurst: 5,
  /** Chat messages kept per room in the stream (its `max_msgs_per_subject`) and sent as history on join. */
  chatHistory: 100,
  /** How long chat messages are kept, in seconds (the stream's `max_age`). */
  chatMaxAgeSeconds: 86_400,
  /** The JetStream stream that keeps chat, created or updated at start. */
  chatStream: 'VIDCHAT_CHAT',
  /** Copies of the chat stream (its `num_replicas`): 3 on a 3-node cluster; an existing stream is only scaled up. */
  chatReplicas: 1,
  /** How often the gateway retries setting up the chat stream while JetStream is missing. */
  chatRetryMs: 5_000,
  /**
   * At most one viewer count per room per this period, ms: to NATS (this
   * gateway's count) and to the room's viewers here (the total), so that a
   * thousand joins are a handful of messages, not a thousand each.
   */
  viewerCountIntervalMs: 1_000,
  /**
   * How often this gateway re-publishes its count of each room it serves, ms;
   * a count not renewed within three periods is forgotten (a gateway gone).
   */
  viewerCountHeartbeatMs: 5_000,
  /** Rooms whose media are subscribed at once; a join of one more gets `too-many-rooms` / 1013, HTTP 503. */
  maxRooms: 1_000,
  /**
   * Media envelopes per second a participant may send, video and audio
   * together (15 fps of layer 0 + 15 of layer 1 + 50 Opus packets = 80 at the
   * browser app's defaults),
   * with a burst of one second's worth; more are dropped and counted.
   */
  participantFramesPerSecond: 120,
  /** Media bytes per second a participant may send (burst: one second's worth); more are dropped and counted. */
  participantBytesPerSecond: 4 * 1024 * 1024,
  /**
   * Largest media envelope from a participant; a larger one is dropped and
   * counted. The WebSocket reads frames up to twice this (and up to
   * `maxMessageBytes` for text): above that ws closes the socket with 1009.
   */
  participantMaxFrameBytes: 512 * 1024,
} as const;

export const serveSpec = {
  ...natsOptions,
  port: opt.port('port', 'VIDCHAT_PORT', 'HTTP and WebSocket port (0 picks a free one)', DEFAULTS.port),
  tlsPort: opt.port(
    'tls-port',
    'VIDCHAT_TLS_PORT',
    'HTTPS and secure WebSocket port when TLS is on (0 picks a free one)',
    DEFAULTS.tlsPort,
  ),
  tls: opt.string(
    'tls',
    'VIDCHAT_TLS',
    'self-signed: serve HTTPS too, with a certificate made at start (its SHA-256 fingerprint is logged)',
    'off',
    '<off|self-signed>',
    (v) =>
      (TLS_MODES as readonly string[]).includes(v) ? null : `expected off or self-signed, got ${JSON.stringify(v)}`,
  ) as Option<TlsMode>,
  tlsCert: opt.optionalString(
    'tls-cert',
    'VIDCHAT_TLS_CERT',
    'PEM certificate (chain) file: serve HTTPS too, with --tls-key',
    '<file>',
  ),
  tlsKey: opt.optionalString('tls-key', 'VIDCHAT_TLS_KEY', 'PEM private key file of --tls-cert', '<file>'),
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
    'buffered bytes per viewer above which audio waits, however young the backlog (a cap behind the age limit)',
    DEFAULTS.audioHighWaterBytes,
    1_024,
    1 << 30,
  ),
  audioQueuePackets: opt.int(
    'audio-queue-packets',
    'VIDCHAT_AUDIO_QUEUE_PACKETS',
    'audio packets queued per viewer at most (the age limit usually drops them first)',
    DEFAULTS.audioQueuePackets,
    1,
    100_000,
  ),
  audioMaxAgeMs: opt.int(
    'audio-max-age-ms',
    'VIDCHAT_AUDIO_MAX_AGE_MS',
    'oldest audio sent to a viewer: audio (and video) waits while its backlog is older, and waiting audio older than this is dropped',
    DEFAULTS.audioMaxAgeMs,
    20,
    60_000,
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
  rateLimitStrikeDecayMs: opt.int(
    'rate-limit-strike-decay-ms',
    'VIDCHAT_RATE_LIMIT_STRIKE_DECAY_MS',
    'one strike is forgiven per this period (strikes count floods, not old slips)',
    DEFAULTS.rateLimitStrikeDecayMs,
    1,
    86_400_000,
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
  maxRooms: opt.int(
    'max-rooms',
    'VIDCHAT_MAX_ROOMS',
    'rooms watched at once (media subscribed); one more: too-many-rooms / 1013, HTTP 503',
    DEFAULTS.maxRooms,
    1,
    1_000_000,
  ),
  participantFramesPerSecond: opt.number(
    'participant-frames-per-second',
    'VIDCHAT_PARTICIPANT_FRAMES_PER_SECOND',
    'media envelopes per second a participant may send (video + audio; more are dropped)',
    DEFAULTS.participantFramesPerSecond,
    1,
    100_000,
  ),
  participantBytesPerSecond: opt.int(
    'participant-bytes-per-second',
    'VIDCHAT_PARTICIPANT_BYTES_PER_SECOND',
    'media bytes per second a participant may send (more are dropped)',
    DEFAULTS.participantBytesPerSecond,
    1_024,
    1 << 30,
  ),
  participantMaxFrameBytes: opt.int(
    'participant-max-frame-bytes',
    'VIDCHAT_PARTICIPANT_MAX_FRAME_BYTES',
    'largest media envelope from a participant (larger ones are dropped)',
    DEFAULTS.participantMaxFrameBytes,
    1_024,
    // An envelope larger than NATS's default max_payload could not be published anyway.
    1 << 20,
  ),
  chatPerSecond: opt.number(
    'chat-per-second',
    'VIDCHAT_CHAT_PER_SECOND',
    'chat messages per second per viewer, sustained',
    DEFAULTS.chatPerSecond,
    0.01,
    1_000,
  ),
  chatBurst: opt.int(
    'chat-burst',
    'VIDCHAT_CHAT_BURST',
    'burst of chat messages per viewer',
    DEFAULTS.chatBurst,
    1,
    1_000,
  ),
  chatHistory: opt.int(
    'chat-history',
    'VIDCHAT_CHAT_HISTORY',
    'chat messages kept per room and sent on join',
    DEFAULTS.chatHistory,
    1,
    10_000,
  ),
  chatMaxAgeSeconds: {
    flag: 'chat-max-age',
    env: 'VIDCHAT_CHAT_MAX_AGE',
    description: 'how long chat messages are kept, e.g. 1h, 24h, 7d',
    placeholder: '<duration>',
    default: DEFAULTS.chatMaxAgeSeconds as number,
    parse: parseDurationSeconds,
  },
  chatStream: opt.string(
    'chat-stream',
    'VIDCHAT_CHAT_STREAM',
    'JetStream stream that keeps chat (created or updated at start)',
    DEFAULTS.chatStream,
    '<name>',
    (v) =>
      /^[A-Za-z0-9_-]{1,64}$/.test(v) ? null : `expected 1-64 characters A-Z a-z 0-9 _ -, got ${JSON.stringify(v)}`,
  ),
  chatReplicas: opt.int(
    'chat-replicas',
    'VIDCHAT_CHAT_REPLICAS',
    'copies of the chat stream (3 on a 3-node NATS cluster); an existing stream is scaled up, never down',
    DEFAULTS.chatReplicas,
    1,
    5,
  ),
  chatRetryMs: opt.int(
    'chat-retry-ms',
    'VIDCHAT_CHAT_RETRY_MS',
    'retry interval of the chat stream setup while JetStream is missing',
    DEFAULTS.chatRetryMs,
    100,
    600_000,
  ),
  viewerCountIntervalMs: opt.int(
    'viewer-count-interval-ms',
    'VIDCHAT_VIEWER_COUNT_INTERVAL_MS',
    "at most one viewer count per room per this period, to NATS and to the room's viewers",
    DEFAULTS.viewerCountIntervalMs,
    10,
    60_000,
  ),
  viewerCountHeartbeatMs: opt.int(
    'viewer-count-heartbeat-ms',
    'VIDCHAT_VIEWER_COUNT_HEARTBEAT_MS',
    'how often the gateway re-publishes its viewer count per room (forgotten after three missed)',
    DEFAULTS.viewerCountHeartbeatMs,
    100,
    // Three periods must fit the longest ttl a report may carry (MAX_VIEWER_COUNT_TTL_MS).
    200_000,
  ),
  recordingsBucket: opt.string(
    'recordings-bucket',
    'VIDCHAT_RECORDINGS_BUCKET',
    "JetStream object store bucket the recorders store finished recordings in (the recorder's --bucket)",
    DEFAULT_RECORDINGS_BUCKET,
    '<name>',
    (v) =>
      /^[A-Za-z0-9_-]{1,64}$/.test(v) ? null : `expected 1-64 characters A-Z a-z 0-9 _ -, got ${JSON.stringify(v)}`,
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
  publish: opt.switch('publish', 'VIDCHAT_TOKEN_PUBLISH', 'grant publish: join with camera and microphone'),
  record: opt.switch('record', 'VIDCHAT_TOKEN_RECORD', 'grant record: start and stop recordings'),
  name: opt.string(
    'name',
    'VIDCHAT_TOKEN_NAME',
    'grant name: a display name the holder cannot change (none by default)',
    '',
    '<label>',
    (v) =>
      v.trim() !== '' && v.length <= MAX_NAME_LENGTH
        ? null
        : `expected 1-${MAX_NAME_LENGTH} characters, got ${JSON.stringify(v.slice(0, 80))}`,
  ),
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
