import { randomBytes } from 'node:crypto';
import { createServer } from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from '@nats-io/transport-node';
import { NatsServer } from './nats-server.js';
import { waitFor } from './wait.js';

/*
 * A real nats-server cluster on loopback with JetStream, for the scale-out
 * tests: every node has a client port chosen by the server, a fixed cluster
 * port (routes must name their peers before any of them runs, so the ports
 * are reserved by binding port 0 first), a `server_name` and its own
 * JetStream store. A node can be killed and restarted on the same ports with
 * its store, as a machine that reboots would. Routes log in, as in
 * docker/nats-scale.conf: the cluster has a route user with a random
 * password and every route URL carries it (`routeAuth: false` for open routes).
 */

export interface NatsClusterOptions {
  /** Number of nodes (JetStream's meta group needs a majority: 3 tolerates one loss). */
  size?: number;
  /** Cluster name, also the prefix of every `server_name`. */
  name?: string;
  /** How long the cluster may take to form and elect a JetStream meta leader, ms. */
  readyTimeoutMs?: number;
  /** Route authorization (a random password), default true. */
  routeAuth?: boolean;
}

/** Asks the kernel for a free TCP port on loopback, then frees it for the caller. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

export class NatsCluster {
  private constructor(
    readonly nodes: NatsServer[],
    readonly names: string[],
    private readonly storeRoot: string,
  ) {}

  /** The cluster's route user, null when routes are open. */
  routeUser: string | null = null;
  private routeCred = '';

  /** The route URL of node `i`, with the route credentials: a server given it joins the cluster. */
  routeUrl(i: number): string {
    return `nats://${this.routeCred}127.0.0.1:${this.node(i).clusterPort}`;
  }

  static async start(opts: NatsClusterOptions = {}): Promise<NatsCluster> {
    const size = opts.size ?? 3;
    const name = opts.name ?? 'vidchat-test';
    const storeRoot = mkdtempSync(join(tmpdir(), 'vidchat-nats-cluster-'));
    const clusterPorts: number[] = [];
    for (let i = 0; i < size; i++) clusterPorts.push(await freePort());
    const names = clusterPorts.map((_, i) => `${name}-${i + 1}`);
    const authorization =
      (opts.routeAuth ?? true) ? { user: 'route', password: randomBytes(12).toString('hex') } : undefined;
    const cred = authorization ? `${authorization.user}:${authorization.password}@` : '';
    const nodes = await Promise.all(
      clusterPorts.map((port, i) =>
        NatsServer.start({
          cluster: {
            name,
            port,
            routes: clusterPorts.filter((p) => p !== port).map((p) => `nats://${cred}127.0.0.1:${p}`),
            ...(authorization ? { authorization } : {}),
          },
          // The store lives outside the node's own folder so that a restart
          // after kill() finds the node's streams again.
          extraConfig: [
            `server_name: ${names[i]}`,
            `jetstream { store_dir: ${JSON.stringify(join(storeRoot, names[i]!))} }`,
          ].join('\n'),
          timeoutMs: opts.readyTimeoutMs ?? 20_000,
        }),
      ),
    );
    const cluster = new NatsCluster(nodes, names, storeRoot);
    cluster.routeUser = authorization?.user ?? null;
    cluster.routeCred = cred;
    await cluster.waitReady(opts.readyTimeoutMs ?? 30_000);
    return cluster;
  }

  /** Every node's client URL. */
  get urls(): string[] {
    return this.nodes.map((n) => n.url);
  }

  /** All client URLs comma-separated, as `--nats` takes them. */
  get natsArg(): string {
    return this.urls.join(',');
  }

  /** The node index whose client port a URL names, or -1. */
  indexOfUrl(url: string): number {
    const port = Number(new URL(url.includes('://') ? url : `nats://${url}`).port);
    return this.nodes.findIndex((n) => n.port === port);
  }

  /**
   * Waits until every running node routes to the others and JetStream
   * answers with a meta leader: `$JS.API.INFO` fails with "no responders" or
   * a 503 until the meta group has elected one.
   */
  async waitReady(timeoutMs = 30_000): Promise<void> {
    const running = this.nodes.filter((n) => n.running);
    await waitFor(
      async () => {
        for (const node of running) {
          const nc = await connect({ servers: node.url, reconnect: false, timeout: 2_000 }).catch(() => null);
          if (!nc) return null;
          try {
            const reply = await nc.request('$JS.API.INFO', undefined, { timeout: 1_000 });
            const info = reply.json<{ error?: unknown; streams?: number }>();
            if (info.error !== undefined) return null;
          } catch {
            return null;
          } finally {
            await nc.close();
          }
        }
        return true;
      },
      { timeoutMs, intervalMs: 200, what: 'NATS cluster with a JetStream meta leader' },
    );
  }

  /** Kills node `i` hard (SIGKILL). */
  async kill(i: number): Promise<void> {
    await this.node(i).kill();
  }

  /** Restarts node `i` on the same ports and store, and waits for the cluster to be whole again. */
  async restart(i: number): Promise<void> {
    await this.node(i).restart();
    await this.waitReady();
  }

  private node(i: number): NatsServer {
    const n = this.nodes[i];
    if (!n) throw new Error(`no NATS node ${i} (cluster of ${this.nodes.length})`);
    return n;
  }

  async stop(): Promise<void> {
    await Promise.all(this.nodes.map((n) => n.stop()));
    rmSync(this.storeRoot, { recursive: true, force: true });
  }
}
