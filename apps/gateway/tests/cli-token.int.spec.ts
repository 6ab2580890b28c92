import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startApp } from '@vidchat/test-support';
import { checkViewerToken } from '../src/index.js';

/*
 * The token CLI and the secret's minimum length, as a person meets them:
 * `vidchat-gateway token` with grants prints a token the gateway accepts,
 * and a weak secret is one line on stderr and exit code 2, for minting and
 * for serving alike.
 */

const SECRET = 'cli-test-secret-0123456789abcdef-xyz';

async function run(args: string[]): Promise<{ code: number | null; lines: string[] }> {
  const p = startApp('gateway', args);
  const { code } = await p.exited;
  return {
    code,
    lines: p
      .output()
      .split('\n')
      .filter((l) => l.trim() !== ''),
  };
}

describe('vidchat-gateway token and the viewer secret', { timeout: 60_000 }, () => {
  it('mints a token with the publish, record and name grants', async () => {
    const args = ['token', '--room', 'demo', '--publish', '--record', '--name', 'Ada L.', '--ttl', '1h'];
    const { code, lines } = await run([...args, '--viewer-secret', SECRET]);
    assert.equal(code, 0, lines.join('\n'));
    const token = lines.at(-1) ?? '';
    assert.deepEqual(await checkViewerToken(SECRET, token, 'demo'), { publish: true, record: true, name: 'Ada L.' });
    const plain = await run(['token', '--room', 'demo', '--viewer-secret', SECRET]);
    assert.deepEqual(await checkViewerToken(SECRET, plain.lines.at(-1), 'demo'), { publish: false, record: false });
  });

  it('refuses a secret under 32 bytes with one line and exit 2, minting and serving', async () => {
    for (const args of [
      ['token', '--room', 'demo', '--viewer-secret', 'too-short'],
      ['--nats', 'nats://127.0.0.1:1', '--port', '0', '--host', '127.0.0.1', '--viewer-secret', 'too-short'],
    ]) {
      const { code, lines } = await run(args);
      assert.equal(code, 2, lines.join('\n'));
      assert.equal(lines.length, 1, lines.join('\n'));
      assert.match(lines[0]!, /^vidchat-gateway.*--viewer-secret.*at least 32 bytes/);
    }
  });
});
