import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { NatsConnection } from '@nats-io/transport-node';
import {
  decodeEnvelope,
  decodeLevelsPayload,
  mixAudioSubject,
  mixLevelsSubject,
  type LevelsMessage,
} from '@vidchat/protocol';
import { requireBinary, sleep, SmallStack, waitFor, type RunningProcess } from '@vidchat/test-support';
import { decodeOpusFrames, goertzel, joinFrames } from './helpers/audio-analysis.js';
import { startToneAgent } from './helpers/tone-source.js';

/*
 * The mixer on a real nats-server with two real tone sources (440 Hz and
 * 660 Hz, two capture agents running real ffmpeg). The
 * mix is decoded with opus-decoder and checked with the Goertzel algorithm.
 */
const ROOM = 'mixtest';

interface Received {
  at: number;
  packet: Uint8Array;
}

let stack: SmallStack;
let nc: NatsConnection;
let mixer: RunningProcess;
const sources: RunningProcess[] = [];
const audio: Received[] = [];
const levels: LevelsMessage[] = [];

before(async () => {
  requireBinary('ffmpeg');
  stack = await SmallStack.start({ connect: true });
  nc = stack.nc;
  nc.subscribe(mixAudioSubject(ROOM), {
    callback: (_err, msg) => {
      const env = decodeEnvelope(msg.data);
      assert.equal(env.kind, 'mixedAudio');
      audio.push({ at: Date.now(), packet: env.payload.slice() });
    },
  });
  nc.subscribe(mixLevelsSubject(ROOM), {
    callback: (_err, msg) => {
      levels.push(decodeLevelsPayload(decodeEnvelope(msg.data).payload));
    },
  });
  mixer = stack.mixer(['--status-interval-ms', '2000']);
  await mixer.waitForOutput(/mixer started/);
});

after(async () => {
  await stack?.stop();
});

async function decodeWindow(
  fromMs: number,
  toMs: number,
): Promise<{ pcm: Float32Array; packets: number; parts: Float32Array[] }> {
  const picked = audio.filter((r) => r.at >= fromMs && r.at < toMs);
  const parts = await decodeOpusFrames(picked.map((r) => r.packet));
  const pcm = joinFrames(parts);
  return { pcm, packets: picked.length, parts };
}

/**
 * The median over packets of the power at `hz`: a source's level that a few
 * concealed or late packets on a loaded machine do not move, unlike the
 * power of the whole window.
 */
function medianPower(parts: Float32Array[], hz: number): number {
  const p = parts
    .filter((x) => x.length > 0)
    .map((x) => goertzel(x, hz))
    .sort((a, b) => a - b);
  return p[Math.floor(p.length / 2)] ?? 0;
}

test(
  'two tone sources are mixed into one stream at 50 packets/s, with levels; a leaver is gone; the room stops',
  { timeout: 60_000 },
  async () => {
    sources.push(stack.track(startToneAgent(stack.url, ROOM, 'tone440', 440)));
    sources.push(stack.track(startToneAgent(stack.url, ROOM, 'tone660', 660)));
    await mixer.waitForOutput(/room started room=mixtest/);

    // Levels name both sources once both are heard.
    await waitFor(
      () =>
        levels.some(
          (l) =>
            l.room === ROOM &&
            ['tone440', 'tone660'].every((s) => l.sources.some((e) => e.source === s && e.dbfs > -40)),
        ),
      { timeoutMs: 10_000, what: 'levels naming both sources above -40 dBFS' },
    );

    // Both tones, steady state.
    const t0 = Date.now();
    await sleep(3_000);
    const both = await decodeWindow(t0, t0 + 3_000);
    // 50/s is the mixer's pace; the bounds only catch a doubled or halved
    // stream, since a loaded machine delays deliveries in and out of a window.
    const rate = both.packets / 3;
    assert.ok(rate >= 30 && rate <= 70, `mixed packets per second ${rate}`);
    const p440 = goertzel(both.pcm, 440);
    const p660 = goertzel(both.pcm, 660);
    const p550 = goertzel(both.pcm, 550);
    const p1000 = goertzel(both.pcm, 1000);
    assert.ok(p440 > 100 * p550 && p440 > 100 * p1000, `440 Hz ${p440} vs 550 Hz ${p550}, 1 kHz ${p1000}`);
    assert.ok(p660 > 100 * p550 && p660 > 100 * p1000, `660 Hz ${p660} vs 550 Hz ${p550}, 1 kHz ${p1000}`);
    let peak = 0;
    for (const v of both.pcm) peak = Math.max(peak, Math.abs(v));
    assert.ok(peak < 0.99, `peak ${peak}: the mix clips`);

    // One source leaves mid-stream: the other tone stays, the leaver's is gone.
    await sources[1]!.stop();
    await mixer.waitForOutput(/source left room=mixtest source=tone660/);
    await sleep(500);
    const t1 = Date.now();
    await sleep(2_000);
    const one = await decodeWindow(t1, t1 + 2_000);
    const q440 = goertzel(one.pcm, 440);
    const q660 = goertzel(one.pcm, 660);
    assert.ok(q440 > 100 * goertzel(one.pcm, 550), `440 Hz after the leave: ${q440}`);
    assert.ok(q660 * 1000 < q440, `660 Hz should be gone: ${q660} vs 440 Hz ${q440}`);
    const m440Both = medianPower(both.parts, 440);
    const m440One = medianPower(one.parts, 440);
    assert.ok(Math.abs(m440One - m440Both) / m440Both < 0.5, `440 Hz level changed: ${m440Both} → ${m440One}`);
    const lastLevels = levels[levels.length - 1]!;
    assert.deepEqual(
      lastLevels.sources.map((s) => s.source),
      ['tone440'],
    );

    // The last source leaves: the room's work stops and no more mix is published.
    await sources[0]!.stop();
    await mixer.waitForOutput(/room stopped room=mixtest/);
    await sleep(200);
    const count = audio.length;
    await sleep(1_000);
    assert.equal(audio.length, count, 'mixed audio still published after the room stopped');
  },
);
