import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { Libopus, libopusBuild } from '../../src/libopus.js';

/** The page's libopus (src/libopus.ts) in Node: the same WebAssembly file the build copies next to app.js. */
export async function loadLibopus(): Promise<Libopus> {
  return Libopus.load(await readFile(createRequire(import.meta.url).resolve(`@evan/opus/wasm/${libopusBuild()}`)));
}
