#!/usr/bin/env node
// Installs what vidchat needs on this machine, and nothing that is already
// there: npm packages when node_modules is missing or older than the lock
// file, and Debian's ffmpeg, nats-server and chromium when missing.
// Called by `npm start`, `npm test` and `npm run bench`; safe to run again.
//
//   node scripts/setup.mjs [--for start|test|bench]
//
// VIDCHAT_SKIP_SETUP=1 skips it (for images that are built already).
import { spawnSync } from 'node:child_process';
import { accessSync, constants, existsSync, statSync } from 'node:fs';
import { delimiter, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const argFor = process.argv.indexOf('--for');
const purpose = argFor > 0 ? process.argv[argFor + 1] : (process.env.npm_lifecycle_event ?? 'test');
const log = (msg) => console.log(`[setup] ${msg}`);

if (process.env.VIDCHAT_SKIP_SETUP === '1') {
  log('skipped (VIDCHAT_SKIP_SETUP=1)');
  process.exit(0);
}

// Node: the workspace needs require(esm) and the test runner of 20.19+.
const [major, minor] = process.versions.node.split('.').map(Number);
if (major < 20 || (major === 20 && minor < 19)) {
  console.error(`[setup] Node ${process.versions.node} is too old: vidchat needs Node 20.19 or newer.`);
  process.exit(1);
}

function run(cmd, args, opts = {}) {
  log(`$ ${cmd} ${args.join(' ')}`);
  const r = spawnSync(cmd, args, { stdio: 'inherit', cwd: root, ...opts });
  if (r.status !== 0) {
    console.error(`[setup] \`${cmd} ${args.join(' ')}\` failed (exit ${r.status ?? r.signal}).`);
    process.exit(1);
  }
}

// 1. npm packages.
const lock = join(root, 'package-lock.json');
const installed = join(root, 'node_modules', '.package-lock.json');
const mtime = (p) => (existsSync(p) ? statSync(p).mtimeMs : 0);
if (!existsSync(installed)) {
  log('installing npm packages (first run)…');
  run('npm', existsSync(lock) ? ['ci', '--no-audit', '--no-fund'] : ['install', '--no-audit', '--no-fund']);
} else if (mtime(lock) > mtime(installed) || mtime(join(root, 'package.json')) > mtime(installed)) {
  log('package-lock.json changed since the last install: updating npm packages…');
  run('npm', ['install', '--no-audit', '--no-fund']);
} else {
  log('npm packages: up to date');
}

// 2. Debian packages: which ones this purpose needs.
function onPath(name) {
  const dirs = (process.env.PATH ?? '').split(delimiter).concat(['/usr/sbin', '/usr/bin', '/sbin']);
  return dirs.some((d) => {
    try {
      accessSync(join(d, name), constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
}
const wanted = [{ bin: 'ffmpeg', pkg: 'ffmpeg' }];
if (purpose !== 'start' || !process.env.VIDCHAT_NATS_URL) wanted.push({ bin: 'nats-server', pkg: 'nats-server' });
if (purpose !== 'start') wanted.push({ bin: 'chromium', pkg: 'chromium' });
const missing = wanted.filter((w) => !onPath(w.bin));
if (missing.length === 0) {
  log(`system packages: ${wanted.map((w) => w.bin).join(', ')} present`);
  process.exit(0);
}
const pkgs = missing.map((m) => m.pkg);
const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
if (!isRoot || !onPath('apt-get')) {
  console.error(
    `[setup] missing: ${missing.map((m) => m.bin).join(', ')}. Install them with:\n` +
      `    sudo apt-get update && sudo apt-get install -y ${pkgs.join(' ')}\n` +
      `  (or your system's package manager), then run this command again.`,
  );
  process.exit(1);
}
log(`installing Debian packages: ${pkgs.join(' ')} (this takes a minute or two the first time)…`);
const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
run('apt-get', ['update', '-qq'], { env });
run('apt-get', ['install', '-y', '-qq', '--no-install-recommends', ...pkgs], { env });
const still = missing.filter((m) => !onPath(m.bin));
if (still.length) {
  console.error(`[setup] still missing after apt-get: ${still.map((m) => m.bin).join(', ')}`);
  process.exit(1);
}
log('system packages installed');
