#!/usr/bin/env node
// `npm start`: the whole vidchat stack on this machine, for a first look.
// Starts a private nats-server with JetStream (unless VIDCHAT_NATS_URL is set),
// the gateway, the mixer, the recorder and two demo capture agents with test patterns and different
// tones; waits until the gateway is healthy and the demo sources are live;
// prints the viewer URLs: http for watching, https (a self-signed certificate
// made at start) for joining with camera and microphone, also from the other
// machines of the LAN, whose addresses it lists. One Ctrl-C stops everything
// it started.
//
// Environment: VIDCHAT_PORT (8080), VIDCHAT_TLS_PORT (8443), VIDCHAT_NATS_URL (start a local broker),
// VIDCHAT_ROOM (demo), VIDCHAT_DEMO_AGENTS (2), VIDCHAT_LOG_LEVEL (info).
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { networkInterfaces, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const env = process.env;
const port = Number(env.VIDCHAT_PORT ?? 8080);
const tlsPort = Number(env.VIDCHAT_TLS_PORT ?? 8443);
const room = env.VIDCHAT_ROOM ?? 'demo';
const demoCount = Number(env.VIDCHAT_DEMO_AGENTS ?? 2);
const logLevel = env.VIDCHAT_LOG_LEVEL ?? 'info';
const STOP_GRACE_MS = 4_000;
const READY_TIMEOUT_MS = 60_000;

const say = (msg) => console.log(`[start] ${msg}`);
const fail = (msg) => {
  console.error(`[start] ${msg}`);
};

for (const [name, p] of [
  ['VIDCHAT_PORT', port],
  ['VIDCHAT_TLS_PORT', tlsPort],
]) {
  if (!Number.isInteger(p) || p < 1 || p > 65535) {
    fail(`${name} must be a port number from 1 to 65535, got ${JSON.stringify(env[name])}`);
    process.exit(2);
  }
}
if (port === tlsPort) {
  fail(`VIDCHAT_PORT and VIDCHAT_TLS_PORT must differ (both ${port})`);
  process.exit(2);
}

/** Children in start order; stopped in reverse. */
const children = [];
let stopping = false;

function launch(name, command, args, shown = () => true, optional = false) {
  // Each child gets its own process group, so a Ctrl-C in the terminal
  // reaches only this script, which then stops the children in order
  // (agents first, so their `leave` still reaches the broker; NATS last).
  const child = spawn(command, args, {
    cwd: root,
    env: { ...env, VIDCHAT_LOG_LEVEL: logLevel },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  const prefix = `[${name}] `;
  for (const stream of [child.stdout, child.stderr]) {
    let partial = '';
    stream.on('data', (d) => {
      const lines = (partial + d.toString()).split('\n');
      partial = lines.pop() ?? '';
      for (const line of lines) if (line.trim() && shown(line)) process.stdout.write(prefix + line + '\n');
    });
  }
  const entry = { name, child, exited: new Promise((r) => child.once('exit', (code, signal) => r({ code, signal }))) };
  entry.exited.then(({ code, signal }) => {
    if (stopping) return;
    if (optional) {
      fail(`${name} exited (${signal ?? `code ${code}`}); the rest keeps running without it.`);
      return;
    }
    fail(`${name} exited unexpectedly (${signal ?? `code ${code}`}); stopping everything.`);
    void stopAll(1);
  });
  children.push(entry);
  return entry;
}

async function stopAll(exitCode) {
  if (stopping) return;
  stopping = true;
  say('stopping…');
  for (const { name, child, exited } of [...children].reverse()) {
    if (child.exitCode !== null || child.signalCode !== null) continue;
    child.kill('SIGTERM');
    const timer = setTimeout(() => {
      fail(`${name} did not stop within ${STOP_GRACE_MS} ms: killing it`);
      child.kill('SIGKILL');
    }, STOP_GRACE_MS);
    await exited;
    clearTimeout(timer);
    killGroup(child);
  }
  if (natsDir) rmSync(natsDir, { recursive: true, force: true });
  else if (recorderWork) rmSync(recorderWork, { recursive: true, force: true });
  say('stopped.');
  process.exit(exitCode);
}

for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.on(sig, () => {
    if (stopping) return;
    void stopAll(0);
  });
}

/** Whatever a child left in its process group (an ffmpeg, say) goes with it. */
function killGroup(child) {
  try {
    process.kill(-child.pid, 'SIGKILL');
  } catch {
    // The group is already empty.
  }
}

// Last resort if this script dies of an error: leave nothing behind.
process.on('exit', () => {
  for (const { child } of children) killGroup(child);
});

function portFree(p) {
  return new Promise((res) => {
    const srv = createServer();
    srv.once('error', () => res(false));
    srv.listen(p, '0.0.0.0', () => srv.close(() => res(true)));
  });
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function waitFor(what, probe, timeoutMs = READY_TIMEOUT_MS) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (stopping) return null;
    try {
      const v = await probe();
      if (v) return v;
    } catch {
      // Not up yet.
    }
    await sleep(200);
  }
  throw new Error(`timed out after ${timeoutMs / 1000} s waiting for ${what}`);
}

for (const app of ['gateway', 'mixer', 'recorder', 'capture-agent']) {
  if (!existsSync(join(root, 'apps', app, 'dist', 'src', 'main.js'))) {
    fail(`apps/${app} is not built: run \`npm start\` (which builds) or \`npm run build\` first.`);
    process.exit(1);
  }
}

for (const [name, p, other] of [
  ['VIDCHAT_PORT', port, 8081],
  ['VIDCHAT_TLS_PORT', tlsPort, 8444],
]) {
  if (!(await portFree(p))) {
    fail(`port ${p} is already taken (another vidchat or another program).`);
    fail(`pick another one: ${name}=${other} npm start`);
    process.exit(1);
  }
}

// 1. NATS: a private broker on a free loopback port, unless one is given.
let natsUrl = env.VIDCHAT_NATS_URL;
let natsDir = null;
/** The recorder's folder for recordings in progress (inside natsDir when the broker is ours). */
let recorderWork = null;
if (natsUrl) {
  say(`using NATS at ${natsUrl} (VIDCHAT_NATS_URL)`);
} else {
  natsDir = mkdtempSync(join(tmpdir(), 'vidchat-start-nats-'));
  const conf = join(natsDir, 'nats.conf');
  // JetStream holds the recorder's object store bucket (recordings) and the chat stream for this session.
  const store = JSON.stringify(join(natsDir, 'jetstream'));
  writeFileSync(conf, `listen: 127.0.0.1:-1\nmax_payload: 1048576\njetstream { store_dir: ${store} }\n`);
  const bin =
    ['/usr/sbin/nats-server', '/usr/bin/nats-server', '/usr/local/bin/nats-server'].find(existsSync) ?? 'nats-server';
  // nats-server's start-up banner is a dozen [INF] lines; show its warnings and errors only.
  launch('nats', bin, ['-c', conf, '--ports_file_dir', natsDir], (line) => !line.includes('[INF]'));
  const ports = await waitFor(
    'nats-server to start',
    () => {
      const f = readdirSync(natsDir).find((n) => n.endsWith('.ports'));
      return f ? JSON.parse(readFileSync(join(natsDir, f), 'utf8')) : null;
    },
    15_000,
  );
  natsUrl = ports.nats[0];
  say(`started a local nats-server at ${natsUrl}`);
}

// 2. Services, then the demo agents.
const node = process.execPath;
const app = (name) => join(root, 'apps', name, 'dist', 'src', 'main.js');
// HTTPS with a certificate made at start: browsers give camera and microphone
// only to a secure context, which a LAN address over plain http is not.
launch('gateway', node, [
  app('gateway'),
  ...['--nats', natsUrl, '--port', String(port)],
  ...['--tls', 'self-signed', '--tls-port', String(tlsPort)],
]);
launch('mixer', node, [app('mixer'), '--nats', natsUrl]);
// The recorder needs JetStream on the broker; without it (a VIDCHAT_NATS_URL broker without -js) it exits
// with one line and the rest runs on.
recorderWork = natsDir ? join(natsDir, 'recorder') : mkdtempSync(join(tmpdir(), 'vidchat-start-recorder-'));
launch('recorder', node, [app('recorder'), '--nats', natsUrl, '--work-dir', recorderWork], () => true, true);
const tones = [440, 660, 550, 770, 880, 330];
for (let i = 1; i <= demoCount; i++) {
  launch(`demo${i}`, node, [
    app('capture-agent'),
    ...['--nats', natsUrl, '--room', room, '--source', `demo${i}`, '--name', `Demo ${i}`],
    ...['--video', 'test', '--audio', 'test', '--tone', String(tones[(i - 1) % tones.length])],
  ]);
}

// 3. Ready when the gateway is healthy and every demo source is live.
try {
  await waitFor('the gateway to answer /healthz', async () => (await fetch(`http://127.0.0.1:${port}/healthz`)).ok);
  await waitFor(`${demoCount} demo sources in room ${room}`, async () => {
    const res = await fetch(`http://127.0.0.1:${port}/api/rooms/${room}/sources`);
    if (!res.ok) return false;
    const body = await res.json();
    const sources = Array.isArray(body) ? body : body.sources;
    return Array.isArray(sources) && sources.length >= demoCount;
  });
} catch (err) {
  if (!stopping) {
    fail(err.message);
    await stopAll(1);
  }
}
/** This machine's addresses that other machines can reach (no loopback, no link-local IPv6). */
function lanAddresses() {
  const out = [];
  for (const list of Object.values(networkInterfaces())) {
    for (const a of list ?? []) {
      if (a.internal || (a.family === 'IPv6' && a.address.toLowerCase().startsWith('fe80'))) continue;
      out.push(a.family === 'IPv6' ? `[${a.address}]` : a.address);
    }
  }
  return out;
}

if (!stopping) {
  console.log('');
  say(`vidchat is up. Watch:  http://localhost:${port}/?room=${room}`);
  say(`Join with camera and microphone:  https://localhost:${tlsPort}/?room=${room}&join=1`);
  const lan = lanAddresses();
  if (lan.length > 0) {
    say('From other machines on this network (accept the self-signed certificate once; its');
    say('SHA-256 fingerprint is in the gateway log above, to compare with what the browser shows):');
    for (const a of lan)
      say(`  join  https://${a}:${tlsPort}/?room=${room}&join=1     watch  http://${a}:${port}/?room=${room}`);
  }
  say(`NATS: ${natsUrl}   health: http://localhost:${port}/healthz   metrics: http://localhost:${port}/metrics`);
  say('Press Ctrl-C to stop everything.');
  console.log('');
}
