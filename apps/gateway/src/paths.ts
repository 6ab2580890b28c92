import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

/**
 * The bundled browser app: dist/public of the @vidchat/web workspace (its
 * `scripts/build.mjs` writes it). Resolved as a package, not as a path from
 * this file, so that it is found wherever npm links the workspace (the repo,
 * the Docker image).
 */
export const PUBLIC_DIR = join(
  dirname(createRequire(import.meta.url).resolve('@vidchat/web/package.json')),
  'dist',
  'public',
);
