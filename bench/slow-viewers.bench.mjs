// Slow-viewer isolation: 100 healthy viewers alone, then 100 healthy + 10
// stalled viewers (they stop reading their socket), against the gateway.
// A viewer that cannot keep up must never slow anyone else: the
// healthy viewers' p99 latency and frame rate should not move, and the
// gateway's memory should stay bounded (latest-frame-wins, not a queue).
// Each round runs both cases on a fresh gateway, in alternating order; the
// changes are per-round differences, then medians.
//
//   node bench/slow-viewers.bench.mjs [--quick]
import { startHarness } from './lib/harness.mjs';
import { measureWindow } from './lib/measure.mjs';
import { withTimeout } from './lib/procs.mjs';
import { median, medianOfRuns, minOf, round } from './lib/stats.mjs';
import { gatewayBuilt, startTarget } from './lib/targets.mjs';
import { markdownTable, verdictTable } from './lib/table.mjs';
import { runStandalone } from './lib/cli.mjs';

export const TARGETS = { healthyChangePct: 10, rssChangeMb: 50 };
const HEALTHY = 100;
const STALLED = 10;
const FULL = { rounds: 4, warmupS: 2, windowS: 8 };
const QUICK = { rounds: 2, warmupS: 0.8, windowS: 2.5 };

export async function run({ quick = false, ...overrides } = {}) {
  const cfg = { ...(quick ? QUICK : FULL), ...overrides };
  const withGateway = gatewayBuilt();
  const kind = withGateway ? 'gateway' : 'relay';
  const cases = [
    { name: 'healthy only', stalled: 0 },
    { name: `+${STALLED} stalled`, stalled: STALLED },
  ];
  const harness = await startHarness();
  const runs = [];
  try {
    await withTimeout(
      (async () => {
        for (let r = 0; r < cfg.rounds; r++) {
          for (const c of r % 2 === 0 ? cases : [...cases].reverse()) {
            const target = await startTarget(kind, { natsUrl: harness.natsUrl, room: harness.room });
            try {
              const m = await measureWindow(harness, target, {
                viewers: HEALTHY,
                stalled: c.stalled,
                warmupS: cfg.warmupS,
                windowS: cfg.windowS,
              });
              runs.push({ round: r, case: c.name, ...m });
              console.error(
                `  slow-viewers round ${r + 1}/${cfg.rounds} ${kind} ${c.name.padEnd(12)}: healthy p99 ${m.p99Ms} ms, ` +
                  `${round(m.perViewerFps, 1)} fps/viewer, peak RSS ${round(m.peakRssMb, 1)} MB, ` +
                  `stalled got ${m.stalledFrames} frames`,
              );
            } finally {
              await target.stop();
            }
          }
        }
      })(),
      (cfg.rounds * 2 * (cfg.warmupS + cfg.windowS + 40) + 30) * 1000,
      'the slow-viewer bench',
    );
  } finally {
    await harness.stop();
  }
  return summarise(runs, cfg, cases, kind, withGateway);
}

function summarise(runs, cfg, cases, kind, withGateway) {
  const [a, b] = cases.map((c) => c.name);
  const rows = cases.map((c) => {
    const m = medianOfRuns(runs.filter((x) => x.case === c.name));
    return {
      case: c.name,
      target: kind,
      runs: runs.filter((x) => x.case === c.name).length,
      p50Ms: m.p50Ms,
      p99Ms: m.p99Ms,
      p99BestMs: minOf(runs.filter((x) => x.case === c.name).map((x) => x.p99Ms)),
      fpsPerViewer: round(m.perViewerFps, 1),
      minDeliveryPct: round(m.minDelivery * 100, 1),
      cores: round(m.cores, 3),
      peakRssMb: round(m.peakRssMb, 1),
      stalledFrames: m.stalledFrames,
      closedStalled: m.closedStalled,
    };
  });
  const pct = (x, y) => (y > 0 ? ((x - y) / y) * 100 : null);
  const paired = { p99: [], fps: [], rss: [] };
  for (let r = 0; r < cfg.rounds; r++) {
    const ra = runs.find((x) => x.round === r && x.case === a);
    const rb = runs.find((x) => x.round === r && x.case === b);
    if (!ra || !rb) continue;
    paired.p99.push(pct(rb.p99Ms, ra.p99Ms));
    paired.fps.push(pct(rb.perViewerFps, ra.perViewerFps));
    paired.rss.push(rb.peakRssMb - ra.peakRssMb);
  }
  const change = {
    p99Pct: round(median(paired.p99), 1),
    fpsPct: round(median(paired.fps), 1),
    rssMb: round(median(paired.rss), 1),
  };
  const label = withGateway ? '' : ' (naive relay: the gateway is not built)';
  const verdicts = [
    {
      what: `healthy viewers' p99 latency change with ${STALLED} stalled${label}`,
      limit: `≤ ${TARGETS.healthyChangePct}%`,
      measured: `${change.p99Pct}%`,
      met: withGateway ? change.p99Pct <= TARGETS.healthyChangePct : null,
    },
    {
      what: `healthy viewers' frame rate change with ${STALLED} stalled${label}`,
      limit: `≥ −${TARGETS.healthyChangePct}%`,
      measured: `${change.fpsPct}%`,
      met: withGateway ? change.fpsPct >= -TARGETS.healthyChangePct : null,
    },
    {
      what: `gateway RSS change with ${STALLED} stalled${label}`,
      limit: `≤ ${TARGETS.rssChangeMb} MB`,
      measured: `${change.rssMb} MB`,
      met: withGateway ? change.rssMb <= TARGETS.rssChangeMb : null,
    },
  ];
  return {
    name: 'slow-viewers',
    config: { ...cfg, healthy: HEALTHY, stalled: STALLED, target: kind },
    rows,
    change,
    verdicts,
    runs,
  };
}

export function renderMarkdown(result) {
  const cols = [
    { key: 'case', title: 'case' },
    { key: 'target', title: 'target' },
    { key: 'runs', title: 'runs' },
    { key: 'p50Ms', title: 'healthy p50 ms' },
    { key: 'p99Ms', title: 'healthy p99 ms' },
    { key: 'p99BestMs', title: 'p99 ms, quietest round' },
    { key: 'fpsPerViewer', title: 'frames/s per healthy viewer' },
    { key: 'minDeliveryPct', title: 'worst healthy % frames' },
    { key: 'cores', title: 'server CPU (cores)' },
    { key: 'peakRssMb', title: 'server peak RSS MB' },
    { key: 'stalledFrames', title: 'frames read by stalled viewers' },
  ];
  return `${markdownTable(result.rows, cols)}\n\n${verdictTable(result.verdicts)}`;
}

await runStandalone(import.meta.url, run, renderMarkdown);
