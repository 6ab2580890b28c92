// Statistics for the benches: a fixed-bucket latency histogram (bounded
// memory, mergeable across processes over IPC) and medians of runs.

/*
 * Bucket layout: 0.1 ms steps below 100 ms (indexes 0..999), 1 ms steps from
 * 100 ms to 5 s (1000..5899), and one overflow bucket. A quantile is reported
 * as the upper edge of its bucket, so figures are at most 0.1 ms (1 ms above
 * 100 ms) pessimistic. Negative latencies (clock quirks) land in bucket 0.
 */
const FINE_BUCKETS = 1000;
const FINE_STEP_MS = 0.1;
const COARSE_STEP_MS = 1;
const COARSE_BUCKETS = 4900;
export const HISTOGRAM_BUCKETS = FINE_BUCKETS + COARSE_BUCKETS + 1;
const FINE_LIMIT_MS = FINE_BUCKETS * FINE_STEP_MS;
const COARSE_LIMIT_MS = FINE_LIMIT_MS + COARSE_BUCKETS * COARSE_STEP_MS;

export class LatencyHistogram {
  constructor(counts) {
    this.counts = counts ? Uint32Array.from(counts) : new Uint32Array(HISTOGRAM_BUCKETS);
  }

  record(ms) {
    let i;
    if (!(ms > 0)) i = 0;
    else if (ms < FINE_LIMIT_MS) i = Math.floor(ms / FINE_STEP_MS);
    else if (ms < COARSE_LIMIT_MS) i = FINE_BUCKETS + Math.floor((ms - FINE_LIMIT_MS) / COARSE_STEP_MS);
    else i = HISTOGRAM_BUCKETS - 1;
    this.counts[i]++;
  }

  reset() {
    this.counts.fill(0);
  }

  merge(other) {
    const c = other instanceof LatencyHistogram ? other.counts : other;
    for (let i = 0; i < HISTOGRAM_BUCKETS; i++) this.counts[i] += c[i] ?? 0;
    return this;
  }

  get total() {
    let n = 0;
    for (const c of this.counts) n += c;
    return n;
  }

  /** Upper bucket edge (ms) below which fraction `q` of the samples fall; null when empty. */
  quantile(q) {
    const total = this.total;
    if (total === 0) return null;
    const rank = Math.max(1, Math.ceil(q * total));
    let seen = 0;
    for (let i = 0; i < HISTOGRAM_BUCKETS; i++) {
      seen += this.counts[i];
      if (seen >= rank) return bucketUpperEdge(i);
    }
    return Infinity;
  }

  /** A compact form for IPC: [index, count] pairs of non-empty buckets. */
  toSparse() {
    const out = [];
    for (let i = 0; i < HISTOGRAM_BUCKETS; i++) if (this.counts[i] !== 0) out.push([i, this.counts[i]]);
    return out;
  }

  static fromSparse(pairs) {
    const h = new LatencyHistogram();
    for (const [i, n] of pairs) h.counts[i] += n;
    return h;
  }
}

function bucketUpperEdge(i) {
  if (i < FINE_BUCKETS) return round((i + 1) * FINE_STEP_MS, 1);
  if (i < HISTOGRAM_BUCKETS - 1) return round(FINE_LIMIT_MS + (i - FINE_BUCKETS + 1) * COARSE_STEP_MS, 1);
  return Infinity;
}

export function median(values) {
  const v = values.filter((x) => typeof x === 'number' && Number.isFinite(x)).sort((a, b) => a - b);
  if (v.length === 0) return null;
  const mid = v.length >> 1;
  return v.length % 2 ? v[mid] : (v[mid - 1] + v[mid]) / 2;
}

export function minOf(values) {
  const v = values.filter((x) => typeof x === 'number' && Number.isFinite(x));
  return v.length ? Math.min(...v) : null;
}

export function maxOf(values) {
  const v = values.filter((x) => typeof x === 'number' && Number.isFinite(x));
  return v.length ? Math.max(...v) : null;
}

export function round(x, digits = 2) {
  if (x === null || x === undefined || !Number.isFinite(x)) return x ?? null;
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

/** Medians, field by field, of a list of flat result objects (numbers only). */
export function medianOfRuns(runs) {
  const keys = new Set(runs.flatMap((r) => Object.keys(r)));
  const out = {};
  for (const k of keys) {
    const vals = runs.map((r) => r[k]);
    if (vals.some((v) => typeof v === 'number')) out[k] = median(vals);
  }
  return out;
}
