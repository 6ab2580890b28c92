// What joining with camera and microphone costs in the browser: capture,
// scaling, JPEG (OffscreenCanvas.convertToBlob) and Opus (WebCodecs
// AudioEncoder) at 640x360 @ 15 fps, from Chromium's own processes.
//
// One headless Chromium with a fake camera and a fake microphone (a tone
// WAV made by ffmpeg) opens the viewer page of an empty room on the real
// gateway, either only watching or joined as a participant (`?join=1`).
// Rounds alternate the two (watch, join, join, watch, …), each on a fresh
// page, in the same browser and the same run. CPU is user + system time
// from /proc/<pid>/stat of every process of that Chromium (browser,
// renderers, GPU, the capture and audio services: where the fake camera
// and microphone run) over the window; the renderers alone are shown too,
// as that is where the page encodes. The participant's cost is the
// difference of the medians.
//
//   node bench/browser-participant.bench.mjs [--quick]
/* global window -- these functions run inside the page. */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { launchChromium, writeToneWav } from '@vidchat/test-support';
import { runStandalone } from './lib/cli.mjs';
import { startHarness } from './lib/harness.mjs';
import { processCpuSeconds, sleep, withTimeout } from './lib/procs.mjs';
import { median, round } from './lib/stats.mjs';
import { startTarget } from './lib/targets.mjs';
import { markdownTable } from './lib/table.mjs';

const FULL = { rounds: 6, warmupS: 3, windowS: 10 };
const QUICK = { rounds: 2, warmupS: 2, windowS: 4 };

export async function run({ quick = false, ...overrides } = {}) {
  const cfg = { ...(quick ? QUICK : FULL), ...overrides };
  const dir = mkdtempSync(join(tmpdir(), 'vidchat-bench-participant-'));
  const wav = join(dir, 'tone.wav');
  writeToneWav(wav, 880, { seconds: 4 });
  const harness = await startHarness({ publish: false });
  const runs = [];
  let browser = null;
  let target = null;
  try {
    await withTimeout(
      (async () => {
        target = await startTarget('gateway', { natsUrl: harness.natsUrl, room: harness.room });
        const before = new Set(chromiumPids());
        browser = await launchChromium({
          args: [
            '--use-fake-device-for-media-stream',
            '--use-fake-ui-for-media-stream',
            `--use-file-for-fake-audio-capture=${wav}`,
          ],
        });
        const ours = () => chromiumPids().filter((p) => !before.has(p.pid));
        for (let r = 0; r < cfg.rounds; r++) {
          // watch, join, join, watch, …: neither mode always runs first.
          const modes = r % 2 === 0 ? ['watching', 'participant'] : ['participant', 'watching'];
          for (const mode of modes) {
            const row = await measure(browser, ours, target.httpUrl, harness.room, mode, cfg);
            runs.push({ round: r, mode, ...row });
            console.error(
              `  browser-participant round ${r + 1}/${cfg.rounds} ${mode}: chromium ${round(row.chromiumCores * 100, 1)}% of a core, renderers ${round(row.rendererCores * 100, 1)}%` +
                (mode === 'participant'
                  ? `, ${round(row.framesPerS, 1)} frames/s, ${round(row.audioPerS, 1)} packets/s`
                  : ''),
            );
          }
        }
      })(),
      (cfg.rounds * 2 * (cfg.warmupS + cfg.windowS + 30) + 60) * 1000,
      'the browser-participant bench',
    );
  } finally {
    await browser?.close().catch(() => undefined);
    await target?.stop();
    await harness.stop();
    rmSync(dir, { recursive: true, force: true });
  }
  return summarise(runs, cfg);
}

/** One window of one page: CPU of every Chromium process, and what the page sent. */
async function measure(browser, ours, httpUrl, room, mode, cfg) {
  const page = await browser.newPage({ viewport: { width: 1280, height: 720 } });
  try {
    const q = mode === 'participant' ? `?room=${room}&join=1&name=Bench` : `?room=${room}`;
    await page.goto(`${httpUrl}/${q}`);
    await page.waitForFunction(
      (participant) => {
        const h = window.vidchat;
        if (!h || h.state !== 'live') return false;
        return !participant || (h.participant.state === 'joined' && (h.participant.framesSent ?? 0) > 0);
      },
      mode === 'participant',
      { timeout: 30_000 },
    );
    await sleep(cfg.warmupS * 1000);
    const sent0 = await sent(page);
    const procs = ours();
    const cpu0 = new Map(procs.map((p) => [p.pid, cpuOf(p.pid) ?? 0]));
    const t0 = performance.now();
    await sleep(cfg.windowS * 1000);
    const wallS = (performance.now() - t0) / 1000;
    let all = 0;
    let renderers = 0;
    for (const p of procs) {
      const end = cpuOf(p.pid);
      // A process that ended in the window (the previous page's renderer) is not this page's.
      if (end === null) continue;
      const used = end - (cpu0.get(p.pid) ?? 0);
      all += used;
      if (p.renderer) renderers += used;
    }
    const sent1 = await sent(page);
    return {
      chromiumCores: all / wallS,
      rendererCores: renderers / wallS,
      framesPerS: (sent1.frames - sent0.frames) / wallS,
      skippedPerS: (sent1.skipped - sent0.skipped) / wallS,
      audioPerS: (sent1.audio - sent0.audio) / wallS,
      videoKbps: ((sent1.bytes - sent0.bytes) * 8) / 1000 / wallS,
      encodeMs: sent1.encodeMs,
      size: sent1.size,
    };
  } finally {
    await page.close().catch(() => undefined);
  }
}

async function sent(page) {
  return page.evaluate(() => {
    const p = window.vidchat.participant;
    return {
      frames: p.framesSent ?? 0,
      skipped: p.framesSkipped ?? 0,
      audio: p.audioPacketsSent ?? 0,
      bytes: p.videoBytesSent ?? 0,
      encodeMs: p.lastEncodeMs ?? null,
      size: p.videoWidth ? `${p.videoWidth}x${p.videoHeight}` : null,
    };
  });
}

/** CPU seconds of a process, null once it is gone (a renderer of a closed page). */
function cpuOf(pid) {
  try {
    return processCpuSeconds(pid);
  } catch {
    return null;
  }
}

/** Every Chromium process on the machine: pid and whether it is a renderer. */
function chromiumPids() {
  const out = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    let cmd;
    try {
      cmd = readFileSync(`/proc/${name}/cmdline`, 'utf8');
    } catch {
      continue;
    }
    const argv0 = cmd.split('\0')[0] ?? '';
    if (!/chrom/i.test(argv0)) continue;
    out.push({ pid: Number(name), renderer: cmd.includes('--type=renderer') });
  }
  return out;
}

function summarise(runs, cfg) {
  const of = (mode, key) => median(runs.filter((r) => r.mode === mode).map((r) => r[key]));
  const rows = ['watching', 'participant'].map((mode) => {
    const sel = runs.filter((r) => r.mode === mode);
    return {
      mode: mode === 'watching' ? 'watching only' : 'joined (camera + microphone)',
      runs: sel.length,
      chromiumPct: round(of(mode, 'chromiumCores') * 100, 1),
      rendererPct: round(of(mode, 'rendererCores') * 100, 1),
      framesPerS: mode === 'participant' ? round(of(mode, 'framesPerS'), 1) : null,
      skippedPerS: mode === 'participant' ? round(of(mode, 'skippedPerS'), 2) : null,
      audioPerS: mode === 'participant' ? round(of(mode, 'audioPerS'), 1) : null,
      videoKbps: mode === 'participant' ? round(of(mode, 'videoKbps'), 0) : null,
      size: mode === 'participant' ? (sel.at(-1)?.size ?? null) : null,
    };
  });
  const cost = {
    chromiumPct: round((of('participant', 'chromiumCores') - of('watching', 'chromiumCores')) * 100, 1),
    rendererPct: round((of('participant', 'rendererCores') - of('watching', 'rendererCores')) * 100, 1),
  };
  return {
    name: 'browser-participant',
    config: { ...cfg, size: '640x360', fps: 15, jpegQuality: 0.7 },
    rows,
    cost,
    runs,
  };
}

export function renderMarkdown(result) {
  const table = markdownTable(result.rows, [
    { key: 'mode', title: 'page' },
    { key: 'runs', title: 'runs' },
    { key: 'chromiumPct', title: 'all Chromium processes, % of a core' },
    { key: 'rendererPct', title: 'renderers, % of a core' },
    { key: 'size', title: 'sent at' },
    { key: 'framesPerS', title: 'frames/s sent' },
    { key: 'skippedPerS', title: 'skipped/s' },
    { key: 'audioPerS', title: 'Opus packets/s' },
    { key: 'videoKbps', title: 'video kbit/s' },
  ]);
  return `${table}\n\nA participant's cost (joined − watching, medians): **${result.cost.chromiumPct}% of a core** for all of Chromium (camera and microphone capture included), ${result.cost.rendererPct}% in the page's renderer (scaling, JPEG, Opus).`;
}

await runStandalone(import.meta.url, run, renderMarkdown);
