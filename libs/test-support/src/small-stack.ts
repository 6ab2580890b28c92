import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { startNatsFixture, type NatsFixture } from './nats-fixture.js';
import { startApp, type RunningProcess } from './processes.js';

/*
 * A small stack for one test file: a NATS fixture (optionally with a client
 * connection), the apps the test starts on it with the flags the tests share
 * (mixer, recorder, capture agents, gateway), and temporary directories.
 * `stop()` ends every process, closes the connection, stops the broker and
 * removes the directories, whatever part of the start got done.
 * (apps/stack-e2e has its own Stack for fault tests across processes.)
 */

/** The lines each app prints once it is ready for a test. */
export const READY_LINE = {
  /** mixer and recorder, once connected to NATS. */
  main: /\[main\] ready/,
  /** a capture agent, once it announced itself (presence `join`). */
  agent: /\] joined /,
  /** the gateway's `viewer at http://host:<port>/`; group 1 is the port. */
  gateway: /viewer at https?:\/\/\S+?:(\d+)/,
} as const;

export interface SmallStackOptions {
  /** Start the broker with JetStream (recordings need the object store). */
  jetstream?: boolean;
  /** Open a client connection for the test (`nc`). */
  connect?: boolean;
}

export interface AgentOptions {
  room: string;
  source: string;
  name?: string;
  /** `--video`; default `test` (the test pattern). */
  video?: string;
  /** `--audio`; default `none`. */
  audio?: string;
  /** `--tone` of the test sound. */
  tone?: number;
  /** default 320x180. */
  size?: string;
  fps: number;
  /** More flags. */
  args?: readonly string[];
}

export interface RecorderOptions {
  workDir: string;
  /** default 320x180. */
  size?: string;
  fps?: number;
  maxRecordings?: number;
  statusIntervalMs?: number;
  /** More flags. */
  args?: readonly string[];
}

export class SmallStack {
  /** Every process started on this stack, in order. */
  readonly procs: RunningProcess[] = [];
  private readonly dirs: string[] = [];
  private readonly readyLines = new Map<RunningProcess, RegExp>();
  private client: NatsConnection | null = null;

  private constructor(readonly nats: NatsFixture) {}

  /** Starts the broker (and the client connection when asked); on failure nothing is left running. */
  static async start(opts: SmallStackOptions = {}): Promise<SmallStack> {
    const stack = new SmallStack(await startNatsFixture({ jetstream: opts.jetstream ?? false }));
    try {
      if (opts.connect) stack.client = await connect({ servers: stack.url });
    } catch (err) {
      await stack.stop();
      throw err;
    }
    return stack;
  }

  get url(): string {
    return this.nats.url;
  }

  /** The test's client connection (`connect: true`). */
  get nc(): NatsConnection {
    if (!this.client) throw new Error('this SmallStack was started without connect: true');
    return this.client;
  }

  /** A fresh temporary directory, removed by `stop()`. */
  tempDir(prefix: string): string {
    const dir = mkdtempSync(join(tmpdir(), prefix));
    this.dirs.push(dir);
    return dir;
  }

  /** Has `stop()` end a process started elsewhere. */
  track<P extends RunningProcess>(p: P): P {
    this.procs.push(p);
    return p;
  }

  /** Starts an app with `--nats <this broker>` and the given flags. */
  app(name: Parameters<typeof startApp>[0], args: readonly string[] = []): RunningProcess {
    return this.track(startApp(name, ['--nats', this.url, ...args]));
  }

  mixer(args: readonly string[] = []): RunningProcess {
    return this.withReadyLine(this.app('mixer', args), READY_LINE.main);
  }

  recorder(o: RecorderOptions): RunningProcess {
    return this.withReadyLine(this.startRecorder(o), READY_LINE.main);
  }

  private startRecorder(o: RecorderOptions): RunningProcess {
    return this.app('recorder', [
      ...['--work-dir', o.workDir, '--size', o.size ?? '320x180'],
      ...(o.fps !== undefined ? ['--fps', String(o.fps)] : []),
      ...(o.maxRecordings !== undefined ? ['--max-recordings', String(o.maxRecordings)] : []),
      ...(o.statusIntervalMs !== undefined ? ['--status-interval-ms', String(o.statusIntervalMs)] : []),
      ...(o.args ?? []),
    ]);
  }

  agent(o: AgentOptions): RunningProcess {
    return this.withReadyLine(this.startAgent(o), READY_LINE.agent);
  }

  private startAgent(o: AgentOptions): RunningProcess {
    return this.app('capture-agent', [
      ...['--room', o.room, '--source', o.source],
      ...(o.name !== undefined ? ['--name', o.name] : []),
      ...['--video', o.video ?? 'test', '--audio', o.audio ?? 'none'],
      ...(o.tone !== undefined ? ['--tone', String(o.tone)] : []),
      ...['--size', o.size ?? '320x180', '--fps', String(o.fps)],
      ...(o.args ?? []),
    ]);
  }

  /** Waits for the ready line of each process (mixer, recorder: `[main] ready`; agent: `joined`). */
  async ready(procs: readonly RunningProcess[], timeoutMs = 60_000): Promise<void> {
    await Promise.all(
      procs.map((p) => {
        const line = this.readyLines.get(p);
        if (!line) throw new Error('ready() knows the ready line of mixers, recorders and agents started here');
        return p.waitForOutput(line, timeoutMs);
      }),
    );
  }

  private withReadyLine(p: RunningProcess, line: RegExp): RunningProcess {
    this.readyLines.set(p, line);
    return p;
  }

  /** Starts the gateway on a free port and waits for its ready line: the process and its port. */
  async gateway(args: readonly string[] = [], timeoutMs = 60_000): Promise<{ gateway: RunningProcess; port: number }> {
    const gateway = this.app('gateway', ['--port', '0', ...args]);
    const m = await gateway.waitForOutput(READY_LINE.gateway, timeoutMs);
    return { gateway, port: Number(m[1]) };
  }

  /** Ends every process, closes the client connection, stops the broker, removes the directories. */
  async stop(): Promise<void> {
    await Promise.allSettled(this.procs.map((p) => p.stop()));
    await this.client?.close().catch(() => undefined);
    await this.nats.stop();
    for (const d of this.dirs) rmSync(d, { recursive: true, force: true });
  }
}
