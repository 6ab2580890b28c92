import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { requireBinary } from './binaries.js';
import { waitFor } from './wait.js';

export interface NatsServerOptions {
  /** Fixed client port; by default the server picks a free one. */
  port?: number;
  /** Extra nats-server config text appended to the generated config. */
  extraConfig?: string;
  /**
   * Cluster routes: this server's cluster port and the URLs of its peers;
   * with `authorization`, peers must log in with it (route URLs then carry
   * `user:password@`).
   */
  cluster?: { name: string; port?: number; routes: string[]; authorization?: { user: string; password: string } };
  /** Ready timeout in ms. */
  timeoutMs?: number;
  /**
   * Enables JetStream (key-value and object store buckets) with its store in
   * this server's temporary folder, removed by `stop()`. Off by default so
   * that suites which do not need it start a plain broker.
   */
  jetstream?: boolean;
}

/**
 * One real `nats-server` process on loopback, for tests. Picks a free port
 * (`listen: 127.0.0.1:-1`) and learns it from the ports file; `restart()`
 * brings it back on the same port, as a broker restart in production would.
 */
export class NatsServer {
  private child: ChildProcess | null = null;
  private readonly dir: string;
  private stderrTail = '';
  port = 0;
  clusterPort = 0;

  private constructor(private readonly opts: NatsServerOptions) {
    this.dir = mkdtempSync(join(tmpdir(), 'vidchat-nats-'));
  }

  static async start(opts: NatsServerOptions = {}): Promise<NatsServer> {
    const server = new NatsServer(opts);
    await server.launch(opts.port ?? -1, opts.cluster?.port ?? -1);
    return server;
  }

  get url(): string {
    return `nats://127.0.0.1:${this.port}`;
  }

  get clusterUrl(): string {
    return `nats://127.0.0.1:${this.clusterPort}`;
  }

  get running(): boolean {
    return this.child !== null && this.child.exitCode === null && this.child.signalCode === null;
  }

  private async launch(port: number, clusterPort: number): Promise<void> {
    const bin = requireBinary('nats-server');
    const lines = [`listen: 127.0.0.1:${port}`, 'max_payload: 1048576'];
    if (this.opts.cluster) {
      const c = this.opts.cluster;
      const auth = c.authorization
        ? `, authorization { user: ${JSON.stringify(c.authorization.user)}, password: ${JSON.stringify(c.authorization.password)}, timeout: 2 }`
        : '';
      lines.push(
        `cluster { name: ${c.name}, listen: 127.0.0.1:${clusterPort}${auth}, routes: [${c.routes.map((r) => `"${r}"`).join(', ')}] }`,
      );
    }
    if (this.opts.jetstream) lines.push(`jetstream { store_dir: ${JSON.stringify(join(this.dir, 'jetstream'))} }`);
    if (this.opts.extraConfig) lines.push(this.opts.extraConfig);
    const conf = join(this.dir, 'nats.conf');
    writeFileSync(conf, lines.join('\n') + '\n');
    for (const f of readdirSync(this.dir)) if (f.endsWith('.ports')) rmSync(join(this.dir, f));
    const child = spawn(bin, ['-c', conf, '--ports_file_dir', this.dir], { stdio: ['ignore', 'ignore', 'pipe'] });
    this.child = child;
    child.stderr?.on('data', (d: Buffer) => {
      this.stderrTail = (this.stderrTail + d.toString()).slice(-4000);
    });
    const exited = new Promise<never>((_, reject) =>
      child.once('exit', (code) =>
        reject(new Error(`nats-server exited with code ${code} before it was ready:\n${this.stderrTail}`)),
      ),
    );
    exited.catch(() => undefined);
    const ready = waitFor(
      () => {
        const file = readdirSync(this.dir).find((f) => f.endsWith('.ports'));
        if (!file) return null;
        const ports = JSON.parse(readFileSync(join(this.dir, file), 'utf8')) as { nats?: string[]; cluster?: string[] };
        const natsUrl = ports.nats?.[0];
        if (!natsUrl) return null;
        if (this.opts.cluster && !ports.cluster?.[0]) return null;
        return ports;
      },
      { timeoutMs: this.opts.timeoutMs ?? 10_000, what: 'nats-server ports file' },
    );
    const ports = await Promise.race([ready, exited]);
    this.port = Number(new URL(ports.nats![0]!).port);
    if (ports.cluster?.[0]) this.clusterPort = Number(new URL(ports.cluster[0]).port);
  }

  /** Kills the server hard (SIGKILL), as a crash would. */
  async kill(): Promise<void> {
    await this.signal('SIGKILL');
  }

  /** Stops the server (SIGTERM) and waits for it to exit. */
  async stop(): Promise<void> {
    await this.signal('SIGTERM');
    rmSync(this.dir, { recursive: true, force: true });
  }

  /** Starts it again on the same port(s) after `kill()` or `stop()`. */
  async restart(): Promise<void> {
    if (this.running) await this.signal('SIGTERM');
    await this.launch(this.port, this.clusterPort || -1);
  }

  private async signal(sig: NodeJS.Signals): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const gone = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill(sig);
    await gone;
    this.child = null;
  }
}
