// One row of a gap-rate table (bench/audio-loss and bench/viewer-loss).

/**
 * Sums runs of one loss rate and one decoder: each run gives `g` (gaps() of
 * its frames' RMS), `frames` (how many were judged), and the packets `lost`,
 * rebuilt from FEC (`fec`) and concealed (`plc`). `clean` counts the runs
 * without a gap; `worstFrameOfMedian` is the quietest frame against its
 * run's median.
 */
export function tallyGaps(runs) {
  let frames = 0;
  let gapFrames = 0;
  let lost = 0;
  let fec = 0;
  let plc = 0;
  let worst = Infinity;
  let clean = 0;
  for (const r of runs) {
    frames += r.frames;
    gapFrames += r.g.gaps.length;
    if (r.g.gaps.length === 0) clean++;
    lost += r.lost;
    fec += r.fec;
    plc += r.plc;
    worst = Math.min(worst, r.g.min / r.g.median);
  }
  return {
    lostPackets: lost,
    fecRecovered: fec,
    concealed: plc,
    gapFrames,
    gapRatePct: +((100 * gapFrames) / frames).toFixed(2),
    clean,
    worstFrameOfMedian: +worst.toFixed(2),
  };
}
