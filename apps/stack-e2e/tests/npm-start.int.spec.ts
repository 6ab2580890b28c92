import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { freePort, REPO_ROOT, sleep, waitFor } from '@vidchat/test-support';

/*
 * `npm start` as a person runs it: from the repository root, then one
 * Ctrl-C. The child runs in its own process group and gets SIGINT on the
 * whole group, which is what a terminal's Ctrl-C does.
 */

/** Every live descendant of `pid`, from /proc. */
function descendants(pid: number): number[] {
  const parent = new Map<number, number>();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      // The command name may contain spaces; fields after the last ')' are fixed.
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      parent.set(Number(name), Number(fields[1]));
    } catch {
      // The process ended while we looked.
    }
  }
  const out: number[] = [];
  const queue = [pid];
  while (queue.length) {
    const p = queue.shift()!;
    for (const [child, pp] of parent) {
      if (pp === p) {
        out.push(child);
        queue.push(child);
      }
    }
  }
  return out;
}

function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}

test(
  'npm start brings up two live demo sources and one Ctrl-C leaves nothing behind',
  { timeout: 300_000 },
  async () => {
    const port = await freePort();
    const env: NodeJS.ProcessEnv = { ...process.env, VIDCHAT_PORT: String(port) };
    delete env['VIDCHAT_NATS_URL'];
    const npm = spawn('npm', ['start'], { cwd: REPO_ROOT, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    npm.stdout.on('data', (d: Buffer) => (output += d.toString()));
    npm.stderr.on('data', (d: Buffer) => (output += d.toString()));
    const exited = new Promise<number | null>((resolve) => npm.once('exit', (code) => resolve(code)));
    const seen = new Set<number>();
    try {
      await waitFor(() => output.includes('vidchat is up'), { timeoutMs: 240_000, what: '"vidchat is up"' }).catch(
        (err: Error) => {
          throw new Error(`${err.message}\n--- npm start output ---\n${output.slice(-4000)}`);
        },
      );
      assert.match(output, new RegExp(`http://localhost:${port}/\\?room=demo`));

      const sources = await waitFor(
        async () => {
          const res = await fetch(`http://127.0.0.1:${port}/api/rooms`);
          const body = (await res.json()) as unknown;
          const rooms = (Array.isArray(body) ? body : (body as { rooms: unknown[] }).rooms) as {
            room?: string;
            id?: string;
            sources: ({ id: string } | string)[];
          }[];
          const demo = rooms.find((r) => (r.room ?? r.id) === 'demo');
          const ids = (demo?.sources ?? []).map((s) => (typeof s === 'string' ? s : s.id)).sort();
          return ids.length === 2 ? ids : null;
        },
        { timeoutMs: 20_000, what: 'two demo sources in /api/rooms' },
      );
      assert.deepEqual(sources, ['demo1', 'demo2']);
      // The recorder runs too, with its bucket on the local broker's JetStream.
      await waitFor(() => /\[recorder\] .*\[main\] ready/.test(output), {
        timeoutMs: 30_000,
        what: 'the recorder to be ready',
      }).catch((err: Error) => {
        throw new Error(`${err.message}\n--- npm start output ---\n${output.slice(-4000)}`);
      });

      for (const p of descendants(npm.pid!)) seen.add(p);
      // nats-server, gateway, mixer, recorder, two agents, and their ffmpeg processes.
      assert.ok(seen.size >= 5, `expected the whole stack under npm start, found ${seen.size} processes`);

      process.kill(-npm.pid!, 'SIGINT');
      const code = await Promise.race([exited, sleep(15_000).then(() => 'timeout' as const)]);
      assert.notEqual(code, 'timeout', `npm start did not exit within 15 s of Ctrl-C:\n${output.slice(-3000)}`);
      await sleep(500);
      const left = [...seen].filter(alive);
      assert.deepEqual(left, [], `processes left behind: ${left.join(', ')}`);
    } finally {
      for (const p of [npm.pid!, ...seen]) {
        try {
          process.kill(p, 'SIGKILL');
        } catch {
          // Already gone.
        }
      }
    }
  },
);
