import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT, requireBinary } from '@vidchat/test-support';
import { documentedEnv, programOf, readCompose } from './helpers/compose-file.js';

/*
 * No Docker engine runs on the CI machines, so `docker compose up` cannot be
 * exercised here. This test keeps the compose file honest by reading it:
 * it parses, every build context and target exists, every VIDCHAT_* variable
 * is one the program's own --help documents, the NATS config it mounts is
 * accepted by a real nats-server, and ports and healthchecks are there.
 */

const { text: composeText, ...compose } = readCompose('docker-compose.yml');
const dockerfile = readFileSync(join(REPO_ROOT, 'Dockerfile'), 'utf8');

test('the compose file has nats, gateway, mixer, recorder and two demo agents', () => {
  const names = Object.keys(compose.services);
  for (const n of ['nats', 'gateway', 'mixer', 'recorder']) assert.ok(names.includes(n), `service ${n}`);
  const agents = names.filter((n) => programOf(n, compose.services[n]!) === 'capture-agent');
  assert.ok(agents.length >= 2, `two demo agents, found ${agents.join(', ')}`);
  for (const a of agents) {
    const env = compose.services[a]!.environment ?? {};
    assert.equal(env['VIDCHAT_VIDEO'], 'test');
    assert.equal(env['VIDCHAT_AUDIO'], 'test');
  }
  const tones = agents.map((a) => compose.services[a]!.environment?.['VIDCHAT_TONE']);
  assert.equal(new Set(tones).size, agents.length, 'demo agents use different tones');
  assert.match(composeText, /#\s+devices:\s*\n\s*#\s+- \/dev\/video0/, 'a commented real-camera example');
});

test('every image is official or built from a context and target that exist', () => {
  const targets = new Set([...dockerfile.matchAll(/^FROM\s+\S+\s+AS\s+(\S+)/gim)].map((m) => m[1]!));
  for (const [name, s] of Object.entries(compose.services)) {
    if (!s.build) {
      assert.match(s.image ?? '', /^nats:\d/, `${name} uses the official nats image`);
      continue;
    }
    const b = typeof s.build === 'string' ? { context: s.build } : s.build;
    assert.ok(existsSync(join(REPO_ROOT, b.context)), `${name}: build context ${b.context}`);
    assert.ok(existsSync(join(REPO_ROOT, b.context, b.dockerfile ?? 'Dockerfile')), `${name}: Dockerfile`);
    if (b.target) assert.ok(targets.has(b.target), `${name}: Dockerfile target ${b.target}`);
  }
  assert.match(dockerfile, /^ARG NODE_IMAGE=node:(20|22|24)-/m, 'an official Node LTS image');
  assert.match(dockerfile, /^USER node$/m, 'runs as a non-root user');
  assert.match(
    dockerfile,
    /apt-get install -y --no-install-recommends ffmpeg( fonts-dejavu-core)?/,
    'the agent gets ffmpeg from the distribution',
  );
});

test('every VIDCHAT_* variable in the compose file is documented by its CLI', () => {
  for (const [name, s] of Object.entries(compose.services)) {
    const program = programOf(name, s);
    if (program === 'nats' || program === 'proxy') continue;
    const documented = documentedEnv(program);
    for (const key of Object.keys(s.environment ?? {})) {
      if (!key.startsWith('VIDCHAT_')) continue;
      assert.ok(
        documented.has(key),
        `${name}: ${key} is not an env var of ${program} (--help lists ${[...documented].join(', ')})`,
      );
    }
    if (typeof s.command?.[0] === 'string') {
      assert.ok(existsSync(join(REPO_ROOT, s.command[0])), `${name}: ${s.command[0]} exists`);
    }
  }
});

test('ports and healthchecks are there', () => {
  const gw = compose.services['gateway']!;
  assert.ok(
    gw.ports?.some((p) => p.endsWith(':8080')),
    'gateway publishes 8080',
  );
  assert.ok(gw.healthcheck?.test.join(' ').includes('/healthz'), 'gateway healthcheck hits /healthz');
  assert.ok(compose.services['nats']!.healthcheck, 'nats has a healthcheck');
  for (const n of ['gateway', 'mixer', 'recorder']) {
    assert.equal(compose.services[n]!.depends_on?.['nats']?.condition, 'service_healthy', `${n} waits for nats`);
  }
});

test('NATS runs JetStream on a volume (the recorder keeps recordings in an object store bucket there)', () => {
  const nats = compose.services['nats']!;
  const cmd = nats.command ?? [];
  assert.ok(cmd.includes('-js'), `nats command has -js: ${cmd.join(' ')}`);
  const dir = cmd[cmd.indexOf('-sd') + 1];
  assert.ok(cmd.includes('-sd') && dir, 'nats command names a store folder');
  assert.ok(
    nats.volumes?.some((v) => v.endsWith(`:${dir}`)),
    `the store folder ${dir} is a volume`,
  );
});

test('the NATS config the compose file mounts is accepted by a real nats-server', () => {
  const mount = compose.services['nats']!.volumes?.find((v) => v.includes('nats.conf'));
  assert.ok(mount, 'nats.conf is mounted');
  const file = join(REPO_ROOT, mount.split(':')[0]!);
  const r = spawnSync(requireBinary('nats-server'), ['-c', file, '-t'], {
    encoding: 'utf8',
    env: {
      ...process.env,
      VIDCHAT_AGENT_NATS_PASS: 'a',
      VIDCHAT_MIXER_NATS_PASS: 'm',
      VIDCHAT_GATEWAY_NATS_PASS: 'g',
      VIDCHAT_RECORDER_NATS_PASS: 'r',
    },
  });
  assert.equal(r.status, 0, r.stderr + r.stdout);
});
