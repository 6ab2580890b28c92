// Mouth to ear and lip sync, as a viewer gets them: a capture agent runs the
// sync test (`--video test --audio test`: a white flash and a beep at each
// whole second of capture time) through the real mixer and gateway into
// headless Chromium.
// - Mouth to ear: audio capture time (the sample's, stamped by the agent's
//   ffmpeg) → the moment the page's output plays it (the player's play
//   clock: the capture time of the sample rendered at an AudioContext time,
//   mapped to the wall clock by getOutputTimestamp), p50/p99, sampled every
//   20 ms. Baseline in the same run: capture → the mixed packet's arrival at
//   a NATS subscriber on this machine (what the page adds is the rest).
// - A/V offset: a flash frame captured at k + φ painted at P is seen for
//   instant k at P − φ; the beep captured at k is heard at the play clock's
//   time for k. Offset = seen − heard, p50 over every flash frame. Baseline
//   in the same run: picture ready (decoded) − audio heard for the same
//   capture instant, the offset a page drawing frames as they are decoded
//   would show.
// Two cases: as is, and with the page's video messages delayed by 200 ms (an
// init script; the picture is then the later path and the audio waits).
//
//   node bench/av-sync.bench.mjs [--quick]
/* global window, WebSocket -- evaluated inside the viewer page. */
import { connect } from '@nats-io/transport-node';
import { decodeEnvelope, mixAudioSubject } from '@vidchat/protocol';
import { launchChromium, startApp } from '@vidchat/test-support';
import { startHarness } from './lib/harness.mjs';
import { sleep, withTimeout } from './lib/procs.mjs';
import { round } from './lib/stats.mjs';
import { startTarget } from './lib/targets.mjs';
import { markdownTable } from './lib/table.mjs';
import { runStandalone } from './lib/cli.mjs';

const FULL = { windowS: 15 };
const QUICK = { windowS: 6 };
const CASES = [
  { name: 'as is', slowMs: 0 },
  { name: 'picture 200 ms later (video messages delayed in the page)', slowMs: 200 },
];

function pct(values, p) {
  const s = [...values].sort((a, b) => a - b);
  if (s.length === 0) return NaN;
  return s[Math.min(s.length - 1, Math.floor(p * s.length))];
}

/** In the page, before its scripts: video envelopes (kind byte 1 at offset 3) reach the page `ms` later. */
function delayVideoMessages(ms) {
  const desc = Object.getOwnPropertyDescriptor(WebSocket.prototype, 'onmessage');
  Object.defineProperty(WebSocket.prototype, 'onmessage', {
    configurable: true,
    get() {
      return desc.get.call(this);
    },
    set(fn) {
      desc.set.call(
        this,
        fn &&
          ((ev) => {
            const d = ev.data;
            if (d instanceof ArrayBuffer && d.byteLength > 3 && new Uint8Array(d)[3] === 1) {
              setTimeout(() => fn.call(this, ev), ms);
            } else fn.call(this, ev);
          }),
      );
    },
  });
}

/** In the page: frames painted (with the play clock then) and the play clock every 20 ms. */
function collect(src) {
  const w = window;
  w.avFrames = [];
  w.avAudio = [];
  let lastDrawn = 0;
  let lastAudio = 0;
  setInterval(() => {
    const tile = w.vidchat.tiles[src];
    const a = w.vidchat.audio;
    if (!tile || !a?.heard) return;
    const now = Date.now();
    if (tile.lastDrawnAt !== lastDrawn) {
      lastDrawn = tile.lastDrawnAt;
      w.avFrames.push({
        frameUs: tile.lastCaptureTimeUs,
        paintedAt: tile.lastDrawnAt,
        heardUs: a.heard.captureTimeUs,
        heardAt: a.heard.atMs,
        videoDelayMs: a.videoDelayMs,
      });
    }
    if (now - lastAudio >= 20) {
      lastAudio = now;
      w.avAudio.push({ delayMs: a.heard.atMs - a.heard.captureTimeUs / 1000, holdMs: a.audioHoldMs });
    }
  }, 4);
}

export async function run({ quick = false, ...overrides } = {}) {
  const cfg = { ...(quick ? QUICK : FULL), ...overrides };
  const harness = await startHarness({ publish: false });
  let browser = null;
  let target = null;
  let mixer = null;
  let agent = null;
  let nc = null;
  const rows = [];
  try {
    await withTimeout(
      (async () => {
        target = await startTarget('gateway', { natsUrl: harness.natsUrl, room: harness.room });
        const port = new URL(target.httpUrl).port;
        mixer = startApp('mixer', ['--nats', harness.natsUrl, '--status-interval-ms', '0']);
        agent = startApp('capture-agent', [
          ...['--nats', harness.natsUrl, '--room', harness.room, '--source', 'sync', '--name', 'Sync'],
          ...['--video', 'test', '--audio', 'test', '--tone', '440', '--size', '320x180', '--fps', '15'],
        ]);
        await agent.waitForOutput(/\] joined /, 30_000);
        // Baseline: capture → the mixed packet reaching a subscriber on this machine.
        nc = await connect({ servers: harness.natsUrl });
        const natsDelays = [];
        let measuring = false;
        const sub = nc.subscribe(mixAudioSubject(harness.room));
        void (async () => {
          for await (const m of sub) {
            if (!measuring) continue;
            try {
              const env = decodeEnvelope(m.data);
              natsDelays.push(Date.now() - env.captureTimeUs / 1000);
            } catch {
              // not a mix envelope
            }
          }
        })();
        browser = await launchChromium();
        for (const c of CASES) {
          const page = await browser.newPage();
          try {
            if (c.slowMs > 0) await page.addInitScript(delayVideoMessages, c.slowMs);
            await page.goto(`http://127.0.0.1:${port}/?room=${harness.room}`);
            await page.getByRole('button', { name: 'Enable audio' }).click();
            await page.getByRole('button', { name: 'Mute', exact: true }).waitFor({ timeout: 30_000 });
            // Let the hold settle (it changes at most once a second) before measuring.
            await sleep(4_000);
            natsDelays.length = 0;
            measuring = true;
            await page.evaluate(collect, 'sync');
            await sleep(cfg.windowS * 1000);
            measuring = false;
            const { frames, audio } = await page.evaluate(() => ({ frames: window.avFrames, audio: window.avAudio }));
            const offsets = [];
            const unsynced = [];
            for (const f of frames) {
              const k = Math.floor(f.frameUs / 1e6);
              const phase = f.frameUs / 1e6 - k;
              const heardK = f.heardAt - (f.heardUs / 1000 - k * 1000);
              if (phase < 0.1) offsets.push(f.paintedAt - phase * 1000 - heardK);
              if (f.videoDelayMs !== null) unsynced.push(f.videoDelayMs - (f.heardAt - f.heardUs / 1000));
            }
            const ear = audio.map((a) => a.delayMs);
            rows.push({
              case: c.name,
              earP50: round(pct(ear, 0.5), 0),
              earP99: round(pct(ear, 0.99), 0),
              natsP50: round(pct(natsDelays, 0.5), 0),
              natsP99: round(pct(natsDelays, 0.99), 0),
              offsetP50: round(pct(offsets, 0.5), 1),
              flashes: offsets.length,
              unsyncedP50: round(pct(unsynced, 0.5), 0),
              holdMs: round(
                pct(
                  audio.map((a) => a.holdMs),
                  0.5,
                ),
                0,
              ),
            });
          } finally {
            await page.close().catch(() => undefined);
          }
        }
      })(),
      (CASES.length * (cfg.windowS + 60) + 90) * 1000,
      'the av-sync bench',
    );
  } finally {
    await browser?.close().catch(() => undefined);
    await nc?.drain().catch(() => undefined);
    await agent?.stop();
    await mixer?.stop();
    await target?.stop();
    await harness.stop();
  }
  return { name: 'av-sync', config: cfg, rows };
}

export function renderMarkdown(result) {
  return markdownTable(result.rows, [
    { key: 'case', title: 'case' },
    { key: 'earP50', title: 'mouth → ear p50 ms' },
    { key: 'earP99', title: 'p99 ms' },
    { key: 'natsP50', title: 'baseline: capture → mix at a NATS client p50 ms' },
    { key: 'natsP99', title: 'p99 ms' },
    { key: 'offsetP50', title: 'flash seen − beep heard p50 ms' },
    { key: 'flashes', title: 'flash frames' },
    { key: 'unsyncedP50', title: 'baseline: picture ready − sound heard p50 ms' },
    { key: 'holdMs', title: 'audio hold ms' },
  ]);
}

await runStandalone(import.meta.url, run, renderMarkdown);
