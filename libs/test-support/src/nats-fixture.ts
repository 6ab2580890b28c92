import { NatsServer } from './nats-server.js';
import { MissingBinaryError, requireBinary } from './binaries.js';

/**
 * The broker an integration suite talks to, chosen in this order:
 *  1. `VIDCHAT_TEST_NATS_URL` when set (a broker someone runs for us);
 *  2. a local `nats-server` started on a random loopback port;
 *  3. testcontainers' NATS module, where a Docker engine answers;
 *  4. otherwise a clear failure naming what to install.
 * `stop()` stops only what this fixture started.
 */
export interface NatsFixture {
  url: string;
  via: 'env' | 'nats-server' | 'testcontainers';
  /** The local server, when the fixture started one (needed by fault tests). */
  server: NatsServer | null;
  stop(): Promise<void>;
}

export interface NatsFixtureOptions {
  /** Start the broker with JetStream (object store, key-value); a broker from the environment must have it on. */
  jetstream?: boolean;
}

export async function startNatsFixture(opts: NatsFixtureOptions = {}): Promise<NatsFixture> {
  const fromEnv = process.env['VIDCHAT_TEST_NATS_URL'];
  if (fromEnv) return { url: fromEnv, via: 'env', server: null, stop: async () => undefined };

  let localServer = true;
  try {
    requireBinary('nats-server');
  } catch {
    localServer = false;
  }
  if (localServer) {
    const server = await NatsServer.start({ jetstream: opts.jetstream ?? false });
    return { url: server.url, via: 'nats-server', server, stop: () => server.stop() };
  }

  let containerError: unknown;
  try {
    const { NatsContainer } = await import('@testcontainers/nats');
    const image = new NatsContainer('nats:2.10-alpine');
    const container = await (opts.jetstream ? image.withJetStream() : image).start();
    const url = `nats://${container.getHost()}:${container.getMappedPort(4222)}`;
    return {
      url,
      via: 'testcontainers',
      server: null,
      stop: async () => {
        await container.stop();
      },
    };
  } catch (err) {
    containerError = err;
  }
  throw new Error(
    'No NATS broker for the tests: set VIDCHAT_TEST_NATS_URL, or install nats-server ' +
      '(`apt-get install nats-server`, or `npm run setup` as root), or run a Docker engine for testcontainers.',
    { cause: containerError ?? new MissingBinaryError('nats-server') },
  );
}
