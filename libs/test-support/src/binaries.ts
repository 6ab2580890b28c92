import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';

/*
 * Real parts the tests need. A missing one is a clear failure that says what
 * to install, never a skip: `npm test` installs them (scripts/setup.mjs), so a
 * missing binary means the setup did not run or could not.
 */
export type RealPart = 'ffmpeg' | 'ffprobe' | 'nats-server' | 'chromium';

const HINT: Record<RealPart, string> = {
  ffmpeg: 'apt-get install ffmpeg',
  ffprobe: 'apt-get install ffmpeg',
  'nats-server': 'apt-get install nats-server',
  chromium: 'apt-get install chromium',
};

export class MissingBinaryError extends Error {
  readonly code = 'ERR_MISSING_BINARY';
  constructor(readonly binary: RealPart) {
    super(
      `${binary} is needed by this test but was not found on PATH: run \`npm run setup\` (as root) or \`${HINT[binary]}\``,
    );
    this.name = 'MissingBinaryError';
  }
}

export function findBinary(name: string): string | null {
  for (const dir of (process.env['PATH'] ?? '').split(delimiter)) {
    if (!dir) continue;
    const candidate = join(dir, name);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // Not in this directory.
    }
  }
  return null;
}

/** The path of a real part, or a `MissingBinaryError` that says how to install it. */
export function requireBinary(name: RealPart): string {
  const candidates = name === 'chromium' ? ['chromium', 'chromium-browser'] : [name];
  for (const c of candidates) {
    const found = findBinary(c);
    if (found) return found;
  }
  // Debian puts nats-server in /usr/sbin, which is not on every user's PATH.
  if (name === 'nats-server') {
    try {
      accessSync('/usr/sbin/nats-server', constants.X_OK);
      return '/usr/sbin/nats-server';
    } catch {
      // Fall through to the error.
    }
  }
  throw new MissingBinaryError(name);
}
