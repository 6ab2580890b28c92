import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from '@vidchat/test-support';

/*
 * The docs a newcomer reads must match the programs: the README's flag
 * tables are generated from each CLI's --help, and each app's README names
 * every flag and environment variable its CLI has.
 */

test('the README flag tables match the programs (regenerate: node scripts/cli-docs.mjs)', () => {
  const r = spawnSync(process.execPath, [join(REPO_ROOT, 'scripts', 'cli-docs.mjs'), '--check'], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
});

for (const [app, bin] of [
  ['capture-agent', 'vidchat-agent'],
  ['mixer', 'vidchat-mixer'],
  ['gateway', 'vidchat-gateway'],
  ['recorder', 'vidchat-recorder'],
] as const) {
  test(`apps/${app}/README.md documents every flag and env var of ${bin}`, () => {
    const help = spawnSync(process.execPath, [join(REPO_ROOT, 'apps', app, 'dist', 'src', 'main.js'), '--help'], {
      encoding: 'utf8',
    }).stdout;
    const readme = readFileSync(join(REPO_ROOT, 'apps', app, 'README.md'), 'utf8');
    const names = [...help.matchAll(/^ {2}(--[a-z0-9-]+)/gm), ...help.matchAll(/\benv (VIDCHAT_[A-Z0-9_]+)/g)]
      .map((m) => m[1]!)
      .filter((n) => n !== '--help');
    assert.ok(names.length > 5, 'parsed the help');
    const missing = names.filter((n) => !readme.includes(n));
    assert.deepEqual(missing, [], `apps/${app}/README.md does not mention: ${missing.join(', ')}`);
  });
}
