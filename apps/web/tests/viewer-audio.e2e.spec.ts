import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { NatsConnection } from '@nats-io/transport-node';
import type { Browser, Page } from 'playwright-core';
import { launchChromium, makeOpusTonePackets, SmallStack, waitFor } from '@vidchat/test-support';
import { publishMix } from './mix-publisher.js';

/*
 * The mix plays from every origin, in real headless Chromium against the
 * real gateway and nats-server, with real Opus made by ffmpeg:
 * - `http://127.0.0.1` is a secure context: the AudioWorklet plays;
 * - `http://lan.test` (mapped to 127.0.0.1 by a host-resolver rule, so it is
 *   a plain-http non-localhost origin, like a LAN address) is not: no
 *   AudioWorklet, no WebCodecs, and the ScriptProcessorNode fallback plays.
 * "Plays" is judged on what the output path rendered (its played-samples
 * counter) and on an AnalyserNode tap after it (non-silent level), not on
 * decoding alone. A page whose main thread was blocked for 3 s must be back
 * at its usual playout depth within two seconds, not playing the backlog.
 */

const ROOM = 'audio-e2e';
const LAN_HOST = 'lan.test';

interface Audio {
  enabled: boolean;
  path: 'worklet' | 'script-processor' | null;
  error: { code: string; message: string } | null;
  packetsDecoded: number;
  packetsStale: number;
  packetsLost: number;
  framesConcealed: number;
  underruns: number;
  skippedSamples: number;
  playedMs: number;
  bufferedMs: number;
  playoutDelayP50Ms: number;
  playoutDelayP99Ms: number;
  outputLevelDbfs: number | null;
  lipSyncDelayMs: number | null;
}

/** The page's audio delay and a tile's last drawn frame's delay (both capture → now, ms). */
async function syncSample(page: Page, source: string): Promise<{ audioMs: number | null; videoMs: number | null }> {
  return page.evaluate((src) => {
    const w = window as unknown as {
      vidchat?: {
        audio: { lipSyncDelayMs: number | null } | null;
        tiles: Record<string, { latencyMs: number | null }>;
      };
    };
    return { audioMs: w.vidchat?.audio?.lipSyncDelayMs ?? null, videoMs: w.vidchat?.tiles[src]?.latencyMs ?? null };
  }, source);
}

async function audio(page: Page): Promise<Audio | null> {
  return page.evaluate(() => {
    const w = window as unknown as { vidchat?: { audio: unknown } };
    return (w.vidchat?.audio ? JSON.parse(JSON.stringify(w.vidchat.audio)) : null) as Audio | null;
  });
}

describe('viewer audio on every origin (Chromium, real gateway, real NATS)', { timeout: 240_000 }, () => {
  let stack: SmallStack;
  let nc: NatsConnection;
  let browser: Browser;
  let port: number;
  let stopMix: () => void = () => {};

  before(async () => {
    stack = await SmallStack.start({ connect: true });
    ({ port } = await stack.gateway([], 30_000));
    nc = stack.nc;
    browser = await launchChromium({ args: [`--host-resolver-rules=MAP ${LAN_HOST} 127.0.0.1`] });
    // A tone rich enough to measure: 4 s looped, real Opus from ffmpeg.
    stopMix = publishMix(nc, ROOM, await makeOpusTonePackets(440, 4));
  });

  after(async () => {
    stopMix();
    await browser?.close();
    await stack?.stop();
  });

  const origins = [
    { name: 'localhost (secure: AudioWorklet)', host: '127.0.0.1', secure: true, path: 'worklet' },
    {
      name: 'a LAN-style http name (not secure: ScriptProcessorNode)',
      host: LAN_HOST,
      secure: false,
      path: 'script-processor',
    },
  ] as const;

  for (const origin of origins) {
    it(
      `decodes and plays the mix from ${origin.name}, and recovers from a blocked main thread`,
      { timeout: 120_000 },
      async (t) => {
        const page = await browser.newPage();
        const problems: string[] = [];
        page.on('pageerror', (err) => problems.push(err.message));
        page.on('console', (msg) => {
          if (msg.type() === 'error') problems.push(msg.text());
        });
        await page.goto(`http://${origin.host}:${port}/?room=${ROOM}`);
        const secure = await page.evaluate(() => [
          window.isSecureContext,
          'audioWorklet' in BaseAudioContext.prototype,
        ]);
        assert.deepEqual(secure, [origin.secure, origin.secure], 'secure context and AudioWorklet go together');

        await page.getByRole('button', { name: 'Enable audio' }).click();
        const started = await waitFor(
          async () => {
            const a = await audio(page);
            return a?.enabled && a.playedMs > 1_000 ? a : null;
          },
          { timeoutMs: 20_000, what: 'a second of audio played by the output path' },
        );
        assert.equal(started.path, origin.path);
        assert.equal(started.error, null);
        assert.equal(await page.getByRole('button', { name: 'Mute' }).count(), 1);
        assert.equal(await page.locator('#audio-note').isVisible(), false);
        // The tap after the output node hears the tone (a -21 dBFS sine; silence reads -Infinity, i.e. null in JSON).
        const loud = await waitFor(
          async () => {
            const a = await audio(page);
            return a && a.outputLevelDbfs !== null && a.outputLevelDbfs > -40 ? a : null;
          },
          { timeoutMs: 10_000, what: 'a non-silent output level' },
        );
        assert.ok(loud.packetsDecoded > 40);
        // Steady playout: the depth the page plays at, sampled for a second.
        const usual: number[] = [];
        for (let i = 0; i < 5; i++) {
          usual.push((await audio(page))?.bufferedMs ?? 0);
          await new Promise((r) => setTimeout(r, 200));
        }
        // The median: on a loaded machine one sample can catch a burst that the buffer is about to skip.
        const usualMedian = [...usual].sort((a, b) => a - b)[Math.floor(usual.length / 2)] ?? 0;
        assert.ok(usualMedian < 200, `usual depth ${usual.join(', ')} ms`);

        // Block the page's main thread for 3 s: the mix keeps arriving at the socket meanwhile.
        const before = await audio(page);
        await page.evaluate(() => {
          const end = Date.now() + 3_000;
          while (Date.now() < end) {
            // busy: no task, no message, no audio callback on this thread runs
          }
        });
        const blockedAt = Date.now();
        const afterBlock = await audio(page);
        // Within two seconds the page plays (a further 300 ms of audio) at its usual depth again, having
        // dropped the stale backlog instead of playing it.
        const recovered = await waitFor(
          async () => {
            const a = await audio(page);
            if (!a || a.playedMs < (afterBlock?.playedMs ?? 0) + 300) return null;
            return a.bufferedMs <= Math.max(usualMedian, 100) + 40 ? a : null;
          },
          { timeoutMs: 10_000, intervalMs: 50, what: 'the usual playout depth after the block' },
        );
        const tookMs = Date.now() - blockedAt;
        assert.ok(tookMs < 2_000, `back to the usual depth after ${tookMs} ms`);
        assert.ok(recovered.packetsStale > (before?.packetsStale ?? 0), 'the stale backlog was dropped on arrival');
        t.diagnostic(
          `${origin.path}: usual depth ${usual.map(Math.round).join('/')} ms, playout p50/p99 ` +
            `${Math.round(started.playoutDelayP50Ms)}/${Math.round(started.playoutDelayP99Ms)} ms, ${before?.underruns} underruns, level ${loud.outputLevelDbfs?.toFixed(1)} dBFS; ` +
            `after the 3 s block: ${recovered.packetsStale - (before?.packetsStale ?? 0)} stale packets dropped, ` +
            `depth ${Math.round(recovered.bufferedMs)} ms after ${tookMs} ms`,
        );
        await new Promise((r) => setTimeout(r, 1_000));
        const later = await audio(page);
        assert.ok((later?.playedMs ?? 0) > recovered.playedMs + 500, 'and it keeps playing');
        assert.deepEqual(problems, []);
        await page.close();
      },
    );
  }

  it('holds video back by the audio delay once audio plays (lip sync)', { timeout: 90_000 }, async (t) => {
    const agent = stack.agent({ room: ROOM, source: 'cam1', name: 'Sync', fps: 15 });
    const page = await browser.newPage();
    try {
      await page.goto(`http://127.0.0.1:${port}/?room=${ROOM}`);
      const before = await waitFor(
        async () => {
          const s = await syncSample(page, 'cam1');
          return s.videoMs !== null ? s : null;
        },
        { timeoutMs: 30_000, what: 'cam1 frames' },
      );
      assert.equal(before.audioMs, null, 'no audio yet: frames are shown as they come');
      await page.getByRole('button', { name: 'Enable audio' }).click();
      // Three seconds: the audio hold (for a picture later than the sound) changes at most once a second.
      await waitFor(async () => ((await audio(page))?.playedMs ?? 0) > 3_000, { timeoutMs: 20_000, what: 'audio' });
      // Drawn frames now lag their capture by what the audio lags its own: sampled over two seconds.
      const offsets: number[] = [];
      const audioDelays: number[] = [];
      for (let i = 0; i < 20; i++) {
        const s = await syncSample(page, 'cam1');
        if (s.audioMs !== null && s.videoMs !== null) {
          offsets.push(s.videoMs - s.audioMs);
          audioDelays.push(s.audioMs);
        }
        await new Promise((r) => setTimeout(r, 100));
      }
      offsets.sort((a, b) => a - b);
      const mid = offsets[Math.floor(offsets.length / 2)] ?? NaN;
      t.diagnostic(
        `audio heard ${Math.round(audioDelays[0] ?? NaN)} ms after capture; video − audio offset p50 ${Math.round(mid)} ms over ${offsets.length} samples; first frame before audio drawn ${Math.round(before.videoMs ?? NaN)} ms after capture`,
      );
      assert.ok(offsets.length >= 10);
      // Within ±40 ms either way: video waits for slower audio, and audio (up to 300 ms) for slower video.
      assert.ok(mid > -40 && mid < 40, `video − audio offset p50 ${mid} ms`);
    } finally {
      await page.close();
      await agent.stop();
    }
  });
});
