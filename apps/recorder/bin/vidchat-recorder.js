#!/usr/bin/env node
// Workspace bin: runs the compiled program, or says how to build it.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const main = fileURLToPath(new URL('../dist/src/main.js', import.meta.url));
if (!existsSync(main)) {
  console.error('vidchat-recorder: not built yet: run `npm run build` at the repository root');
  process.exit(1);
}
await import(main);
