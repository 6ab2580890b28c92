// Summarises the .cpuprofile files `node --cpu-prof` writes: self time per
// function (and per file), the top entries first.
import { readdirSync, readFileSync, existsSync } from 'node:fs';
import { join, relative } from 'node:path';
import { REPO_ROOT } from './targets.mjs';

export function summariseCpuProfiles(dir, topN = 15) {
  if (!existsSync(dir)) return { dir, files: [], top: [] };
  const files = readdirSync(dir).filter((f) => f.endsWith('.cpuprofile'));
  const self = new Map();
  let totalUs = 0;
  for (const f of files) {
    const prof = JSON.parse(readFileSync(join(dir, f), 'utf8'));
    const byId = new Map(prof.nodes.map((n) => [n.id, n]));
    const dts = prof.timeDeltas ?? [];
    for (let i = 0; i < prof.samples.length; i++) {
      const node = byId.get(prof.samples[i]);
      const dt = dts[i] ?? 0;
      totalUs += dt;
      if (!node) continue;
      const cf = node.callFrame;
      const file = cf.url ? relative(REPO_ROOT, cf.url.replace(/^file:\/\//, '')) : '';
      const key = `${cf.functionName || '(anonymous)'} ${file}${file ? `:${cf.lineNumber + 1}` : ''}`;
      self.set(key, (self.get(key) ?? 0) + dt);
    }
  }
  const top = [...self.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, topN)
    .map(([fn, us]) => ({
      function: fn,
      selfMs: Math.round(us / 1000),
      selfPct: Math.round((us / totalUs) * 1000) / 10,
    }));
  return { dir: relative(REPO_ROOT, dir), files, totalMs: Math.round(totalUs / 1000), top };
}
