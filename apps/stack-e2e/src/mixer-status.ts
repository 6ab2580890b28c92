/*
 * The mixer exposes its counters only on its status log line
 * (`… info  [mixer] status rooms=1 sources=1 packetsIn=50 rejected=0 …`),
 * each field a difference since the previous line. Summing a field over the
 * lines printed after some point gives the total since then.
 */

/** Sum of `field=` over the mixer's status lines in `output` from character `fromIndex` on. */
export function mixerStatusSum(output: string, field: string, fromIndex = 0): number {
  let sum = 0;
  const re = new RegExp(`\\[mixer\\] status .*\\b${field}=(-?\\d+)`, 'g');
  for (const m of output.slice(fromIndex).matchAll(re)) sum += Number(m[1]);
  return sum;
}

/** The fields of the latest status line, or null before the first one. */
export function lastMixerStatus(output: string): Record<string, number> | null {
  const lines = output.split('\n').filter((l) => l.includes('[mixer] status '));
  const last = lines.at(-1);
  if (!last) return null;
  const out: Record<string, number> = {};
  for (const m of last.matchAll(/(\w+)=(-?\d+)/g)) out[m[1]!] = Number(m[2]);
  return out;
}
