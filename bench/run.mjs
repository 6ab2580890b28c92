#!/usr/bin/env node
// Runs the benches, prints their tables, writes bench/results/<timestamp>.json
// (git-ignored) and rewrites the generated sections of docs/BENCHMARKS.md.
//
//   npm run bench                 everything (builds first)
//   npm run bench -- --quick      fewer rounds, shorter windows (< 2 min)
//   node bench/run.mjs --only fanout [--quick] [--profile]
//
// Benches: fanout, slow-viewers, latency (this folder's lib/) and protocol,
// capture-agent, video-layers, mixer, audio-loss, viewer-loss, recorder, participants, source-audio,
// glass-to-glass, grid-viewer, browser-participant, playout, av-sync, chat
// (standalone files exporting run({ quick })). A bench
// file that does not exist yet is skipped with a note; one that fails is
// reported as failed and the others still run. Everything a bench starts is
// stopped at its end, on an error and on Ctrl-C.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { benchFlags } from './lib/cli.mjs';
import { cleanupAll, onCleanup } from './lib/procs.mjs';
import { genericMarkdown } from './lib/table.mjs';

const HERE = dirname(fileURLToPath(import.meta.url));
const ROOT = join(HERE, '..');
const DOC = join(ROOT, 'docs/BENCHMARKS.md');

/** In run order; the media benches last, as they load the machine most. */
const BENCHES = [
  { name: 'protocol', file: 'protocol.bench.mjs', title: 'Protocol encode/decode' },
  { name: 'capture-agent', file: 'capture-agent.bench.mjs', title: 'Capture agent' },
  { name: 'video-layers', file: 'video-layers.bench.mjs', title: 'Video layers' },
  { name: 'mixer', file: 'mixer.bench.mjs', title: 'Mixer' },
  { name: 'audio-loss', file: 'audio-loss.bench.mjs', title: 'Audio under packet loss' },
  { name: 'viewer-loss', file: 'viewer-loss.bench.mjs', title: 'Viewer audio under packet loss' },
  { name: 'recorder', file: 'recorder.bench.mjs', title: 'Recorder' },
  { name: 'fanout', file: 'fanout.bench.mjs', title: 'Fan-out: gateway vs naive relay' },
  { name: 'participants', file: 'participants.bench.mjs', title: 'Gateway: participants publishing' },
  { name: 'source-audio', file: 'source-audio.bench.mjs', title: 'Gateway: per-source audio (per-tile volume)' },
  { name: 'slow-viewers', file: 'slow-viewers.bench.mjs', title: 'Slow-viewer isolation' },
  { name: 'latency', file: 'latency.bench.mjs', title: 'Latency end to end' },
  { name: 'chat', file: 'chat.bench.mjs', title: 'Room chat across gateways' },
  { name: 'glass-to-glass', file: 'glass-to-glass.bench.mjs', title: 'Glass to glass' },
  {
    name: 'grid-viewer',
    file: 'grid-viewer.bench.mjs',
    title: 'A 3x3 grid in Chromium: per-tile layers vs all layer 0',
  },
  {
    name: 'browser-participant',
    file: 'browser-participant.bench.mjs',
    title: 'Browser participant: camera + microphone cost',
  },
  { name: 'playout', file: 'playout.bench.mjs', title: 'Viewer audio playout' },
  { name: 'av-sync', file: 'av-sync.bench.mjs', title: 'Mouth to ear and lip sync' },
  // Standalone too: a 3-node cluster with two mixers, then a gateway with ten rooms.
  { name: 'takeover', file: 'takeover.bench.mjs', title: 'Scale-out: mixer takeover and gateway ingress' },
];
/** Whole-run limits: a bench that hangs must not hold the machine. */
const RUN_LIMIT_MS = { quick: 4 * 60_000, full: 30 * 60_000 };

const USAGE = `usage: node bench/run.mjs [--quick] [--only <name>] [--profile]
  --quick        fewer rounds and shorter windows (about two minutes)
  --only <name>  one bench: ${BENCHES.map((b) => b.name).join(', ')}
  --profile      also profile the gateway (node --cpu-prof) at 200 viewers
  --render <results.json>  rewrite docs/BENCHMARKS.md from a saved run, running nothing`;

async function main() {
  let flags;
  try {
    flags = benchFlags();
  } catch (err) {
    console.error(`${err.message}\n${USAGE}`);
    process.exit(2);
  }
  if (flags.render) {
    await rerender(flags.render);
    return;
  }
  if (flags.help) {
    console.log(USAGE);
    return;
  }
  if (flags.only && !BENCHES.some((b) => b.name === flags.only)) {
    console.error(`unknown bench ${flags.only}\n${USAGE}`);
    process.exit(2);
  }
  const watchdog = setTimeout(
    () => {
      console.error('bench run exceeded its time limit: stopping everything');
      cleanupAll().finally(() => process.exit(1));
    },
    flags.quick ? RUN_LIMIT_MS.quick : RUN_LIMIT_MS.full,
  );
  watchdog.unref();

  const machine = {
    cores: cpus().length,
    cpuModel: cpus()[0]?.model ?? 'unknown',
    memoryGb: Math.round(totalmem() / 2 ** 30),
    node: process.version,
    loadAvgAtStart: loadavg().map((x) => Math.round(x * 100) / 100),
  };
  const command = `npm run bench${flags.quick || flags.only || flags.profile ? ' --' : ''}${flags.quick ? ' --quick' : ''}${flags.only ? ` --only ${flags.only}` : ''}${flags.profile ? ' --profile' : ''}`;
  const startedAt = new Date();
  console.log(
    `vidchat benches: ${machine.cores} × ${machine.cpuModel}, Node ${machine.node}, load ${machine.loadAvgAtStart.join(' ')}`,
  );
  const results = {};
  let failures = 0;
  for (const b of BENCHES) {
    if (flags.only && flags.only !== b.name) continue;
    const path = join(HERE, b.file);
    if (!existsSync(path)) {
      console.log(`\n## ${b.title}: skipped (bench/${b.file} does not exist yet)`);
      results[b.name] = { status: 'missing', file: `bench/${b.file}` };
      continue;
    }
    console.log(`\n## ${b.title} (bench/${b.file})`);
    const t0 = Date.now();
    try {
      const mod = await import(pathToFileURL(path).href);
      if (typeof mod.run !== 'function') throw new Error(`bench/${b.file} exports no run()`);
      const result = await mod.run({ quick: flags.quick, profile: flags.profile });
      const markdown = typeof mod.renderMarkdown === 'function' ? mod.renderMarkdown(result) : genericMarkdown(result);
      results[b.name] = { status: 'ok', seconds: Math.round((Date.now() - t0) / 1000), result, markdown };
      console.log(`\n${markdown}\n\n(${results[b.name].seconds} s)`);
    } catch (err) {
      failures++;
      results[b.name] = { status: 'failed', error: String(err?.stack ?? err) };
      console.error(`bench ${b.name} failed: ${err?.stack ?? err}`);
    } finally {
      // A bench that failed half-way may have left workers running.
      await cleanupAll();
    }
  }
  machine.loadAvgAtEnd = loadavg().map((x) => Math.round(x * 100) / 100);

  const report = { startedAt: startedAt.toISOString(), command, quick: flags.quick, machine, results };
  const resultsDir = join(HERE, 'results');
  mkdirSync(resultsDir, { recursive: true });
  const file = join(resultsDir, `${startedAt.toISOString().replace(/[:.]/g, '-')}.json`);
  writeFileSync(file, JSON.stringify(report, null, 2));
  console.log(`\nresults: ${relative(ROOT, file)}`);
  await writeDoc(report);
  console.log(`tables: ${relative(ROOT, DOC)}`);
  clearTimeout(watchdog);
  if (failures) process.exitCode = 1;
}

/** Rebuilds docs/BENCHMARKS.md from a saved results file with today's renderers; runs nothing. */
async function rerender(file) {
  const report = JSON.parse(readFileSync(file, 'utf8'));
  for (const b of BENCHES) {
    const r = report.results[b.name];
    if (r?.status !== 'ok') continue;
    const mod = await import(pathToFileURL(join(HERE, b.file)).href);
    r.markdown = typeof mod.renderMarkdown === 'function' ? mod.renderMarkdown(r.result) : genericMarkdown(r.result);
  }
  await writeDoc(report);
  console.log(`tables of ${relative(ROOT, file)} written to ${relative(ROOT, DOC)}`);
}

/*
 * docs/BENCHMARKS.md keeps its prose; each bench owns the text between
 * `<!-- bench:<name>:begin -->` and `<!-- bench:<name>:end -->`, and the
 * machine/command block sits between `<!-- bench:machine:… -->` markers.
 * A bench not run this time keeps its previous section.
 */
async function writeDoc(report) {
  let doc = existsSync(DOC) ? readFileSync(DOC, 'utf8') : '# Benchmarks\n';
  const m = report.machine;
  const machineText = [
    `Last run: ${report.startedAt.slice(0, 16).replace('T', ' ')} UTC, \`${report.command}\`${report.quick ? ' (quick: fewer rounds, shorter windows: indicative only)' : ''}.`,
    `Machine: ${m.cores} cores × ${m.cpuModel}, ${m.memoryGb} GB, Node ${m.node}; load average ${m.loadAvgAtStart.join(' / ')} at start, ${m.loadAvgAtEnd.join(' / ')} at end (shared machine).`,
  ].join('\n');
  doc = replaceSection(doc, 'machine', machineText);
  for (const b of BENCHES) {
    const r = report.results[b.name];
    if (!r) continue;
    let text;
    if (r.status === 'ok')
      text = `${r.markdown}\n\n_${report.startedAt.slice(0, 10)}, ${r.seconds} s, \`${report.command}\`._`;
    else if (r.status === 'missing') text = `_Not run: \`bench/${b.file}\` does not exist yet._`;
    else text = `_Failed in the last run: ${String(r.error).split('\n')[0]}_`;
    doc = replaceSection(doc, b.name, text);
  }
  writeFileSync(DOC, await formatMarkdown(doc));
}

/** Formats with the repository's prettier settings, so that `npm run lint` stays green after a run. */
async function formatMarkdown(text) {
  try {
    const prettier = await import('prettier');
    const options = (await prettier.resolveConfig(DOC)) ?? {};
    return await prettier.format(text, { ...options, filepath: DOC });
  } catch (err) {
    console.error(`docs/BENCHMARKS.md left unformatted: ${err?.message ?? err}`);
    return text;
  }
}

function replaceSection(doc, name, text) {
  const begin = `<!-- bench:${name}:begin -->`;
  const end = `<!-- bench:${name}:end -->`;
  const block = `${begin}\n${text}\n${end}`;
  const i = doc.indexOf(begin);
  const j = doc.indexOf(end);
  if (i >= 0 && j > i) return doc.slice(0, i) + block + doc.slice(j + end.length);
  return `${doc.trimEnd()}\n\n${block}\n`;
}

onCleanup(() => undefined);
main().catch(async (err) => {
  console.error(err?.stack ?? err);
  await cleanupAll();
  process.exit(1);
});
