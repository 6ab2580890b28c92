import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { resolve } from 'node:path';
import { describe, it } from 'node:test';
import { REPO_ROOT } from '@vidchat/test-support';

/*
 * Every command-line program, driven from its own `--help`, so that a flag
 * added tomorrow is covered without touching this file: for every flag that
 * takes a value, a missing value and a bad value (by the kind its
 * placeholder names) give exactly one line on stderr, nothing on stdout,
 * and exit code 2; the same bad value in the flag's environment variable
 * too. Switches reject a value that is not a boolean; unknown flags exit 2.
 * A bad value that is accepted by mistake would start the program: NATS
 * points at a closed port and each run has a deadline, so that shows up as
 * a clear failure, not a hang.
 */

interface Program {
  /** Name in messages, e.g. `vidchat-agent`. */
  name: string;
  app: 'capture-agent' | 'mixer' | 'gateway' | 'recorder';
  /** Arguments before the options (the gateway's `token` subcommand). */
  prefix: string[];
}

const PROGRAMS: Program[] = [
  { name: 'vidchat-agent', app: 'capture-agent', prefix: [] },
  { name: 'vidchat-mixer', app: 'mixer', prefix: [] },
  { name: 'vidchat-gateway', app: 'gateway', prefix: [] },
  { name: 'vidchat-gateway token', app: 'gateway', prefix: ['token'] },
  { name: 'vidchat-recorder', app: 'recorder', prefix: [] },
];

/**
 * Bad values per placeholder. Free-text placeholders (user, password, file,
 * path, secret) accept any text: only a missing value is wrong.
 * A placeholder missing from both lists fails the test: a new kind of value
 * needs a bad example here.
 */
const BAD_VALUES: Record<string, string[]> = {
  '<url>': ['http://example.com', 'nats://', 'nats://a,ftp://b'],
  // Empty comes second, so that it is given as `--flag=` (an empty environment variable means unset).
  '<n>': ['abc', '', '1.5e999'],
  '<id>': ['has space', 'a.b', '*', '-leading'],
  '<WxH>': ['640by360', '641x360', '99999x99999'],
  '<device|test|none>': ['bad device!', '', 'camera;rm -rf'],
  '<debug|info|warn|error|silent>': ['loud', 'INFO', 'verbose'],
  '<label>': ['x'.repeat(65), 'y'.repeat(100), 'z'.repeat(1000)],
  '"<args> -i <input>"': ['-f v4l2', '-i /dev/video0 -f mjpeg', '-i'],
  '<duration>': ['forever', '0s', '400d'],
  '<address>': ['bad host!', 'a b', 'host;rm'],
  '<off|self-signed>': ['on', 'selfsigned', 'yes'],
  // JetStream stream and bucket names: no dots, wildcards or spaces.
  '<name>': ['a.b', 'has space', 'x'.repeat(65)],
  '<ultrafast|superfast|veryfast|faster|fast|medium>': ['slow', 'placebo', 'FAST'],
};
const FREE_TEXT = new Set(['<user>', '<password>', '<file>', '<path>', '<secret>', '<text>', '<dir>']);

/** Nothing listens here: a program that starts by mistake cannot reach anything. */
const CLOSED_NATS = 'nats://127.0.0.1:1';
const RUN_DEADLINE_MS = 15_000;
const PARALLEL = 4;

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
  timedOut: boolean;
}

function run(p: Program, args: string[], env: NodeJS.ProcessEnv = {}): Promise<Run> {
  const main = resolve(REPO_ROOT, 'apps', p.app, 'dist', 'src', 'main.js');
  return new Promise((done) => {
    const child = execFile(
      process.execPath,
      [main, ...p.prefix, ...args],
      {
        cwd: REPO_ROOT,
        timeout: RUN_DEADLINE_MS,
        killSignal: 'SIGKILL',
        env: { PATH: process.env['PATH'], VIDCHAT_NATS_URL: CLOSED_NATS, ...env },
      },
      (err, stdout, stderr) => {
        const e = err as (Error & { killed?: boolean }) | null;
        done({ code: child.exitCode, stdout, stderr, timedOut: e?.killed === true });
      },
    );
  });
}

interface Flag {
  flag: string;
  placeholder: string | null;
  env: string;
}

/** Reads flags, placeholders and env vars from a program's `--help`. */
function parseHelp(text: string): Flag[] {
  const flags: Flag[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const m = /^ {2}--([a-z0-9-]+)(?: (<[^>]*>|"[^"]*"))?(?:\s|$)/.exec(lines[i]!);
    if (!m || m[1] === 'help') continue;
    const env = /^\s+env (\w+)/.exec(lines[i + 1] ?? '')?.[1];
    assert.ok(env, `--${m[1]} lists its environment variable on the next line`);
    flags.push({ flag: m[1]!, placeholder: m[2] ?? null, env });
  }
  return flags;
}

async function pool<T>(tasks: (() => Promise<T>)[], n: number): Promise<T[]> {
  const out: T[] = new Array<T>(tasks.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: n }, async () => {
      while (next < tasks.length) {
        const i = next++;
        out[i] = await tasks[i]!();
      }
    }),
  );
  return out;
}

/** One line on stderr naming the program, nothing on stdout, exit 2; returns a problem or null. */
function usageProblem(p: Program, what: string, r: Run, mustMention: string): string | null {
  const lines = r.stderr.split('\n').filter((l) => l !== '');
  if (r.timedOut) return `${what}: accepted (still running after ${RUN_DEADLINE_MS} ms)`;
  if (r.code !== 2) return `${what}: exit ${r.code}, want 2; stderr ${JSON.stringify(r.stderr.slice(0, 300))}`;
  if (lines.length !== 1)
    return `${what}: ${lines.length} lines on stderr, want 1: ${JSON.stringify(r.stderr.slice(0, 300))}`;
  if (r.stdout !== '') return `${what}: printed on stdout: ${JSON.stringify(r.stdout.slice(0, 200))}`;
  if (!lines[0]!.startsWith(`${p.name}: `)) return `${what}: line does not start with "${p.name}: ": ${lines[0]}`;
  if (!lines[0]!.includes(mustMention)) return `${what}: line does not name ${mustMention}: ${lines[0]}`;
  return null;
}

describe('command-line programs: bad values exit 2 with one line', { timeout: 240_000 }, () => {
  for (const p of PROGRAMS) {
    it(`${p.name}: every flag from --help`, { timeout: 200_000 }, async (t) => {
      const help = await run(p, ['--help']);
      assert.equal(help.code, 0, `${p.name} --help exits 0`);
      const flags = parseHelp(help.stdout);
      assert.ok(flags.length >= 3, `${p.name} --help lists its flags:\n${help.stdout}`);

      const cases: { what: string; args: string[]; env?: NodeJS.ProcessEnv; mention: string }[] = [
        { what: 'unknown flag --no-such-flag', args: ['--no-such-flag'], mention: '--no-such-flag' },
        { what: 'unknown flag --no-such-flag=1', args: ['--no-such-flag=1'], mention: '--no-such-flag' },
      ];
      const unknownPlaceholders: string[] = [];
      for (const f of flags) {
        if (f.placeholder === null) {
          cases.push({ what: `--${f.flag}=maybe`, args: [`--${f.flag}=maybe`], mention: `--${f.flag}` });
          cases.push({ what: `${f.env}=maybe`, args: [], env: { [f.env]: 'maybe' }, mention: f.env });
          continue;
        }
        cases.push({ what: `--${f.flag} without a value`, args: [`--${f.flag}`], mention: `--${f.flag}` });
        if (!cases.some((c) => c.what.endsWith('followed by another flag'))) {
          cases.push({
            what: `--${f.flag} followed by another flag`,
            args: [`--${f.flag}`, '--log-level', 'info'],
            mention: `--${f.flag}`,
          });
        }
        const bad = BAD_VALUES[f.placeholder];
        if (!bad) {
          if (!FREE_TEXT.has(f.placeholder)) unknownPlaceholders.push(`--${f.flag} ${f.placeholder}`);
          continue;
        }
        // Each bad value once, the three ways of giving it in turn: every way is
        // covered for every kind of value, at a third of the runs.
        for (const [i, v] of bad.entries()) {
          const form = v === '' && i % 3 === 2 ? 1 : i % 3;
          if (form === 0) {
            cases.push({ what: `--${f.flag} ${JSON.stringify(v)}`, args: [`--${f.flag}`, v], mention: `--${f.flag}` });
          } else if (form === 1) {
            cases.push({
              what: `--${f.flag}=${JSON.stringify(v)}`,
              args: [`--${f.flag}=${v}`],
              mention: `--${f.flag}`,
            });
          } else {
            cases.push({ what: `${f.env}=${JSON.stringify(v)}`, args: [], env: { [f.env]: v }, mention: f.env });
          }
        }
      }
      assert.deepEqual(unknownPlaceholders, [], 'every placeholder has bad examples in BAD_VALUES (or is free text)');

      const started = Date.now();
      const results = await pool(
        cases.map((c) => () => run(p, c.args, c.env)),
        PARALLEL,
      );
      const problems = results.map((r, i) => usageProblem(p, cases[i]!.what, r, cases[i]!.mention)).filter(Boolean);
      t.diagnostic(`${p.name}: ${flags.length} flags, ${cases.length} bad invocations in ${Date.now() - started} ms`);
      assert.deepEqual(problems, []);
    });
  }

  it('vidchat-gateway token: a bad or missing --room exits 2', { timeout: 30_000 }, async () => {
    const p = PROGRAMS[3]!;
    const problems = (
      await Promise.all(
        [['--room', 'a b'], ['--room'], ['--room=*']].map(async (args) =>
          usageProblem(p, args.join(' '), await run(p, [...args, '--viewer-secret', 's']), '--room'),
        ),
      )
    ).filter(Boolean);
    assert.deepEqual(problems, []);
  });
});
