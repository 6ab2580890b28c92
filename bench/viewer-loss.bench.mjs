// Lost mix packets in the viewer page: the gap rate of what it plays, with
// and without concealment, on the page's own code (apps/web/src
// audio-concealment.ts over the page's libopus WebAssembly build, loaded from
// the same file the build copies next to app.js).
//
// The mix: real libopus packets of a vowel-like sound (eight partials, pitch
// and level moving; a pure sine dips under libopus's concealment even when it
// works) with the mixer's settings (voip, 48 kbit/s, 20 ms, in-band FEC for
// 10% expected loss). Packets are dropped at random (5% and 10%, several
// seeds) and the played timeline is cut into 20 ms frames; a frame below a
// quarter of the median RMS is a gap. Rows, all on the same loss patterns:
//   - "FEC + PLC": the page now (next packet's FEC, else libopus PLC);
//   - "PLC only": the same sound encoded without FEC;
//   - "fade (before)": what the page did before this decoder: the first lost
//     frame the last good one reversed under a fade to silence, further ones
//     silence, the next good frame faded in;
//   - "none": a lost frame is silence.
//
//   npx tsc -b apps/web && node bench/viewer-loss.bench.mjs [--quick] [--json]
//
// Exports run({ quick }) → results object, and renderMarkdown(results).
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { ConcealingDecoder } from '../apps/web/dist/src/audio-concealment.js';
import { Libopus, libopusBuild } from '../apps/web/dist/src/libopus.js';
import { frameRms, gaps, harmonicOpusPackets, randomLoss } from '../apps/web/dist/tests/support/harmonic-opus.js';
import { markdownTable } from './lib/table.mjs';
import { runQuickJson } from './lib/cli.mjs';
import { tallyGaps } from './lib/gap-tally.mjs';

const FULL = { packets: 1_500, seeds: 10 };
const QUICK = { packets: 750, seeds: 3 };
const LOSS_RATES = [0.05, 0.1];
const FRAME = 960;

/** The page's decoder now: every packet that arrives, with the fill for the lost ones before it. */
function playNow(lib, packets, lost) {
  const dec = new ConcealingDecoder(lib.decoder());
  const out = [];
  packets.forEach((p, k) => {
    if (lost[k]) return;
    const v = dec.sequence(k);
    if (v.kind === 'next') out.push(...dec.frames(p, v.lost));
  });
  const stats = dec.stats;
  dec.close();
  return { frames: out, stats };
}

/** Decoded frames with nothing for a loss, then `fill` builds what plays in each lost frame's place. */
function playWithout(lib, packets, lost, fill) {
  const dec = lib.decoder();
  const out = [];
  let last = null;
  let run = 0;
  packets.forEach((p, k) => {
    if (lost[k]) {
      out.push(fill(last, run++));
      return;
    }
    const f = dec.decode(p) ?? new Float32Array(FRAME);
    if (run > 0 && fill.fadesIn) {
      for (let i = 0; i < 120; i++) f[i] *= (i + 1) / 120;
    }
    run = 0;
    last = f;
    out.push(f);
  });
  dec.close();
  // Up to the last packet that arrived, as the page plays.
  return out.slice(0, lost.lastIndexOf(false) + 1);
}

const silence = () => new Float32Array(FRAME);
/** The page before: the last frame backwards, fading to silence, for the first lost frame; silence after. */
const fadeBefore = Object.assign(
  (last, run) => {
    if (run > 0 || !last) return new Float32Array(FRAME);
    const n = last.length;
    return Float32Array.from({ length: n }, (_, i) => last[n - 1 - i] * (1 - (i + 1) / n));
  },
  { fadesIn: true },
);

function gapRow(rate, name, runs) {
  const t = tallyGaps(
    runs.map((r) => {
      const pcm = new Float32Array(r.frames.length * FRAME);
      r.frames.forEach((f, i) => pcm.set(f.subarray(0, FRAME), i * FRAME));
      return {
        // Frames 0..4: the start.
        g: gaps(frameRms(pcm).slice(5)),
        frames: r.frames.length - 5,
        lost: r.lost,
        fec: r.stats?.fecRecovered ?? 0,
        plc: r.stats?.concealed ?? 0,
      };
    }),
  );
  return {
    loss: `${rate * 100}%`,
    viewer: name,
    lostPackets: t.lostPackets,
    fecRecovered: t.fecRecovered,
    plcConcealed: t.concealed,
    gapFrames: t.gapFrames,
    gapRatePct: t.gapRatePct,
    patternsWithoutGap: `${t.clean}/${runs.length}`,
    worstFrameOfMedian: t.worstFrameOfMedian,
  };
}

export async function run({ quick = false } = {}) {
  const cfg = quick ? QUICK : FULL;
  const require = createRequire(import.meta.url);
  const lib = await Libopus.load(readFileSync(require.resolve(`@evan/opus/wasm/${libopusBuild()}`)));
  const withFec = harmonicOpusPackets(cfg.packets, { bitrate: 48_000 });
  const noFec = harmonicOpusPackets(cfg.packets, { bitrate: 48_000, fec: false });
  const rows = [];
  for (const rate of LOSS_RATES) {
    const patterns = [];
    for (let seed = 1; seed <= cfg.seeds; seed++) {
      const lost = randomLoss(cfg.packets, rate, seed);
      lost[0] = false;
      patterns.push(lost);
    }
    const count = (lost) => lost.slice(0, lost.lastIndexOf(false)).filter(Boolean).length;
    rows.push(
      gapRow(
        rate,
        'FEC + PLC (now)',
        patterns.map((l) => ({ ...playNow(lib, withFec, l), lost: count(l) })),
      ),
      gapRow(
        rate,
        'PLC only (no FEC in the stream)',
        patterns.map((l) => ({ ...playNow(lib, noFec, l), lost: count(l) })),
      ),
      gapRow(
        rate,
        'fade (before)',
        patterns.map((l) => ({ frames: playWithout(lib, withFec, l, fadeBefore), lost: count(l) })),
      ),
      gapRow(
        rate,
        'none (silence)',
        patterns.map((l) => ({ frames: playWithout(lib, withFec, l, silence), lost: count(l) })),
      ),
    );
  }
  return { quick, packetsPerRun: cfg.packets, seeds: cfg.seeds, rows };
}

export function renderMarkdown(r) {
  return [
    `The mix (real libopus: voip, 48 kbit/s, FEC for 10% loss) of a vowel-like sound, ${r.packetsPerRun} packets (${(r.packetsPerRun * 0.02).toFixed(0)} s) × ${r.seeds} random loss patterns per row, through the viewer page's own decoding (\`apps/web/src/audio-concealment.ts\`, libopus wasm); a gap is a 20 ms frame of what it plays below a quarter of the median RMS.`,
    '',
    markdownTable(r.rows, Object.keys(r.rows[0])),
  ].join('\n');
}

await runQuickJson(import.meta.url, run, renderMarkdown);
