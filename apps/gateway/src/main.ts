import {
  createLogger,
  NatsConnectError,
  onShutdown,
  runCli,
  setLogLevel,
  shutdown,
  UsageError,
} from '@vidchat/service-kit';
import { mintViewerToken } from './auth/viewer-token.js';
import { processEnv, serveSpec, splitRooms, tokenSpec } from './config.js';

/*
 * `vidchat-gateway [options]` serves viewers;
 * `vidchat-gateway token --room <id> [--room …] --ttl 1h` mints a viewer token.
 */
const NAME = 'vidchat-gateway';
const argv = process.argv.slice(2);
const log = createLogger('gateway');

if (argv[0] === 'token') {
  let split: ReturnType<typeof splitRooms>;
  try {
    split = splitRooms(argv.slice(1));
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    process.stderr.write(`${NAME} token: ${err.message}\n`);
    process.exit(2);
  }
  await runCli(
    {
      name: `${NAME} token`,
      summary: 'print a viewer token (HS256 JWT) that opens the given rooms',
      usage: `${NAME} token --room <id> [--room <id> …] [--ttl 1h] --viewer-secret <secret>`,
      spec: tokenSpec,
    },
    (config) => {
      setLogLevel(config.logLevel);
      if (split.rooms.length === 0) throw new UsageError('--room <id> is required (repeat it for several rooms)');
      if (!config.viewerSecret) throw new UsageError('--viewer-secret (or VIDCHAT_VIEWER_SECRET) is required');
      process.stdout.write(`${mintViewerToken(config.viewerSecret, split.rooms, config.ttl)}\n`);
    },
    split.rest,
    processEnv(),
  );
} else {
  await runCli(
    {
      name: NAME,
      summary: 'fans NATS media out to browser viewers over WebSocket, with snapshots, MJPEG and metrics',
      usage: `${NAME} [options]   |   ${NAME} token --room <id> --ttl 1h`,
      spec: serveSpec,
    },
    async (config) => {
      setLogLevel(config.logLevel);
      // Loaded only once the flags are valid: NestJS takes about a second to
      // import, which `--help`, a bad flag and the token subcommand never need.
      const { createGateway } = await import('./gateway.js');
      const gateway = await createGateway(config);
      onShutdown(() => gateway.close());
      // Refused credentials and an unreadable creds file are final (connectNats
      // does not retry them): the gateway would answer 503 forever. It exits 1,
      // like the agent and the mixer, so that a person or a supervisor sees it.
      gateway.natsReady.catch((err: unknown) => {
        if (err instanceof NatsConnectError && (err.code === 'ERR_NATS_AUTH' || err.code === 'ERR_NATS_CREDS_FILE')) {
          void shutdown(err.code, 1);
        }
      });
      log.info(`viewer at ${gateway.url}`, {
        listening: `${config.host}:${gateway.port}`,
        port: gateway.port,
        nats: config.nats,
        auth: config.viewerSecret ? 'token' : 'open',
      });
    },
    argv,
    processEnv(),
  );
}
