#!/usr/bin/env node
// Runs the compiled test files of every workspace in ONE `node --test` run,
// so the closing summary counts the whole suite (Nx would print one summary
// per project). Build first (`npm run build`); `npm test` does both.
//
//   node scripts/test.mjs [--tier unit|int|e2e] [--project apps/gateway] [file filter…]
//
// Tiers by file name: *.spec.ts pure, *.int.spec.ts real NATS/ffmpeg,
// *.e2e.spec.ts real Chromium.
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, statSync, mkdirSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
let tier = null;
const projects = [];
const filters = [];
for (let i = 0; i < args.length; i++) {
  if (args[i] === '--tier') tier = args[++i];
  else if (args[i] === '--project') projects.push(args[++i]);
  else filters.push(args[i]);
}

function walk(dir, out) {
  if (!existsSync(dir)) return out;
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) walk(p, out);
    else if (name.endsWith('.spec.js')) out.push(p);
  }
  return out;
}

const roots = projects.length
  ? projects.map((p) => resolve(root, p))
  : ['apps', 'libs'].flatMap((d) => readdirSync(join(root, d)).map((n) => join(root, d, n)));
let files = roots.flatMap((p) => walk(join(p, 'dist', 'tests'), []));
const tierOf = (f) => (f.endsWith('.e2e.spec.js') ? 'e2e' : f.endsWith('.int.spec.js') ? 'int' : 'unit');
if (tier) files = files.filter((f) => tierOf(f) === tier);
if (filters.length) files = files.filter((f) => filters.some((s) => f.includes(s)));
if (files.length === 0) {
  console.error('no compiled test files found: run `npm run build` first');
  process.exit(1);
}
// Pure tests first: they fail fastest.
const order = { unit: 0, int: 1, e2e: 2 };
files.sort((a, b) => order[tierOf(a)] - order[tierOf(b)] || a.localeCompare(b));
mkdirSync(join(root, 'test-artifacts'), { recursive: true });

// Two cores: integration tests time real ffmpeg and real sockets, so by
// default they run one file at a time; VIDCHAT_TEST_CONCURRENCY overrides.
const concurrency = process.env.VIDCHAT_TEST_CONCURRENCY ?? '1';
console.log(`running ${files.length} test files (concurrency ${concurrency})`);
const child = spawn(
  process.execPath,
  ['--test', `--test-concurrency=${concurrency}`, '--test-reporter=spec', ...files.map((f) => relative(root, f))],
  { cwd: root, stdio: 'inherit' },
);
child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
