// Child processes of a bench: every process a bench starts is registered
// here, so that a normal end, an error, a watchdog or Ctrl-C all stop it.
// Also: reading another process's CPU time and RSS from /proc, which measures
// the naive relay and the real gateway the same way.
import { fork, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';

const cleanups = new Set();
let signalsHooked = false;

/** Registers `fn` (sync or async) to run at cleanup; returns an unregister function. */
export function onCleanup(fn) {
  hookSignals();
  cleanups.add(fn);
  return () => cleanups.delete(fn);
}

/** Runs every registered cleanup, last registered first. Idempotent. */
export async function cleanupAll() {
  const fns = [...cleanups].reverse();
  cleanups.clear();
  for (const fn of fns) {
    try {
      await fn();
    } catch (err) {
      console.error(`cleanup failed: ${err?.message ?? err}`);
    }
  }
}

function hookSignals() {
  if (signalsHooked) return;
  signalsHooked = true;
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
    process.once(sig, () => {
      console.error(`\n${sig}: stopping everything the bench started…`);
      const hard = setTimeout(() => process.exit(130), 8_000);
      hard.unref();
      cleanupAll().finally(() => process.exit(130));
    });
  }
  // Last resort on any exit path: no graceful wait is possible here, so kill hard.
  process.once('exit', () => {
    for (const fn of cleanups) {
      if (typeof fn.hardKill === 'function') fn.hardKill();
    }
  });
}

function registerChild(child, label) {
  const stop = async (graceMs = 3_000) => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const gone = new Promise((r) => child.once('exit', r));
    child.kill('SIGTERM');
    const t = setTimeout(() => child.kill('SIGKILL'), graceMs);
    await gone;
    clearTimeout(t);
  };
  stop.hardKill = () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  };
  const unregister = onCleanup(stop);
  child.once('exit', () => unregister());
  child.label = label;
  return stop;
}

/**
 * Forks a bench worker (`bench/lib/*.mjs`) with an IPC channel. Returns
 * `{ child, request(type, payload, timeoutMs), events, stop() }`: `request`
 * sends `{ id, type, ...payload }` and resolves with the worker's reply of the
 * same id; other messages go to `events` listeners.
 */
export function forkWorker(modulePath, args = [], { label = modulePath, execArgv = [] } = {}) {
  const child = fork(modulePath, args, { stdio: ['ignore', 'inherit', 'inherit', 'ipc'], execArgv });
  const stop = registerChild(child, label);
  let nextId = 1;
  const pending = new Map();
  const listeners = new Set();
  // Events that arrived before anyone waited for them (bounded).
  const seen = [];
  child.on('message', (msg) => {
    if (msg && typeof msg.replyTo === 'number' && pending.has(msg.replyTo)) {
      const p = pending.get(msg.replyTo);
      pending.delete(msg.replyTo);
      clearTimeout(p.timer);
      if (msg.error) p.reject(new Error(`${label}: ${msg.error}`));
      else p.resolve(msg);
    } else {
      seen.push(msg);
      if (seen.length > 50) seen.shift();
      for (const l of listeners) l(msg);
    }
  });
  child.once('exit', (code, signal) => {
    for (const p of pending.values()) {
      clearTimeout(p.timer);
      p.reject(new Error(`${label} exited (code ${code}, signal ${signal}) before replying`));
    }
    pending.clear();
  });
  return {
    child,
    pid: child.pid,
    request(type, payload = {}, timeoutMs = 30_000) {
      const id = nextId++;
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          pending.delete(id);
          reject(new Error(`${label}: no reply to ${type} within ${timeoutMs} ms`));
        }, timeoutMs);
        pending.set(id, { resolve, reject, timer });
        child.send({ id, type, ...payload });
      });
    },
    onEvent(fn) {
      listeners.add(fn);
    },
    /** Resolves with the first event of `type` (already seen or to come). */
    waitEvent(type, timeoutMs = 30_000) {
      const early = seen.find((m) => m?.type === type);
      if (early) return Promise.resolve(early);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          listeners.delete(fn);
          reject(new Error(`${label}: no ${type} event within ${timeoutMs} ms`));
        }, timeoutMs);
        const onExit = (code) => {
          clearTimeout(timer);
          listeners.delete(fn);
          reject(new Error(`${label} exited with code ${code} before ${type}`));
        };
        const fn = (m) => {
          if (m?.type !== type) return;
          clearTimeout(timer);
          listeners.delete(fn);
          child.off('exit', onExit);
          resolve(m);
        };
        listeners.add(fn);
        child.once('exit', onExit);
      });
    },
    stop,
  };
}

/** Spawns a plain process (no IPC), registered for cleanup, with a bounded output tail. */
export function spawnTracked(command, args, { label = command, env, cwd } = {}) {
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], env, cwd });
  const stop = registerChild(child, label);
  let tail = '';
  const onData = (d) => {
    tail = (tail + d.toString()).slice(-20_000);
  };
  child.stdout.on('data', onData);
  child.stderr.on('data', onData);
  return { child, pid: child.pid, stop, output: () => tail };
}

/** A free TCP port on loopback, found by binding port 0 and closing. */
export function freePort() {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

const CLOCK_TICKS_PER_S = 100;
const PAGE_SIZE_KB = 4;

/** CPU seconds (user + system) a process has used so far, from /proc/<pid>/stat. */
export function processCpuSeconds(pid) {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // The command name is in parentheses and may contain spaces: parse after it.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // After the name: state is field 3 of the full line, utime 14, stime 15.
  const utime = Number(fields[11]);
  const stime = Number(fields[12]);
  return (utime + stime) / CLOCK_TICKS_PER_S;
}

/** Resident set size of a process in MB, from /proc/<pid>/statm. */
export function processRssMb(pid) {
  const statm = readFileSync(`/proc/${pid}/statm`, 'utf8').split(' ');
  return (Number(statm[1]) * PAGE_SIZE_KB) / 1024;
}

/**
 * Samples a process's CPU and RSS over a window: `start()` then `stop()`
 * gives cores (CPU seconds per wall second), peak and final RSS in MB.
 */
export function cpuMeter(pid, sampleMs = 250) {
  let cpu0 = 0;
  let t0 = 0;
  let peakRss = 0;
  let timer = null;
  const sample = () => {
    try {
      peakRss = Math.max(peakRss, processRssMb(pid));
    } catch {
      // The process is gone; the final read reports it.
    }
  };
  return {
    start() {
      cpu0 = processCpuSeconds(pid);
      t0 = performance.now();
      peakRss = 0;
      sample();
      timer = setInterval(sample, sampleMs);
    },
    stop() {
      clearInterval(timer);
      const cpuS = processCpuSeconds(pid) - cpu0;
      const wallS = (performance.now() - t0) / 1000;
      const rssMb = processRssMb(pid);
      peakRss = Math.max(peakRss, rssMb);
      return { cpuS, wallS, cores: cpuS / wallS, rssMb, peakRssMb: peakRss };
    },
  };
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Rejects after `ms` with a clear message; used to bound every bench. */
export function withTimeout(promise, ms, what) {
  let timer;
  const t = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not finish within ${ms / 1000} s`)), ms);
  });
  return Promise.race([promise, t]).finally(() => clearTimeout(timer));
}

/** Clock shared by the publisher and the load client: µs since the Unix epoch, sub-ms resolution. */
export function nowUs() {
  return Math.round((performance.timeOrigin + performance.now()) * 1000);
}
