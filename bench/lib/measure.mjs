// One measurement window: viewers connected to a running target, a warm-up,
// then counters reset everywhere at once (publisher, viewers, target CPU) and
// read again after the window. Returns flat figures (numbers) so that runs
// can be combined with medianOfRuns().
import { startViewers } from './load.mjs';
import { cpuMeter, nowUs, sleep } from './procs.mjs';
import { median, minOf } from './stats.mjs';

/** Frames younger than this at the end of a window are not yet counted as missing. */
const DELIVERY_GRACE_MS = 500;

/**
 * @param harness   from startHarness()
 * @param target    from startTarget()
 * @param opts      { viewers, stalled, warmupS, windowS, procs }
 */
export async function measureWindow(harness, target, { viewers, stalled = 0, warmupS, windowS, procs = 1 }) {
  const rssBefore = cpuMeter(target.pid);
  rssBefore.start();
  const idle = rssBefore.stop();
  const load = await startViewers({ url: target.wsUrl, room: harness.room, viewers, stalled, procs });
  try {
    await sleep(warmupS * 1000);
    const meter = cpuMeter(target.pid);
    const fromUs = nowUs();
    const [pub0] = await Promise.all([harness.published(), load.reset(fromUs)]);
    meter.start();
    await sleep(windowS * 1000);
    // Frames captured in the last DELIVERY_GRACE_MS may still be on their
    // way: delivery counts only the frames captured before that.
    const toUs = nowUs() - DELIVERY_GRACE_MS * 1000;
    const [rep, pub1] = await Promise.all([load.report(toUs), harness.published()]);
    const cpu = meter.stop();
    const expectedInWindow = await harness.publishedBetween(fromUs, toUs);
    const expected = pub1.video - pub0.video;
    const delivered = rep.healthyFrames.reduce((a, b) => a + b, 0);
    const mb = rep.healthyBytes / 1e6;
    const ratios = rep.healthyCapturedInWindow.map((f) => (expectedInWindow > 0 ? f / expectedInWindow : 0));
    return {
      viewers,
      stalled,
      wallS: rep.wallS,
      publishedFps: expected / rep.wallS,
      framesPerS: delivered / rep.wallS,
      mbPerS: mb / rep.wallS,
      cores: cpu.cores,
      cpuMsPerMb: mb > 0 ? (cpu.cpuS * 1000) / mb : null,
      rssMb: cpu.rssMb,
      peakRssMb: cpu.peakRssMb,
      idleRssMb: idle.rssMb,
      p50Ms: rep.hist.quantile(0.5),
      p99Ms: rep.hist.quantile(0.99),
      minDelivery: minOf(ratios),
      medianDelivery: median(ratios),
      perViewerFps: median(rep.healthyFrames.map((f) => f / rep.wallS)),
      stalledFrames: rep.stalledFrames,
      closedHealthy: rep.closedHealthy,
      closedStalled: rep.closedStalled,
      decodeErrors: rep.decodeErrors,
      clientCores: rep.clientCores,
    };
  } finally {
    await load.stop();
  }
}
