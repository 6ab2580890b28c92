// Packet loss in the mix, and what concealing it costs.
//
//  1. Gap rate: one source of a vowel-like sound (real libopus packets with
//     the capture agent's settings: voip, 32 kbit/s, 20 ms), packets dropped
//     at random (5% and 10%, several seeds), through a real RoomMix (jitter
//     buffer, decoder, FEC recovery, concealment, mix, limiter, encoder); the
//     mix is decoded again and a 20 ms frame counts as a gap when its RMS is
//     below a quarter of the median. "FEC + PLC" is the agent's default
//     (in-band FEC, 10% expected loss); "PLC only" the same sound encoded
//     without FEC. Before this mixer, every lost packet faded to silence
//     (5 ms from the last sample, then zeros): at least 15 ms of silence
//     per lost packet.
//  2. Decode cost, in the same run, alternating slices: opus-decoder (the
//     mixer's decoder before, wasm) against LibopusDecoder (libopus's own
//     WebAssembly build from @evan/opus, which can conceal and decode FEC):
//     µs per packet decoded, per concealment and per FEC decode.
//
//   npx tsc -b apps/mixer && node bench/audio-loss.bench.mjs [--quick] [--json]
//
// Exports run({ quick }) → results object, and renderMarkdown(results).
import { loadavg } from 'node:os';
import { OpusDecoder } from 'opus-decoder';
import { LibopusDecoder } from '../apps/mixer/dist/src/codec/libopus-wasm.js';
import { gaps, harmonicPackets, randomLoss, runLossyMix } from '../apps/mixer/dist/tests/helpers/lossy-mix.js';
import { markdownTable } from './lib/table.mjs';
import { runQuickJson } from './lib/cli.mjs';
import { tallyGaps } from './lib/gap-tally.mjs';

const FULL = { packets: 1_500, seeds: 10, slices: 400 };
const QUICK = { packets: 750, seeds: 3, slices: 80 };
const LOSS_RATES = [0.05, 0.1];

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
};

async function gapRates(cfg) {
  const encodings = [
    { name: 'FEC + PLC', packets: harmonicPackets(cfg.packets, { fec: true, packetLossPercent: 10 }) },
    { name: 'PLC only', packets: harmonicPackets(cfg.packets, { fec: false, packetLossPercent: 0 }) },
  ];
  const rows = [];
  for (const rate of LOSS_RATES) {
    for (const { name, packets } of encodings) {
      const runs = [];
      for (let seed = 1; seed <= cfg.seeds; seed++) {
        // No ticks after the last packet: the counts are the losses' alone, not the end of the stream.
        const r = await runLossyMix(packets, randomLoss(packets.length, rate, seed), 0);
        runs.push({
          // Frames 0..9 are the start-up (jitter depth, fade-in).
          g: gaps(r.rms, 10, packets.length),
          frames: packets.length - 10,
          lost: r.stats.lost,
          fec: r.stats.fecRecovered,
          plc: r.stats.concealed,
        });
      }
      const t = tallyGaps(runs);
      rows.push({
        loss: `${rate * 100}%`,
        decoder: name,
        lostPackets: t.lostPackets,
        fecRecovered: t.fecRecovered,
        concealed: t.concealed,
        gapFrames: t.gapFrames,
        gapRatePct: t.gapRatePct,
        worstFrameOfMedian: t.worstFrameOfMedian,
      });
    }
  }
  return rows;
}

/**
 * Alternates short slices of 100 packets between the two decoders, many
 * times: on a shared machine, long rounds measure whoever got the cores;
 * short alternating slices see the same interference, and the minimum shows
 * each decoder's own cost. In the new decoder's slices every tenth packet is
 * lost and concealed, and every tenth (offset by five) rebuilt from the next
 * packet's FEC, as the mixer does; each call is timed on its own.
 */
async function decodeCost(cfg) {
  const packets = harmonicPackets(101, { fec: true, packetLossPercent: 10 });
  const old = new OpusDecoder({ channels: 1, sampleRate: 48_000 });
  await old.ready;
  const lib = new LibopusDecoder(48_000, 1);
  const slices = {
    'opus-decoder (before)': [],
    'LibopusDecoder decode': [],
    'LibopusDecoder PLC': [],
    'LibopusDecoder FEC': [],
  };
  for (let r = 0; r < cfg.slices; r++) {
    let t = performance.now();
    for (let k = 0; k < 100; k++) old.decodeFrame(packets[k]);
    slices['opus-decoder (before)'].push(((performance.now() - t) * 1_000) / 100);
    const sums = { decode: [0, 0], plc: [0, 0], fec: [0, 0] };
    for (let k = 0; k < 100; k++) {
      const kind = k % 10 === 1 ? 'plc' : k % 10 === 6 ? 'fec' : 'decode';
      t = performance.now();
      if (kind === 'plc') lib.conceal(960);
      else if (kind === 'fec') lib.decodeFec(packets[k + 1], 960);
      else lib.decode(packets[k]);
      sums[kind][0] += performance.now() - t;
      sums[kind][1]++;
    }
    slices['LibopusDecoder decode'].push((sums.decode[0] * 1_000) / sums.decode[1]);
    slices['LibopusDecoder PLC'].push((sums.plc[0] * 1_000) / sums.plc[1]);
    slices['LibopusDecoder FEC'].push((sums.fec[0] * 1_000) / sums.fec[1]);
  }
  old.free();
  lib.close();
  return Object.entries(slices).map(([call, xs]) => ({
    call,
    usMin: +Math.min(...xs).toFixed(1),
    usMedian: +median(xs).toFixed(1),
  }));
}

export async function run({ quick = false } = {}) {
  const cfg = quick ? QUICK : FULL;
  const loadAtStart = loadavg().map((x) => +x.toFixed(1));
  const decode = await decodeCost(cfg);
  const loss = await gapRates(cfg);
  return {
    quick,
    node: process.version,
    loadAtStart,
    packetsPerRun: cfg.packets,
    seeds: cfg.seeds,
    slices: cfg.slices,
    loss,
    decode,
  };
}

export function renderMarkdown(r) {
  return [
    `One source, ${r.packetsPerRun} packets (${(r.packetsPerRun * 0.02).toFixed(0)} s) × ${r.seeds} random loss patterns per row; a gap is a 20 ms frame of the decoded mix below a quarter of the median RMS. Before this mixer every lost packet became at least 15 ms of silence (a 5 ms fade from the last sample, then zeros).`,
    '',
    markdownTable(r.loss, Object.keys(r.loss[0])),
    '',
    `Decode cost per call, µs, 20 ms mono frames, ${r.slices} alternating slices of 100 packets in the same run (Node ${r.node}, load average ${r.loadAtStart.join(' / ')} at start; the minimum is each decoder's own cost, the median includes the other jobs on the machine):`,
    '',
    markdownTable(r.decode, Object.keys(r.decode[0])),
  ].join('\n');
}

await runQuickJson(import.meta.url, run, renderMarkdown);
