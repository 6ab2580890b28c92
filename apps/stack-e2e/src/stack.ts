import { startApp, waitFor, type RunningProcess } from '@vidchat/test-support';
import { healthStatus } from './probes.js';

/*
 * The whole vidchat stack as real processes, for fault tests: one gateway,
 * optionally one mixer, and capture agents with ffmpeg test patterns, all on
 * the NATS URL(s) the test gives (its own nats-server(s), so that the test can
 * kill and restart the broker). Every process can be stopped, killed or
 * restarted on its own; `stop()` ends all of them.
 */

export interface AgentSpec {
  source: string;
  /** Publish the synthetic sine tone too (the mixer needs it); default none. */
  audio?: boolean;
  /** Test tone frequency when `audio` is set. */
  tone?: number;
  /** More flags for vidchat-agent. */
  args?: string[];
}

export interface StackOptions {
  /** NATS URL(s), comma-separated, passed to every service's --nats. */
  nats: string;
  room: string;
  /** Start a mixer too (default false). */
  mixer?: boolean;
  agents?: AgentSpec[];
  gatewayArgs?: string[];
  mixerArgs?: string[];
  /** Environment per service (NATS credentials in the access-control test). */
  env?: { gateway?: NodeJS.ProcessEnv; mixer?: NodeJS.ProcessEnv; agent?: NodeJS.ProcessEnv };
}

/** The gateway's startup line: `viewer at http://localhost:<port>/`. */
const GATEWAY_READY = /viewer at https?:\/\/\S+?:(\d+)\//;
const STARTUP_TIMEOUT_MS = 30_000;

/** Small, cheap media so that several agents fit on two cores beside the services. */
export const AGENT_MEDIA_ARGS: readonly string[] = ['--size', '160x120', '--fps', '10', '--quality', '10'];

export class Stack {
  gateway: RunningProcess | null = null;
  /** The gateway's HTTP/WebSocket port, kept across gateway restarts. */
  port = 0;
  mixer: RunningProcess | null = null;
  readonly agents = new Map<string, RunningProcess>();

  constructor(readonly opts: StackOptions) {}

  /** Starts the gateway (on `port`, or a free one the first time) and waits for its ready line. */
  async startGateway(port = this.port): Promise<RunningProcess> {
    const gw = startApp(
      'gateway',
      ['--nats', this.opts.nats, '--host', '127.0.0.1', '--port', String(port), ...(this.opts.gatewayArgs ?? [])],
      this.opts.env?.gateway ?? {},
    );
    this.gateway = gw;
    const m = await gw.waitForOutput(GATEWAY_READY, STARTUP_TIMEOUT_MS);
    this.port = Number(m[1]);
    // The gateway opens its port before NATS is connected (so that /healthz
    // can say 503): started means healthy, not just listening.
    await waitFor(async () => (await healthStatus(this.port)) === 200, {
      timeoutMs: STARTUP_TIMEOUT_MS,
      what: 'the gateway to report healthy',
    });
    return gw;
  }

  /** Starts the mixer and waits until it is connected to NATS. */
  async startMixer(): Promise<RunningProcess> {
    const mixer = startApp(
      'mixer',
      ['--nats', this.opts.nats, '--status-interval-ms', '1000', ...(this.opts.mixerArgs ?? [])],
      this.opts.env?.mixer ?? {},
    );
    this.mixer = mixer;
    await mixer.waitForOutput(/\[main\] ready/, STARTUP_TIMEOUT_MS);
    return mixer;
  }

  /** Starts one agent and waits until it announced itself (presence `join`). */
  async startAgent(spec: AgentSpec): Promise<RunningProcess> {
    const audio = spec.audio ? ['--audio', 'test', '--tone', String(spec.tone ?? 440)] : ['--audio', 'none'];
    const agent = startApp(
      'capture-agent',
      [
        '--nats',
        this.opts.nats,
        '--room',
        this.opts.room,
        '--source',
        spec.source,
        '--video',
        'test',
        ...audio,
        ...AGENT_MEDIA_ARGS,
        ...(spec.args ?? []),
      ],
      this.opts.env?.agent ?? {},
    );
    this.agents.set(spec.source, agent);
    await agent.waitForOutput(/\] joined /, STARTUP_TIMEOUT_MS);
    return agent;
  }

  /** Starts everything the options ask for: gateway, then mixer, then agents. */
  async start(): Promise<this> {
    await this.startGateway();
    if (this.opts.mixer) await this.startMixer();
    await Promise.all((this.opts.agents ?? []).map((a) => this.startAgent(a)));
    return this;
  }

  agent(source: string): RunningProcess {
    const a = this.agents.get(source);
    if (!a) throw new Error(`no agent ${source} in this stack`);
    return a;
  }

  /** Stops every process: agents first (they say `leave`), then mixer, then gateway. */
  async stop(): Promise<void> {
    await Promise.all([...this.agents.values()].map((a) => a.stop()));
    this.agents.clear();
    await this.mixer?.stop();
    await this.gateway?.stop();
  }
}

/** Builds and starts a stack; on a startup failure everything started so far is stopped. */
export async function startStack(opts: StackOptions): Promise<Stack> {
  const stack = new Stack(opts);
  try {
    return await stack.start();
  } catch (err) {
    await stack.stop();
    throw err;
  }
}

/** Kills a process hard (SIGKILL), as a crash would, and waits until it is gone. */
export async function killHard(p: RunningProcess): Promise<void> {
  if (p.child.exitCode !== null || p.child.signalCode !== null) return;
  p.child.kill('SIGKILL');
  await p.exited;
}
