// Drives one or more load-client workers as one group of viewers and merges
// their reports (frame counts per viewer, bytes, latency histograms).
import { fileURLToPath } from 'node:url';
import { forkWorker } from './procs.mjs';
import { LatencyHistogram } from './stats.mjs';

const LOAD_CLIENT = fileURLToPath(new URL('./load-client.mjs', import.meta.url));

/**
 * Opens `viewers` healthy and `stalled` stalled viewers on `url`, split over
 * `procs` worker processes (viewer counts as even as possible).
 */
export async function startViewers({ url, room, viewers, stalled = 0, procs = 1 }) {
  const workers = [];
  try {
    for (let p = 0; p < procs; p++) {
      const share = (n) => Math.floor(n / procs) + (p < n % procs ? 1 : 0);
      const w = forkWorker(
        LOAD_CLIENT,
        ['--url', url, '--room', room, '--viewers', String(share(viewers)), '--stalled', String(share(stalled))],
        { label: `load-client ${p + 1}/${procs}` },
      );
      workers.push(w);
    }
    await Promise.all(workers.map((w) => w.waitEvent('ready', 15_000)));
    const results = await Promise.all(workers.map((w) => w.request('connect', {}, 60_000)));
    const connected = results.reduce((n, r) => n + r.connected, 0);
    const failed = results.reduce((n, r) => n + r.failed, 0);
    if (failed > 0) throw new Error(`${failed} of ${viewers + stalled} viewers failed to connect to ${url}`);
    return {
      connected,
      pids: workers.map((w) => w.pid),
      /** Opens a window; frames captured from `fromUs` on count as this window's. */
      async reset(fromUs) {
        await Promise.all(workers.map((w) => w.request('reset', { fromUs })));
      },
      /** Closes the window; `healthyCapturedInWindow` counts frames captured up to `toUs`. */
      async report(toUs) {
        const reps = await Promise.all(workers.map((w) => w.request('report', { toUs })));
        const hist = new LatencyHistogram();
        for (const r of reps) hist.merge(LatencyHistogram.fromSparse(r.latency));
        const sum = (k) => reps.reduce((n, r) => n + r[k], 0);
        return {
          wallS: Math.max(...reps.map((r) => r.wallS)),
          clientCores: sum('clientCores'),
          healthyFrames: reps.flatMap((r) => r.healthyFrames),
          healthyCapturedInWindow: reps.flatMap((r) => r.healthyCapturedInWindow),
          healthyBytes: sum('healthyBytes'),
          stalledFrames: sum('stalledFrames'),
          stalledBytes: sum('stalledBytes'),
          closedHealthy: sum('closedHealthy'),
          closedStalled: sum('closedStalled'),
          decodeErrors: sum('decodeErrors'),
          otherBinary: sum('otherBinary'),
          text: sum('text'),
          hist,
        };
      },
      async stop() {
        await Promise.all(workers.map((w) => w.stop()));
      },
    };
  } catch (err) {
    await Promise.all(workers.map((w) => w.stop()));
    throw err;
  }
}
