import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { NatsConnection } from '@nats-io/transport-node';
import type { Browser } from 'playwright-core';
import { launchChromium, makeOpusTonePackets, SmallStack, toneAmplitude, waitFor } from '@vidchat/test-support';
import { publishMix } from './mix-publisher.js';
import { hooks, watchConsole } from './support/page-hooks.js';
import { installPlayedAudioTap, takePlayedAudio } from './support/played-audio.js';

/*
 * The mix plays over https from a name that is not localhost, as from
 * another machine on the LAN: the gateway serves TLS with a certificate the
 * test makes (openssl, self-signed, for the name), Chromium maps the name to
 * 127.0.0.1 and accepts the certificate (--ignore-certificate-errors, as a
 * person accepting it once would). The page is a secure context, so the
 * AudioWorklet plays; what it played is recorded and must hold the mix's
 * 440 Hz tone and not a tone that is not in the mix.
 */

const ROOM = 'audio-https-e2e';
const HOST = 'vidchat-lan.test';

describe(
  'viewer audio over https from a non-localhost name (Chromium, real gateway, real NATS)',
  { timeout: 180_000 },
  () => {
    let stack: SmallStack;
    let nc: NatsConnection;
    let browser: Browser;
    let port: string;
    let stopMix: () => void = () => {};

    before(async () => {
      stack = await SmallStack.start({ connect: true });
      nc = stack.nc;
      const dir = stack.tempDir('vidchat-https-');
      const key = join(dir, 'key.pem');
      const cert = join(dir, 'cert.pem');
      try {
        execFileSync(
          'openssl',
          [
            ...['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1'],
            ...['-keyout', key, '-out', cert, '-subj', `/CN=${HOST}`, '-addext', `subjectAltName=DNS:${HOST}`],
          ],
          { stdio: 'pipe' },
        );
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT')
          throw new Error('openssl not found: this test makes its certificate with it (apt-get install openssl)');
        throw err;
      }
      const gateway = stack.app('gateway', ['--port', '0', '--tls-port', '0', '--tls-cert', cert, '--tls-key', key]);
      port = (await gateway.waitForOutput(/secure viewer at https:\/\/\S+?:(\d+)/, 30_000))[1] ?? '';
      browser = await launchChromium({
        args: [`--host-resolver-rules=MAP ${HOST} 127.0.0.1`, '--ignore-certificate-errors'],
      });
      stopMix = publishMix(nc, ROOM, await makeOpusTonePackets(440, 4));
    });

    after(async () => {
      stopMix();
      await browser?.close();
      await stack?.stop();
    });

    it('plays the mix through the AudioWorklet, and the tone is in what it plays', { timeout: 120_000 }, async (t) => {
      const page = await browser.newPage();
      const problems = watchConsole(page);
      await installPlayedAudioTap(page);
      try {
        await page.goto(`https://${HOST}:${port}/?room=${ROOM}`);
        assert.equal(new URL(page.url()).protocol, 'https:');
        assert.deepEqual(
          await page.evaluate(() => [window.isSecureContext, 'audioWorklet' in BaseAudioContext.prototype]),
          [true, true],
        );
        await page.getByRole('button', { name: 'Enable audio' }).click();
        const a = await waitFor(
          async () => {
            const audio = (await hooks(page))?.audio as {
              playedMs: number;
              path: string | null;
              error: unknown;
            } | null;
            return audio && audio.playedMs > 3_000 ? audio : null;
          },
          { timeoutMs: 30_000, what: 'three seconds of audio played' },
        );
        assert.equal(a.path, 'worklet');
        assert.equal(a.error, null);
        const pcm = await takePlayedAudio(page);
        // The last two seconds recorded, in 200 ms windows: the tone, and nothing at 1 kHz. The
        // loudest window, since a starved machine can leave underruns (silence) in some of them.
        const tail = pcm.subarray(Math.max(0, pcm.length - 2 * 48_000));
        let tone = 0;
        let other = 0;
        for (let i = 0; i + 9_600 <= tail.length; i += 9_600) {
          const w = tail.subarray(i, i + 9_600);
          const amp = toneAmplitude(w, 48_000, 440);
          if (amp > tone) [tone, other] = [amp, toneAmplitude(w, 48_000, 1_000)];
        }
        t.diagnostic(
          `played ${Math.round(a.playedMs)} ms; 440 Hz amplitude ${tone.toFixed(3)}, 1 kHz ${other.toFixed(4)}`,
        );
        assert.ok(tone > 0.02, `440 Hz amplitude ${tone}`);
        assert.ok(other < tone / 10, `1 kHz amplitude ${other}`);
        assert.deepEqual(problems, []);
      } finally {
        await page.close();
      }
    });
  },
);
