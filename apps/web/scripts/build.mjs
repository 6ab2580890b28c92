#!/usr/bin/env node
// Bundles the browser viewer (src, TypeScript) into dist/public with esbuild;
// the gateway serves that folder at `/` (it finds it through the @vidchat/web
// package). Two entry points: the page (app.js) and the AudioWorklet module
// (audio-worklet.js), which must be a same-origin file because the gateway's
// CSP allows scripts from 'self' only. libopus's two WebAssembly builds from
// @evan/opus (SIMD and plain) are copied to opus/; the page fetches the one the
// browser runs (src/libopus.ts). It also type-checks the page
// against the DOM lib with no Node types (`--no-check` skips that).
import { build } from 'esbuild';
import { execFileSync } from 'node:child_process';
import { copyFileSync, cpSync, existsSync, mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const app = join(dirname(fileURLToPath(import.meta.url)), '..');
const src = join(app, 'src');
const out = join(app, 'dist', 'public');
mkdirSync(out, { recursive: true });

if (!process.argv.includes('--no-check')) {
  const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
  execFileSync(process.execPath, [tsc, '--noEmit', '-p', join(src, 'tsconfig.json')], { stdio: 'inherit' });
}

if (existsSync(join(src, 'main.ts'))) {
  await build({
    entryPoints: { app: join(src, 'main.ts'), 'audio-worklet': join(src, 'audio-worklet.ts') },
    bundle: true,
    format: 'esm',
    target: 'es2022',
    sourcemap: true,
    outdir: out,
    logLevel: 'warning',
  });
}
const evanOpus = dirname(createRequire(import.meta.url).resolve('@evan/opus/package.json'));
mkdirSync(join(out, 'opus'), { recursive: true });
for (const file of ['simd.wasm', 'opus.wasm']) copyFileSync(join(evanOpus, 'wasm', file), join(out, 'opus', file));
if (existsSync(join(src, 'static'))) cpSync(join(src, 'static'), out, { recursive: true });
