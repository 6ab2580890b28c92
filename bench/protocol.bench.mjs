// Micro-benchmark of the media envelope codec on a 20 KB video frame (the
// size of a 640x360 JPEG at q5), next to a plain 20 KB memory copy measured
// in the same run. A lone ns/op depends on the machine; the ratio to a
// memcpy does much less, so that column is the one to compare across runs.
//
//   npx tsc -b libs/protocol && node bench/protocol.bench.mjs [--quick]
//
// Exports run({ quick }) → results object, and render(results) → text table,
// for bench/run.mjs.
import { Buffer } from 'node:buffer';
import {
  decodeEnvelope,
  encodedLength,
  encodeEnvelope,
  encodeInto,
  peekEnvelope,
} from '../libs/protocol/dist/src/index.js';
import { runQuickJson } from './lib/cli.mjs';

export const PAYLOAD_BYTES = 20 * 1024;

/** Rounds per operation and the wall time each round aims for. */
const FULL = { rounds: 9, roundMs: 60, warmupMs: 300 };
const QUICK = { rounds: 3, roundMs: 15, warmupMs: 50 };

function makeEnvelope() {
  // Pseudo-random bytes, so that nothing downstream can benefit from a
  // constant buffer; the codec never looks inside the payload anyway.
  const payload = new Uint8Array(PAYLOAD_BYTES);
  let x = 0x12345678;
  for (let i = 0; i < payload.length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    payload[i] = x & 0xff;
  }
  return {
    kind: 'video',
    source: 'cam-1',
    seq: 0,
    captureTimeUs: 1_767_225_600_000_000,
    width: 640,
    height: 360,
    codec: 'jpeg',
    layer: 0,
    payload,
  };
}

/**
 * The operations measured. Each takes the iteration number and returns a
 * number that the harness folds into a checksum, so that the JIT cannot drop
 * the work as dead code.
 */
function operations() {
  const env = makeEnvelope();
  const encoded = encodeEnvelope(env);
  const reused = new Uint8Array(encodedLength(env));
  const header = encoded.subarray(0, encoded.length - PAYLOAD_BYTES);
  const copyTarget = new Uint8Array(PAYLOAD_BYTES);

  // Refuse to time a codec that does not round-trip.
  const back = decodeEnvelope(encoded);
  if (back.payload.length !== PAYLOAD_BYTES || back.payload.buffer !== encoded.buffer || back.width !== 640) {
    throw new Error('decodeEnvelope did not return the envelope (or copied the payload)');
  }

  return {
    envelopeBytes: encoded.length,
    ops: [
      {
        name: 'memcpy 20 KB (Uint8Array.set, reused buffer)',
        key: 'memcpy',
        fn: (i) => {
          copyTarget.set(env.payload);
          return copyTarget[i & 1023];
        },
      },
      {
        name: 'alloc + copy (Buffer.concat of header and payload)',
        key: 'concat',
        fn: (i) => Buffer.concat([header, env.payload])[i & 1023],
      },
      {
        name: 'encodeEnvelope (new buffer)',
        key: 'encode',
        fn: (i) => {
          env.seq = i >>> 0;
          return encodeEnvelope(env)[4 + (i & 3)];
        },
      },
      {
        name: 'encodeInto (reused buffer)',
        key: 'encodeInto',
        fn: (i) => {
          env.seq = i >>> 0;
          return encodeInto(env, reused, 0) + reused[7];
        },
      },
      {
        name: 'decodeEnvelope (payload is a view)',
        key: 'decode',
        fn: () => {
          const d = decodeEnvelope(encoded);
          return d.payload.length + d.width;
        },
      },
      {
        name: 'peekEnvelope (kind and source only)',
        key: 'peek',
        fn: () => peekEnvelope(encoded)?.source.length ?? 0,
      },
    ],
  };
}

/** Runs `fn` `n` times; returns the elapsed ns and the checksum. */
function batch(fn, n) {
  let sum = 0;
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < n; i++) sum += fn(i);
  return { ns: Number(process.hrtime.bigint() - t0), sum };
}

/** Finds an iteration count for which one batch of `fn` takes about `ms`. */
function calibrate(fn, ms) {
  let n = 16;
  for (;;) {
    const { ns } = batch(fn, n);
    if (ns >= ms * 1e6 || n >= 1 << 30) return Math.max(1, Math.round((n * ms * 1e6) / Math.max(ns, 1)));
    n *= 4;
  }
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
};

/**
 * Measures every operation in `rounds` rounds. Rounds interleave the
 * operations, so that a slow patch of the machine (another process, a GC of
 * the previous round, frequency scaling) hits them all rather than one.
 */
export async function run({ quick = false } = {}) {
  const cfg = quick ? QUICK : FULL;
  const { envelopeBytes, ops } = operations();
  let checksum = 0;
  for (const op of ops) {
    checksum += batch(op.fn, calibrate(op.fn, cfg.warmupMs)).sum;
    op.n = calibrate(op.fn, cfg.roundMs);
    op.samples = [];
  }
  for (let r = 0; r < cfg.rounds; r++) {
    for (const op of ops) {
      const { ns, sum } = batch(op.fn, op.n);
      checksum += sum;
      op.samples.push(ns / op.n);
    }
    // Yield between rounds so that a caller's timers and signals still run.
    await new Promise((resolve) => setImmediate(resolve));
  }
  const memcpyNs = median(ops.find((o) => o.key === 'memcpy').samples);
  const results = {};
  for (const op of ops) {
    const ns = median(op.samples);
    results[op.key] = {
      what: op.name,
      nsPerOp: round(ns, 1),
      opsPerSec: Math.round(1e9 / ns),
      xMemcpy: round(ns / memcpyNs, 2),
      minNs: round(Math.min(...op.samples), 1),
      maxNs: round(Math.max(...op.samples), 1),
      itersPerRound: op.n,
    };
  }
  return {
    bench: 'protocol',
    node: process.version,
    payloadBytes: PAYLOAD_BYTES,
    envelopeBytes,
    rounds: cfg.rounds,
    quick,
    ops: results,
    // Printed so that the work is observably used; its value means nothing.
    checksum: checksum % 1_000_003,
  };
}

function round(x, digits) {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

/** A plain-text table of the medians. */
export function render(result) {
  const rows = Object.values(result.ops).map((o) => [
    o.what,
    o.nsPerOp.toFixed(1),
    o.opsPerSec.toLocaleString('en-US'),
    `${o.xMemcpy.toFixed(2)}x`,
    `${o.minNs.toFixed(1)}–${o.maxNs.toFixed(1)}`,
  ]);
  const head = ['operation', 'median ns/op', 'ops/s', 'vs memcpy', 'range ns/op'];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
  return [
    `protocol envelope codec, ${result.payloadBytes}-byte video payload (${result.envelopeBytes}-byte envelope), ` +
      `median of ${result.rounds} rounds, Node ${result.node}${result.quick ? ', --quick' : ''}`,
    '',
    line(head),
    line(widths.map((w) => '-'.repeat(w))),
    ...rows.map(line),
  ].join('\n');
}

await runQuickJson(import.meta.url, run, render);
