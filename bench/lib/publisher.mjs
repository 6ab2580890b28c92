// Publisher worker: 4 cameras × 30 fps of real JPEGs as `video` envelopes on
// videoSubject(room, camN), plus presence (join, then a heartbeat each
// second), to a real nats-server. Runs in its own process so that its CPU
// never counts against what is measured. captureTimeUs is stamped at publish
// time with the clock the load client reads (nowUs).
//
//   fork('bench/lib/publisher.mjs', ['--nats', url, '--room', r, '--cams', '4', '--fps', '30'])
//   requests: counts → { video, bytes }, stop → leave presence and exit.
import { connect } from '@nats-io/transport-node';
import { encodeEnvelope, encodePresence, presenceSubject, videoSubject, PRESENCE_INTERVAL_MS } from '@vidchat/protocol';
import { benchJpegs, JPEG_HEIGHT, JPEG_WIDTH } from './jpegs.mjs';
import { nowUs } from './procs.mjs';
import { parseArgs, serveIpc } from './worker.mjs';

const args = parseArgs(process.argv.slice(2));
const room = args.room ?? 'bench';
const cams = Number(args.cams ?? 4);
const fps = Number(args.fps ?? 30);
/** A publisher more than this late skips frames instead of bursting them. */
const MAX_CATCH_UP_MS = 200;

const jpegs = benchJpegs();
const nc = await connect({ servers: args.nats, name: 'vidchat-bench-publisher' });
const sources = Array.from({ length: cams }, (_, i) => `cam${i + 1}`);
const counts = { video: 0, bytes: 0, skipped: 0 };
const seqs = new Array(cams).fill(0);
/** Capture times of the last frames published (a ring, ~2 min at 4 × 30 fps). */
const SENT_RING = 16_384;
const sent = new Float64Array(SENT_RING);
let sentAt = 0;

function presence(source, type) {
  return encodePresence({
    v: 1,
    type,
    room,
    source,
    name: `bench ${source}`,
    ts: Date.now(),
    video: { codec: 'jpeg', width: JPEG_WIDTH, height: JPEG_HEIGHT, fps },
    audio: null,
  });
}

for (const s of sources) nc.publish(presenceSubject(room, s), presence(s, 'join'));
const heartbeat = setInterval(() => {
  for (const s of sources) nc.publish(presenceSubject(room, s), presence(s, 'heartbeat'));
}, PRESENCE_INTERVAL_MS);

/*
 * Frame clock: camera i is due at t0 + i·period/cams + k·period, so the four
 * cameras interleave as independent devices would rather than arriving in
 * bursts of four.
 */
const periodMs = 1000 / fps;
const t0 = performance.now();
const next = sources.map((_, i) => t0 + (i * periodMs) / cams);
let timer = null;
let running = true;

function tick() {
  if (!running) return;
  const now = performance.now();
  for (let i = 0; i < cams; i++) {
    if (now - next[i] > MAX_CATCH_UP_MS) {
      const missed = Math.floor((now - next[i]) / periodMs);
      counts.skipped += missed;
      next[i] += missed * periodMs;
    }
    while (next[i] <= now) {
      const seq = seqs[i]++;
      const payload = jpegs[seq % jpegs.length];
      const captureTimeUs = nowUs();
      const env = encodeEnvelope({
        kind: 'video',
        source: sources[i],
        seq: seq >>> 0,
        captureTimeUs,
        width: JPEG_WIDTH,
        height: JPEG_HEIGHT,
        codec: 'jpeg',
        layer: 0,
        payload,
      });
      nc.publish(videoSubject(room, sources[i]), env);
      sent[sentAt++ % SENT_RING] = captureTimeUs;
      counts.video++;
      counts.bytes += env.length;
      next[i] += periodMs;
    }
  }
  const wait = Math.max(0, Math.min(...next) - performance.now());
  timer = setTimeout(tick, wait);
}
tick();

serveIpc(
  {
    counts: () => ({ ...counts }),
    /** Frames published with a capture time in [fromUs, toUs]. */
    countBetween: ({ fromUs, toUs }) => {
      let n = 0;
      const k = Math.min(sentAt, SENT_RING);
      for (let i = 0; i < k; i++) if (sent[i] >= fromUs && sent[i] <= toUs) n++;
      return { video: n };
    },
    stop: () => ({ ...counts }),
  },
  {
    onExit: async () => {
      running = false;
      clearTimeout(timer);
      clearInterval(heartbeat);
      try {
        for (const s of sources) nc.publish(presenceSubject(room, s), presence(s, 'leave'));
        await nc.drain();
      } catch {
        // Already closed.
      }
    },
  },
);
process.send?.({ type: 'ready', sources });
