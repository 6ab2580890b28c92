import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { NatsConnection } from '@nats-io/transport-node';
import type { Browser, Page } from 'playwright-core';
import { launchChromium, makeOpusTonePackets, SmallStack, toneAmplitude, waitFor } from '@vidchat/test-support';
import { publishSourceAudio } from './mix-publisher.js';

/*
 * Per-tile volume, in real headless Chromium against the real gateway, the
 * real mixer and a real nats-server: two audio-only sources publish real
 * Opus (ffmpeg's libopus) of a 440 Hz and a 660 Hz tone. "What the page
 * plays" is the output tap after every gain (`window.vidchat.audioTap`, the
 * AnalyserNode on the page's output bus), judged by the Goertzel amplitude
 * of each tone. With every tile at 100% the page plays the room mix (both
 * tones); muting one tile switches the page to per-source audio and removes
 * that tone while the other remains; 200% plays the other louder than 100%;
 * the settings survive a reload; "Reset volumes" goes back to the mix.
 * From a localhost origin (AudioWorklet) and from a plain-http LAN-style
 * name (ScriptProcessorNode fallback).
 */

const ROOM = 'volume-e2e';
const LAN_HOST = 'lan.test';
const LOW = { id: 'low', name: 'Low tone', hz: 440 };
const HIGH = { id: 'high', name: 'High tone', hz: 660 };

interface AudioView {
  enabled: boolean;
  playedMs: number;
  path: string | null;
  mode: 'mix' | 'sources';
  sources: Record<string, { playedMs: number; packetsDecoded: number; percent: number; muted: boolean }>;
  volumes: Record<string, { percent: number; muted: boolean }>;
}

async function audio(page: Page): Promise<AudioView | null> {
  return page.evaluate(() => {
    const w = window as unknown as { vidchat?: { audio: unknown } };
    return (w.vidchat?.audio ? JSON.parse(JSON.stringify(w.vidchat.audio)) : null) as AudioView | null;
  });
}

/** Hann-windowed copy: keeps a loud tone from leaking into the other's Goertzel bin. */
function hann(x: number[]): Float32Array {
  const n = x.length;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = (x[i] ?? 0) * 2 * (0.5 - 0.5 * Math.cos((2 * Math.PI * i) / (n - 1)));
  return out;
}

/**
 * The amplitude of each tone in what the page plays: the median over
 * `taps` windows of the output tap, 120 ms apart (about 1.5 s in all).
 */
async function tones(page: Page, taps = 12, pick: 'median' | 'max' = 'median'): Promise<{ low: number; high: number }> {
  const low: number[] = [];
  const high: number[] = [];
  for (let i = 0; i < taps; i++) {
    const samples = await page.evaluate(() => {
      const w = window as unknown as { vidchat?: { audioTap?: number[] | null } };
      return w.vidchat?.audioTap ?? null;
    });
    assert.ok(samples && samples.length >= 1024, 'the page exposes its output tap');
    const x = hann(samples);
    low.push(toneAmplitude(x, 48_000, LOW.hz));
    high.push(toneAmplitude(x, 48_000, HIGH.hz));
    await new Promise((r) => setTimeout(r, 120));
  }
  const median = (v: number[]): number => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)] ?? 0;
  // The loudest tap: an underrun on a starved machine only ever lowers a tap, never raises one.
  const of = pick === 'max' ? (v: number[]): number => Math.max(...v) : median;
  return { low: of(low), high: of(high) };
}

const fmt = (t: { low: number; high: number }): string => `440 Hz ${t.low.toFixed(4)}, 660 Hz ${t.high.toFixed(4)}`;

describe('per-tile volume and mute (Chromium, real gateway, mixer and NATS)', { timeout: 400_000 }, () => {
  let stack: SmallStack;
  let nc: NatsConnection;
  let browser: Browser;
  let port: number;
  const stops: (() => void)[] = [];

  before(async () => {
    stack = await SmallStack.start({ connect: true });
    ({ port } = await stack.gateway([], 30_000));
    await stack.mixer().waitForOutput(/mixer started/, 30_000);
    nc = stack.nc;
    browser = await launchChromium({ args: [`--host-resolver-rules=MAP ${LAN_HOST} 127.0.0.1`] });
    for (const s of [LOW, HIGH]) {
      stops.push(publishSourceAudio(nc, ROOM, s.id, s.name, await makeOpusTonePackets(s.hz, 4)));
    }
  });

  after(async () => {
    for (const stop of stops) stop();
    await browser?.close();
    await stack?.stop();
  });

  const origins = [
    { name: 'localhost (AudioWorklet)', host: '127.0.0.1', path: 'worklet' },
    { name: 'a LAN-style http name (ScriptProcessorNode)', host: LAN_HOST, path: 'script-processor' },
  ] as const;

  for (const origin of origins) {
    it(`mutes one tile, turns another up, remembers both, and resets to the mix, from ${origin.name}`, async (t) => {
      const context = await browser.newContext();
      const page = await context.newPage();
      const problems: string[] = [];
      page.on('pageerror', (err) => problems.push(err.message));
      page.on('console', (msg) => {
        if (msg.type() === 'error') problems.push(msg.text());
      });
      try {
        const url = `http://${origin.host}:${port}/?room=${ROOM}`;
        const start = async (): Promise<void> => {
          await page.goto(url);
          await page.getByRole('button', { name: 'Enable audio' }).click();
          // The mix, or (with volumes remembered from before) the sources' own streams.
          const played = (a: AudioView | null): number =>
            Math.max(a?.playedMs ?? 0, ...Object.values(a?.sources ?? {}).map((s) => s.playedMs));
          await waitFor(async () => played(await audio(page)) > 1_000, {
            timeoutMs: 30_000,
            what: 'a second of audio played',
          });
          await waitFor(async () => (await page.locator('.tile').count()) === 2, {
            timeoutMs: 30_000,
            what: 'two tiles',
          });
        };
        await start();
        const first = await audio(page);
        assert.equal(first?.path, origin.path);
        assert.equal(first?.mode, 'mix', 'every tile at 100%: the room mix');
        assert.deepEqual(first?.sources, {});

        // The room mix holds both tones.
        const mix = await waitFor(
          async () => {
            const m = await tones(page, 6);
            return m.low > 0.02 && m.high > 0.02 ? m : null;
          },
          { timeoutMs: 30_000, intervalMs: 200, what: 'both tones in the mix' },
        );

        // Mute the 440 Hz tile: per-source audio, and its tone is gone while the other plays on.
        await page.getByRole('button', { name: `Mute ${LOW.name}` }).click();
        await waitFor(
          async () => {
            const a = await audio(page);
            return a?.mode === 'sources' && (a.sources[HIGH.id]?.playedMs ?? 0) > 1_000;
          },
          { timeoutMs: 30_000, what: 'the high tone playing as its own stream' },
        );
        const muted = await waitFor(
          async () => {
            const m = await tones(page, 6);
            return m.low < mix.low * 0.15 && m.high > 0.02 ? m : null;
          },
          { timeoutMs: 20_000, intervalMs: 200, what: 'the low tone gone, the high one playing' },
        );
        const atFull = await tones(page, 12, 'max');
        assert.ok(atFull.low < mix.low * 0.15, `muted tile silent: ${fmt(atFull)} (mix ${fmt(mix)})`);
        assert.ok(atFull.high > mix.high * 0.5, `the other tile plays on: ${fmt(atFull)} (mix ${fmt(mix)})`);
        const sources = (await audio(page))?.sources ?? {};
        assert.deepEqual(Object.keys(sources).sort(), [HIGH.id, LOW.id].sort(), 'one stream per source');

        // 200% plays louder than 100%.
        await page.getByRole('slider', { name: `Volume of ${HIGH.name}` }).fill('200');
        const loud = await waitFor(
          async () => {
            const m = await tones(page, 6);
            return m.high > atFull.high * 1.5 ? m : null;
          },
          { timeoutMs: 20_000, intervalMs: 200, what: 'the high tone louder at 200%' },
        );
        const at200 = await tones(page, 12, 'max');
        const ratio = at200.high / atFull.high;
        assert.ok(ratio > 1.6 && ratio < 2.5, `200% vs 100%: ${ratio.toFixed(2)}x (${fmt(at200)} vs ${fmt(atFull)})`);
        assert.ok(at200.low < mix.low * 0.15, 'the muted tile stays silent');

        // Remembered per source: after a reload the same settings, and per-source audio again.
        await start();
        const back = await waitFor(
          async () => {
            const a = await audio(page);
            return a?.mode === 'sources' && (a.sources[HIGH.id]?.playedMs ?? 0) > 1_000 ? a : null;
          },
          { timeoutMs: 30_000, what: 'per-source audio after the reload' },
        );
        assert.deepEqual(back.volumes[LOW.id], { percent: 100, muted: true });
        assert.deepEqual(back.volumes[HIGH.id], { percent: 200, muted: false });
        assert.equal(await page.getByRole('slider', { name: `Volume of ${HIGH.name}` }).inputValue(), '200');
        const reloaded = await waitFor(
          async () => {
            const m = await tones(page, 6);
            return m.low < mix.low * 0.15 && m.high > atFull.high * 1.5 ? m : null;
          },
          { timeoutMs: 20_000, intervalMs: 200, what: 'the remembered volumes heard after the reload' },
        );

        // Reset: every tile at 100%, back to the room mix with both tones.
        await page.getByRole('button', { name: 'Reset volumes' }).click();
        await waitFor(async () => (await audio(page))?.mode === 'mix', { timeoutMs: 10_000, what: 'the mix mode' });
        const reset = await waitFor(
          async () => {
            const m = await tones(page, 6);
            return m.low > mix.low * 0.5 && m.high > mix.high * 0.5 && m.high < mix.high * 1.5 ? m : null;
          },
          { timeoutMs: 20_000, intervalMs: 200, what: 'both tones from the mix again' },
        );
        const after = await audio(page);
        assert.deepEqual(after?.sources, {}, 'the per-source streams closed');
        assert.equal(await page.getByRole('button', { name: 'Reset volumes' }).isVisible(), false);
        const stored = await page.evaluate(() =>
          Object.keys(localStorage).filter((k) => k.startsWith('vidchat.volume.')),
        );
        assert.deepEqual(stored, [], 'nothing remembered for tiles at 100%');
        t.diagnostic(
          `${origin.path}: mix ${fmt(mix)}; low muted ${fmt(muted)} / ${fmt(atFull)}; high at 200% ${fmt(loud)} / ` +
            `${fmt(at200)} (${ratio.toFixed(2)}x); after reload ${fmt(reloaded)}; reset ${fmt(reset)}`,
        );
        assert.deepEqual(problems, []);
      } finally {
        await context.close();
      }
    });
  }
});
