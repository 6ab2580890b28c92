import { readFileSync } from 'node:fs';

/*
 * What the stack tests read from outside a process: the gateway's HTTP
 * endpoints and a process's resident memory from /proc. No process is asked
 * about itself through a test-only door.
 */

/** The status code of `GET /healthz`, or 0 when the port does not answer. */
export async function healthStatus(port: number): Promise<number> {
  try {
    const res = await fetch(`http://127.0.0.1:${port}/healthz`, { signal: AbortSignal.timeout(2_000) });
    await res.arrayBuffer();
    return res.status;
  } catch {
    return 0;
  }
}

/** Prometheus samples of `GET /metrics`, keyed by `name{labels}` exactly as printed. */
export async function scrapeMetrics(port: number): Promise<Map<string, number>> {
  const res = await fetch(`http://127.0.0.1:${port}/metrics`, { signal: AbortSignal.timeout(5_000) });
  const text = await res.text();
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const space = line.lastIndexOf(' ');
    out.set(line.slice(0, space), Number(line.slice(space + 1)));
  }
  return out;
}

/** Sum of every sample of metric `name` whose labels contain `labelMatch` (e.g. `reason="source-cap"`). */
export function metricSum(samples: Map<string, number>, name: string, labelMatch = ''): number {
  let sum = 0;
  for (const [key, v] of samples) {
    const base = key.includes('{') ? key.slice(0, key.indexOf('{')) : key;
    if (base === name && key.includes(labelMatch)) sum += v;
  }
  return sum;
}

/** Resident set size of a process in bytes, from /proc/<pid>/status. */
export function rssBytes(pid: number): number {
  const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (!m) throw new Error(`no VmRSS in /proc/${pid}/status`);
  return Number(m[1]) * 1024;
}
