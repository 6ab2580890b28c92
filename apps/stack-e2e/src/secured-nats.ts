import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO_ROOT, requireBinary, startProcess, type RunningProcess } from '@vidchat/test-support';

/*
 * The repository's own broker configuration (docker/nats.conf: users agent,
 * mixer and gateway with their permissions, passwords from the environment)
 * run by a real nats-server on free ports. The file says `port: 4222` and
 * `http_port: 8222`; nats-server 2.9 lets command-line flags override the
 * file, and `-1` asks for a free port, so the file is used unchanged:
 * `nats-server -c docker/nats.conf -a 127.0.0.1 -p -1 -m -1`, plus JetStream
 * in a temporary store folder (`-js -sd DIR`) as docker-compose.yml runs it,
 * for the recorder's object store bucket.
 */

export const NATS_CONF = join(REPO_ROOT, 'docker', 'nats.conf');

export interface NatsPasswords {
  agent: string;
  mixer: string;
  gateway: string;
  /** The recorder user's password; the recorder user cannot log in without one. */
  recorder?: string;
}

export interface SecuredNats {
  url: string;
  port: number;
  process: RunningProcess;
  stop(): Promise<void>;
}

export async function startSecuredNats(passwords: NatsPasswords): Promise<SecuredNats> {
  const storeDir = mkdtempSync(join(tmpdir(), 'vidchat-secured-js-'));
  const proc = startProcess(
    requireBinary('nats-server'),
    ['-c', NATS_CONF, '-a', '127.0.0.1', '-p', '-1', '-m', '-1', '-js', '-sd', storeDir],
    {
      // Only the passwords: the file reads nothing else from the environment.
      env: {
        VIDCHAT_AGENT_NATS_PASS: passwords.agent,
        VIDCHAT_MIXER_NATS_PASS: passwords.mixer,
        VIDCHAT_GATEWAY_NATS_PASS: passwords.gateway,
        // The file names every user's password variable: a suite without a recorder still needs one set.
        VIDCHAT_RECORDER_NATS_PASS: passwords.recorder ?? randomBytes(12).toString('hex'),
      },
    },
  );
  try {
    const m = await proc.waitForOutput(/Listening for client connections on 127\.0\.0\.1:(\d+)/, 10_000);
    await proc.waitForOutput(/Server is ready/, 10_000);
    const port = Number(m[1]);
    if (port === 4222)
      throw new Error('nats-server took the fixed port 4222 from docker/nats.conf: -p -1 did not override it');
    const stop = async (): Promise<void> => {
      await proc.stop();
      rmSync(storeDir, { recursive: true, force: true });
    };
    return { url: `nats://127.0.0.1:${port}`, port, process: proc, stop };
  } catch (err) {
    await proc.stop();
    rmSync(storeDir, { recursive: true, force: true });
    throw err;
  }
}
