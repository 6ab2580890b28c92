import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT, requireBinary } from '@vidchat/test-support';
import { documentedEnv, programOf, readCompose, type Service } from './helpers/compose-file.js';

/*
 * docker-compose.scale.yml, read without a Docker engine (see
 * compose.int.spec.ts): three NATS nodes in one cluster with JetStream, two
 * gateways behind a reverse proxy that carries WebSockets, two mixers with
 * their own instance ids and replicated leases, healthchecks; the NATS
 * config every node mounts passes `nats-server -t` for each node's name,
 * with route authorization and the route URLs (credentials included) from
 * the compose file.
 */
const compose = readCompose('docker-compose.scale.yml');
const byProgram = (p: ReturnType<typeof programOf>): [string, Service][] =>
  Object.entries(compose.services).filter(([n, s]) => programOf(n, s) === p);

test('three NATS nodes, two gateways, a proxy, two mixers, two demo agents', () => {
  assert.equal(byProgram('nats').length, 3);
  assert.equal(byProgram('gateway').length, 2);
  assert.equal(byProgram('mixer').length, 2);
  assert.equal(byProgram('proxy').length, 1);
  assert.equal(byProgram('recorder').length, 2);
  assert.ok(byProgram('capture-agent').length >= 2);
});

test('every program gets all three nodes in VIDCHAT_NATS_URL', () => {
  const nodes = byProgram('nats').map(([n, s]) => s.hostname ?? n);
  for (const [name, s] of Object.entries(compose.services)) {
    const program = programOf(name, s);
    if (program === 'nats' || program === 'proxy') continue;
    const urls = String(s.environment?.['VIDCHAT_NATS_URL'] ?? '').split(',');
    assert.deepEqual(
      urls.map((u) => new URL(u).hostname).sort(),
      [...nodes].sort(),
      `${name}: VIDCHAT_NATS_URL names every node`,
    );
  }
});

test('every VIDCHAT_* variable is documented by its CLI; mixers have ids and replicated leases', () => {
  for (const [name, s] of Object.entries(compose.services)) {
    const program = programOf(name, s);
    if (program === 'nats' || program === 'proxy') continue;
    const documented = documentedEnv(program);
    for (const key of Object.keys(s.environment ?? {})) {
      if (key.startsWith('VIDCHAT_')) assert.ok(documented.has(key), `${name}: ${key} is not an env var of ${program}`);
    }
    if (typeof s.command?.[0] === 'string') assert.ok(existsSync(join(REPO_ROOT, s.command[0])));
  }
  const mixers = byProgram('mixer');
  const ids = mixers.map(([, s]) => s.environment?.['VIDCHAT_MIXER_INSTANCE_ID']);
  assert.equal(new Set(ids).size, mixers.length, 'distinct mixer instance ids');
  for (const [name, s] of mixers) assert.equal(s.environment?.['VIDCHAT_MIXER_LEASE_REPLICAS'], '3', name);
  // Recorders recover what a killed predecessor left in their work folder: one folder each.
  const work = byProgram('recorder').map(([, s]) => s.volumes?.find((v) => v.endsWith(':/work')));
  assert.ok(work.every(Boolean), 'every recorder mounts a work folder');
  assert.equal(new Set(work).size, work.length, 'distinct recorder work folders');
});

test('healthchecks and start order: nodes healthy with JetStream, gateways healthy before the proxy', () => {
  for (const [name, s] of byProgram('nats')) {
    assert.match(s.healthcheck?.test.join(' ') ?? '', /healthz\?js-enabled-only=true/, `${name} healthcheck`);
    assert.ok(
      s.volumes?.some((v) => v.endsWith(':/data')),
      `${name} keeps its JetStream store in a volume`,
    );
  }
  for (const [name, s] of [...byProgram('gateway'), ...byProgram('mixer')]) {
    for (const [node] of byProgram('nats')) {
      assert.equal(s.depends_on?.[node]?.condition, 'service_healthy', `${name} waits for ${node}`);
    }
  }
  for (const [name, s] of byProgram('gateway')) {
    assert.ok(s.healthcheck?.test.join(' ').includes('/healthz'), `${name} healthcheck`);
  }
  const [[, proxy]] = byProgram('proxy') as [[string, Service]];
  assert.ok(proxy.healthcheck, 'proxy healthcheck');
  for (const [name] of byProgram('gateway')) {
    assert.equal(proxy.depends_on?.[name]?.condition, 'service_healthy', `proxy waits for ${name}`);
  }
});

test('the Caddyfile proxies to both gateways, checks their health and can serve a TLS site address', () => {
  const [[, proxy]] = byProgram('proxy') as [[string, Service]];
  const mount = proxy.volumes?.find((v) => v.includes('Caddyfile'));
  assert.ok(mount);
  const caddyfile = readFileSync(join(REPO_ROOT, mount.split(':')[0]!), 'utf8');
  const gateways = byProgram('gateway').map(([n]) => `${n}:8080`);
  const upstreams =
    caddyfile
      .match(/^\s*reverse_proxy\s+([^{\n]+)\{/m)?.[1]
      ?.trim()
      .split(/\s+/) ?? [];
  assert.deepEqual(upstreams.sort(), gateways.sort(), 'reverse_proxy names both gateways');
  assert.match(caddyfile, /health_uri \/healthz/);
  assert.match(caddyfile, /\{\$VIDCHAT_SITE_ADDRESS::80\}/, 'site address from the environment, :80 by default');
  assert.ok(
    proxy.ports?.some((p) => p.endsWith(':443')),
    'a TLS port is published',
  );
});

test('the cluster config has the same users and permissions as the single-node one', () => {
  const block = (file: string): string => {
    const text = readFileSync(join(REPO_ROOT, file), 'utf8');
    // The top-level block (the cluster block of nats-scale.conf has its own, for routes).
    const at = text.search(/^authorization \{/m);
    assert.ok(at >= 0, `${file} has a top-level authorization block`);
    return text.slice(at);
  };
  assert.equal(block('docker/nats-scale.conf'), block('docker/nats.conf'));
});

/** A compose value with `${VAR:-default}` taken as its default, as compose does when VAR is unset. */
function composeValue(v: unknown): string {
  return String(v ?? '').replace(/\$\{[A-Z0-9_]+:-([^}]*)\}/g, '$1');
}

test('every node accepts the cluster config (nats-server -t), one file for all', () => {
  const nats = requireBinary('nats-server');
  for (const [name, s] of byProgram('nats')) {
    const mount = s.volumes?.find((v) => v.includes('nats.conf'));
    assert.ok(mount, `${name} mounts a nats.conf`);
    const file = join(REPO_ROOT, mount.split(':')[0]!);
    const text = readFileSync(file, 'utf8');
    assert.match(text, /jetstream\s*\{/);
    const env = s.environment ?? {};
    assert.ok(env['NATS_SERVER_NAME'], `${name} has a server name`);
    // Routes log in: the cluster checks a user and password, and every route URL carries them.
    assert.match(
      text,
      /cluster\s*\{[^}]*authorization\s*\{\s*user: \$NATS_CLUSTER_USER\s+password: \$NATS_CLUSTER_PASS/,
    );
    const routeEnv: Record<string, string> = {};
    for (const [i, [node]] of byProgram('nats').entries()) {
      const v = `NATS_ROUTE_${i + 1}`;
      assert.ok(text.includes(`$${v}`), `the config routes to $${v}`);
      const url = new URL(composeValue(env[v]));
      assert.equal(url.protocol, 'nats-route:');
      assert.equal(`${url.hostname}:${url.port}`, `${node}:6222`, `${name}: ${v} is the route to ${node}`);
      assert.equal(url.username, composeValue(env['NATS_CLUSTER_USER']), `${name}: ${v} logs in as the route user`);
      assert.equal(url.password, composeValue(env['NATS_CLUSTER_PASS']), `${name}: ${v} carries the route password`);
      routeEnv[v] = composeValue(env[v]);
    }
    const r = spawnSync(nats, ['-c', file, '-t'], {
      encoding: 'utf8',
      env: {
        ...process.env,
        ...routeEnv,
        NATS_CLUSTER_USER: composeValue(env['NATS_CLUSTER_USER']),
        NATS_CLUSTER_PASS: composeValue(env['NATS_CLUSTER_PASS']),
        NATS_SERVER_NAME: String(env['NATS_SERVER_NAME']),
        VIDCHAT_AGENT_NATS_PASS: 'a',
        VIDCHAT_MIXER_NATS_PASS: 'm',
        VIDCHAT_GATEWAY_NATS_PASS: 'g',
        VIDCHAT_RECORDER_NATS_PASS: 'r',
      },
    });
    assert.equal(r.status, 0, r.stderr + r.stdout);
  }
});
