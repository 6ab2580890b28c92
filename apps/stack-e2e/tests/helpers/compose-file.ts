import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { REPO_ROOT } from '@vidchat/test-support';

/* Reading a compose file the way `docker compose` would, for the tests that cannot run it. */

export interface Service {
  image?: string;
  build?: string | { context: string; target?: string; dockerfile?: string };
  command?: string[];
  entrypoint?: string[];
  environment?: Record<string, string | number | null>;
  ports?: string[];
  healthcheck?: { test: string[] };
  volumes?: string[];
  depends_on?: Record<string, { condition: string }>;
  hostname?: string;
}

export interface ComposeFile {
  text: string;
  services: Record<string, Service>;
  volumes?: Record<string, unknown>;
}

/** Parses a compose file of the repository, with YAML merge keys (`<<: *anchor`) resolved. */
export function readCompose(file: string): ComposeFile {
  const text = readFileSync(join(REPO_ROOT, file), 'utf8');
  const parsed = parse(text, { merge: true }) as Omit<ComposeFile, 'text'>;
  return { text, ...parsed };
}

/** Which program a service runs, from its image, its command or its image target. */
export function programOf(
  name: string,
  s: Service,
): 'gateway' | 'mixer' | 'recorder' | 'capture-agent' | 'nats' | 'proxy' {
  if (name === 'nats' || /^nats:\d/.test(s.image ?? '')) return 'nats';
  if (/^caddy:\d/.test(s.image ?? '')) return 'proxy';
  const cmd = (s.command ?? []).join(' ');
  if (cmd.includes('vidchat-gateway')) return 'gateway';
  if (cmd.includes('vidchat-mixer')) return 'mixer';
  if (cmd.includes('vidchat-recorder')) return 'recorder';
  const target = typeof s.build === 'object' ? s.build.target : undefined;
  if (target === 'agent') return 'capture-agent';
  throw new Error(`cannot tell which program service ${name} runs`);
}

/** The env vars a CLI documents in its --help. */
export function documentedEnv(app: 'gateway' | 'mixer' | 'recorder' | 'capture-agent'): Set<string> {
  const main = join(REPO_ROOT, 'apps', app, 'dist', 'src', 'main.js');
  const out = execFileSync(process.execPath, [main, '--help'], { encoding: 'utf8' });
  return new Set([...out.matchAll(/\benv (VIDCHAT_[A-Z0-9_]+)/g)].map((m) => m[1]!));
}
