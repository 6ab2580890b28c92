#!/usr/bin/env node
// Bundles the browser viewer (src/viewer, TypeScript) into dist/public with
// esbuild; the gateway serves that folder at `/`.
import { build } from 'esbuild';
import { cpSync, existsSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const app = join(dirname(fileURLToPath(import.meta.url)), '..');
const src = join(app, 'src', 'viewer');
const out = join(app, 'dist', 'public');
mkdirSync(out, { recursive: true });
if (existsSync(join(src, 'main.ts'))) {
  await build({
    entryPoints: [join(src, 'main.ts')],
    bundle: true,
    format: 'esm',
    target: 'es2022',
    sourcemap: true,
    outfile: join(out, 'app.js'),
    logLevel: 'warning',
  });
}
if (existsSync(join(src, 'static'))) cpSync(join(src, 'static'), out, { recursive: true });
