// Fan-out: 50, 100 and 200 viewers of one room (4 cameras × 30 fps of real
// 640x360 JPEGs) against (a) the naive NATS → ws relay and (b) the real
// gateway. Rounds alternate the order of the two targets; every figure is a
// median over rounds, and the gateway's CPU per delivered MB is quoted as a
// ratio to the relay's measured in the same round.
//
//   node bench/fanout.bench.mjs [--quick] [--profile]
//
// Until the gateway is built, the relay is compared with a second relay
// (ratio ≈ 1.0: a check of the method and of the machine's noise).
import { join } from 'node:path';
import { startHarness, CAMERAS, FPS } from './lib/harness.mjs';
import { measureWindow } from './lib/measure.mjs';
import { sleep, withTimeout } from './lib/procs.mjs';
import { median, medianOfRuns, minOf, round } from './lib/stats.mjs';
import { gatewayBuilt, REPO_ROOT, startTarget } from './lib/targets.mjs';
import { markdownTable, signed, verdictTable } from './lib/table.mjs';
import { runStandalone } from './lib/cli.mjs';
import { summariseCpuProfiles } from './lib/cpu-profile.mjs';

export const TARGETS = {
  cpuPerMbRatio: 1.25,
  minDelivery: 0.95,
  p99Ms: 20,
};

const FULL = { viewerCounts: [50, 100, 200], rounds: 5, warmupS: 2, windowS: 6 };
// Quick mode skips the middle load so that the whole --quick run stays under two minutes.
const QUICK = { viewerCounts: [50, 200], rounds: 3, warmupS: 0.8, windowS: 1.5 };

export async function run({ quick = false, profile = false, ...overrides } = {}) {
  const cfg = { ...(quick ? QUICK : FULL), ...overrides };
  const withGateway = gatewayBuilt();
  const kinds = withGateway ? ['relay', 'gateway'] : ['relay', 'relay-b'];
  const budgetMs =
    (cfg.rounds * kinds.length * (cfg.viewerCounts.length * (cfg.warmupS + cfg.windowS + 4) + 30) + 60) * 1000;
  const harness = await startHarness();
  const runs = [];
  try {
    await withTimeout(
      (async () => {
        for (let r = 0; r < cfg.rounds; r++) {
          const order = r % 2 === 0 ? kinds : [...kinds].reverse();
          for (const kind of order) {
            const target = await startTarget(kind === 'relay-b' ? 'relay' : kind, {
              natsUrl: harness.natsUrl,
              room: harness.room,
            });
            try {
              for (const viewers of cfg.viewerCounts) {
                const m = await measureWindow(harness, target, { viewers, warmupS: cfg.warmupS, windowS: cfg.windowS });
                runs.push({ round: r, kind, ...m });
                console.error(
                  `  fanout round ${r + 1}/${cfg.rounds} ${kind.padEnd(7)} ${String(viewers).padStart(3)} viewers: ` +
                    `${round(m.mbPerS, 1)} MB/s, ${round(m.cores, 3)} cores, ${round(m.cpuMsPerMb, 3)} ms CPU/MB, ` +
                    `p50 ${m.p50Ms} / p99 ${m.p99Ms} ms, min delivery ${round(m.minDelivery * 100, 1)}%`,
                );
                await sleep(200);
              }
            } finally {
              await target.stop();
            }
          }
        }
      })(),
      budgetMs,
      'the fan-out bench',
    );
  } finally {
    await harness.stop();
  }

  let profileSummary = null;
  if (profile && withGateway) {
    // A failed profile must not throw away the measured rounds.
    profileSummary = await profileGateway(cfg).catch((err) => ({ error: String(err?.message ?? err), top: [] }));
  }
  return summarise(runs, cfg, kinds, withGateway, profileSummary);
}

/** One extra 200-viewer window with the gateway under `node --cpu-prof`. */
async function profileGateway(cfg) {
  const dir = join(REPO_ROOT, 'bench/results/profiles', new Date().toISOString().replace(/[:.]/g, '-'));
  const harness = await startHarness();
  try {
    const target = await startTarget('gateway', { natsUrl: harness.natsUrl, room: harness.room, cpuProfileDir: dir });
    try {
      await measureWindow(harness, target, {
        viewers: Math.max(...cfg.viewerCounts),
        warmupS: cfg.warmupS,
        windowS: cfg.windowS * 2,
      });
    } finally {
      await target.stop();
    }
  } finally {
    await harness.stop();
  }
  return summariseCpuProfiles(dir);
}

function summarise(runs, cfg, kinds, withGateway, profileSummary) {
  const [base, other] = kinds;
  const rows = [];
  for (const viewers of cfg.viewerCounts) {
    for (const kind of kinds) {
      const sel = runs.filter((x) => x.kind === kind && x.viewers === viewers);
      const m = medianOfRuns(sel);
      const paired = [];
      if (kind === other) {
        for (const x of sel) {
          const b = runs.find((y) => y.kind === base && y.viewers === viewers && y.round === x.round);
          if (b && b.cpuMsPerMb > 0 && x.cpuMsPerMb !== null) paired.push(x.cpuMsPerMb / b.cpuMsPerMb);
        }
      }
      rows.push({
        viewers,
        target: kind,
        runs: sel.length,
        framesPerS: round(m.framesPerS, 0),
        mbPerS: round(m.mbPerS, 1),
        cores: round(m.cores, 3),
        cpuMsPerMb: round(m.cpuMsPerMb, 3),
        cpuPerMbRatio: kind === other ? round(median(paired), 2) : null,
        rssMb: round(m.peakRssMb, 1),
        p50Ms: m.p50Ms,
        p99Ms: m.p99Ms,
        p99BestMs: minOf(sel.map((x) => x.p99Ms)),
        minDeliveryPct: round(m.minDelivery * 100, 1),
        clientCores: round(m.clientCores, 2),
        decodeErrors: m.decodeErrors,
      });
    }
  }
  const top = Math.max(...cfg.viewerCounts);
  const g = rows.find((x) => x.viewers === top && x.target === other);
  const rel = rows.find((x) => x.viewers === top && x.target === base);
  const verdicts = [
    {
      what: `gateway CPU per delivered MB vs naive relay, ${top} viewers`,
      limit: `≤ ${TARGETS.cpuPerMbRatio}×`,
      measured: withGateway ? `${g.cpuPerMbRatio}× (${g.cpuMsPerMb} vs ${rel.cpuMsPerMb} ms/MB)` : 'gateway not built',
      met: withGateway ? g.cpuPerMbRatio <= TARGETS.cpuPerMbRatio : null,
    },
    {
      what: `every healthy viewer gets ≥ ${TARGETS.minDelivery * 100}% of frames, ${top} viewers`,
      limit: `≥ ${TARGETS.minDelivery * 100}%`,
      measured: withGateway ? `${g.minDeliveryPct}% (worst viewer)` : 'gateway not built',
      met: withGateway ? g.minDeliveryPct >= TARGETS.minDelivery * 100 : null,
    },
    {
      what: `latency p99 (publish → ws viewer), ${top} viewers`,
      limit: `≤ ${TARGETS.p99Ms} ms`,
      measured: withGateway
        ? `${g.p99Ms} ms (relay ${rel.p99Ms} ms, ${signed(g.p99Ms - rel.p99Ms)} ms; quietest rounds ${g.p99BestMs} vs ${rel.p99BestMs} ms)`
        : 'gateway not built',
      met: withGateway ? g.p99Ms <= TARGETS.p99Ms : null,
    },
  ];
  return {
    name: 'fanout',
    config: { ...cfg, cameras: CAMERAS, fps: FPS, targets: kinds },
    rows,
    verdicts,
    runs,
    profile: profileSummary,
  };
}

export function renderMarkdown(result) {
  const cols = [
    { key: 'viewers', title: 'viewers' },
    { key: 'target', title: 'target' },
    { key: 'runs', title: 'runs' },
    { key: 'framesPerS', title: 'frames/s delivered' },
    { key: 'mbPerS', title: 'MB/s' },
    { key: 'cores', title: 'server CPU (cores)' },
    { key: 'cpuMsPerMb', title: 'CPU ms / MB' },
    { key: 'cpuPerMbRatio', title: 'CPU/MB vs relay' },
    { key: 'rssMb', title: 'peak RSS MB' },
    { key: 'p50Ms', title: 'p50 ms' },
    { key: 'p99Ms', title: 'p99 ms' },
    { key: 'p99BestMs', title: 'p99 ms, quietest round' },
    { key: 'minDeliveryPct', title: 'worst viewer % frames' },
    { key: 'clientCores', title: 'load client cores' },
  ];
  let md = `${markdownTable(result.rows, cols)}\n\n${verdictTable(result.verdicts)}`;
  if (result.profile)
    md += `\n\nGateway CPU profile (200 viewers), top self time:\n\n${markdownTable(result.profile.top)}`;
  return md;
}

await runStandalone(import.meta.url, run, renderMarkdown);
