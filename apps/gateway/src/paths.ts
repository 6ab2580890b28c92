import { fileURLToPath } from 'node:url';

/** The bundled viewer (`scripts/build-viewer.mjs` writes it): dist/public, next to dist/src. */
export const PUBLIC_DIR = fileURLToPath(new URL('../public/', import.meta.url));
