import {
  createLogger,
  NatsConnectError,
  onShutdown,
  runCli,
  setLogLevel,
  shutdown,
  UsageError,
} from '@vidchat/service-kit';
import { assertStrongSecret, WeakSecretError } from './auth/secret.js';
import { processEnv, serveSpec, splitRooms, tokenSpec } from './config.js';

/*
 * `vidchat-gateway [options]` serves viewers;
 * `vidchat-gateway token --room <id> [--room …] --ttl 1h` mints a viewer token.
 */
const NAME = 'vidchat-gateway';
const argv = process.argv.slice(2);
const log = createLogger('gateway');

/** A viewer secret too short for HS256 is a usage error: one line, exit 2. */
function assertSecret(secret: string): void {
  try {
    assertStrongSecret(secret, '--viewer-secret (VIDCHAT_VIEWER_SECRET)');
  } catch (err) {
    if (err instanceof WeakSecretError) throw new UsageError(err.message);
    throw err;
  }
}

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
      usage: `${NAME} token --room <id> [--room <id> …] [--publish] [--record] [--name <name>] [--ttl 1h] --viewer-secret <secret>`,
      spec: tokenSpec,
    },
    async (config) => {
      setLogLevel(config.logLevel);
      if (split.rooms.length === 0) throw new UsageError('--room <id> is required (repeat it for several rooms)');
      if (!config.viewerSecret) throw new UsageError('--viewer-secret (or VIDCHAT_VIEWER_SECRET) is required');
      assertSecret(config.viewerSecret);
      // Loaded only now: jose is not needed for --help or a bad flag.
      const { mintViewerToken } = await import('./auth/viewer-token.js');
      const grants = { publish: config.publish, record: config.record, ...(config.name ? { name: config.name } : {}) };
      process.stdout.write(
        `${await mintViewerToken(config.viewerSecret, split.rooms, config.ttl, Date.now(), grants)}\n`,
      );
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
      if (config.viewerSecret) assertSecret(config.viewerSecret);
      // Loaded only once the flags are valid: NestJS (and jose, selfsigned)
      // take seconds to import on a loaded machine, which `--help` and a bad
      // flag never need.
      const [{ createGateway }, { TlsConfigError }] = await Promise.all([
        import('./gateway.js'),
        import('./http/tls.js'),
      ]);
      let gateway;
      try {
        gateway = await createGateway(config);
      } catch (err) {
        if (err instanceof TlsConfigError) throw new UsageError(err.message);
        throw err;
      }
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
      if (gateway.tls) {
        const c = gateway.tls.certificate;
        log.info(`secure viewer at ${gateway.tls.url}`, {
          listening: `${config.host}:${gateway.tls.port}`,
          certificate: c.selfSigned ? 'self-signed' : 'from --tls-cert',
          names: c.names.join(' '),
        });
        // People compare this with what their browser shows before accepting a self-signed certificate.
        log.info(`certificate SHA-256 fingerprint ${c.fingerprint256}`);
      }
    },
    argv,
    processEnv(),
  );
}
