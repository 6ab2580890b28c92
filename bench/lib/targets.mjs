// What the viewers connect to: the naive relay (baseline) or the real
// gateway, each in its own process whose CPU and RSS the bench reads from
// /proc the same way.
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join, resolve } from 'node:path';
import { forkWorker, freePort, sleep, spawnTracked } from './procs.mjs';

export const REPO_ROOT = resolve(fileURLToPath(new URL('../..', import.meta.url)));
export const GATEWAY_MAIN = join(REPO_ROOT, 'apps/gateway/dist/src/main.js');
const NAIVE_RELAY = fileURLToPath(new URL('./naive-relay.mjs', import.meta.url));
const GATEWAY_READY_TIMEOUT_MS = 30_000;

/** True once the gateway's main.js is more than the skeleton's empty placeholder. */
export function gatewayBuilt() {
  if (!existsSync(GATEWAY_MAIN)) return false;
  const code = readFileSync(GATEWAY_MAIN, 'utf8')
    .replace(/\/\/# sourceMappingURL=.*$/m, '')
    .trim();
  return !/^export \{\};?$/.test(code);
}

/**
 * Starts a target: `relay` (the naive relay) or `gateway` (the real one).
 * Returns { kind, pid, wsUrl, httpUrl, stop(), output() }.
 * `cpuProfileDir` runs the gateway under `node --cpu-prof`; the profile is
 * written when it exits cleanly on stop().
 */
export async function startTarget(kind, { natsUrl, room, cpuProfileDir } = {}) {
  if (kind === 'relay') {
    const w = forkWorker(NAIVE_RELAY, ['--nats', natsUrl, '--room', room], { label: 'naive-relay' });
    const { port } = await w.waitEvent('ready', 15_000);
    return {
      kind,
      pid: w.pid,
      wsUrl: `ws://127.0.0.1:${port}/ws`,
      httpUrl: null,
      stop: () => w.stop(),
      output: () => '',
    };
  }
  if (kind !== 'gateway') throw new Error(`unknown target ${kind}`);
  if (!gatewayBuilt()) throw new Error(`the gateway is not built (${GATEWAY_MAIN} is missing)`);
  const port = await freePort();
  const execArgs = [];
  if (cpuProfileDir) {
    mkdirSync(cpuProfileDir, { recursive: true });
    execArgs.push('--cpu-prof', '--cpu-prof-dir', cpuProfileDir);
  }
  const p = spawnTracked(
    process.execPath,
    [...execArgs, GATEWAY_MAIN, '--nats', natsUrl, '--host', '127.0.0.1', '--port', String(port)],
    {
      label: 'gateway',
      cwd: REPO_ROOT,
      env: { ...process.env, VIDCHAT_LOG_LEVEL: process.env.VIDCHAT_LOG_LEVEL ?? 'info' },
    },
  );
  const httpUrl = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + GATEWAY_READY_TIMEOUT_MS;
  for (;;) {
    if (p.child.exitCode !== null || p.child.signalCode !== null) {
      throw new Error(`the gateway exited (code ${p.child.exitCode}) before it was ready:\n${p.output().slice(-3000)}`);
    }
    try {
      const res = await fetch(`${httpUrl}/healthz`);
      if (res.status === 200) break;
    } catch {
      // Not listening yet.
    }
    if (Date.now() > deadline) {
      await p.stop();
      throw new Error(`the gateway was not healthy within ${GATEWAY_READY_TIMEOUT_MS} ms:\n${p.output().slice(-3000)}`);
    }
    await sleep(100);
  }
  return {
    kind,
    pid: p.pid,
    wsUrl: `ws://127.0.0.1:${port}/ws`,
    httpUrl,
    stop: () => p.stop(10_000),
    output: p.output,
  };
}
