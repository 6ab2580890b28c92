import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { NatsConnection } from '@nats-io/transport-node';
import { decodeEnvelope, mixAudioSubject, tryParseSubject, wildcards } from '@vidchat/protocol';
import { requireBinary, sleep, SmallStack, waitFor, type RunningProcess } from '@vidchat/test-support';
import { decodeOpusPackets, goertzel } from './helpers/audio-analysis.js';
import { startToneAgent } from './helpers/tone-source.js';

/*
 * Mix-minus on a real nats-server: two real capture agents (real ffmpeg)
 * play 440 Hz and 660 Hz; only the 440 Hz one runs with --listen. Its
 * mix-minus, decoded with opus-decoder, must hold the 660 Hz tone and not
 * its own; the room mix holds both; the agent that does not listen gets no
 * mix-minus subject at all.
 */
const ROOM = 'minustest';

interface Received {
  at: number;
  seq: number;
  packet: Uint8Array;
}

let stack: SmallStack;
let nc: NatsConnection;
let mixer: RunningProcess;
const agents: RunningProcess[] = [];
const roomMix: Received[] = [];
/** listener source id → its mix-minus packets. */
const minus = new Map<string, Received[]>();

function record(list: Received[], data: Uint8Array): void {
  const env = decodeEnvelope(data);
  assert.equal(env.kind, 'mixedAudio');
  list.push({ at: Date.now(), seq: env.seq, packet: env.payload.slice() });
}

before(async () => {
  requireBinary('ffmpeg');
  stack = await SmallStack.start({ connect: true });
  nc = stack.nc;
  nc.subscribe(mixAudioSubject(ROOM), { callback: (_err, msg) => record(roomMix, msg.data) });
  nc.subscribe(wildcards.roomMinus(ROOM), {
    callback: (_err, msg) => {
      const parsed = tryParseSubject(msg.subject);
      assert.ok(parsed && parsed.scope === 'mix' && parsed.track === 'minus', msg.subject);
      const list = minus.get(parsed.source) ?? [];
      minus.set(parsed.source, list);
      record(list, msg.data);
    },
  });
  await nc.flush();
  mixer = stack.mixer(['--status-interval-ms', '1000']);
  await mixer.waitForOutput(/mixer started/);
});

after(async () => {
  await stack?.stop();
});

async function decodeWindow(list: Received[], fromMs: number, toMs: number): Promise<Float32Array> {
  const picked = list.filter((r) => r.at >= fromMs && r.at < toMs);
  assert.ok(picked.length > 0, 'no packets in the window');
  return decodeOpusPackets(picked.map((r) => r.packet));
}

test(
  'a listening source gets the mix without its own tone; the room mix has both; a non-listener gets none',
  { timeout: 90_000 },
  async () => {
    agents.push(stack.track(startToneAgent(stack.url, ROOM, 'tone440', 440, ['--listen'])));
    agents.push(stack.track(startToneAgent(stack.url, ROOM, 'tone660', 660)));
    await mixer.waitForOutput(/listener joined room=minustest source=tone440/, 20_000);
    await mixer.waitForOutput(/source joined room=minustest source=tone660/, 20_000);
    await mixer.waitForOutput(/status .*minusStreams=1 /, 20_000);

    // Wait until the room mix holds both tones, then measure a steady window.
    const both = async (): Promise<boolean> => {
      const now = Date.now();
      if (roomMix.filter((r) => r.at >= now - 500).length < 10) return false;
      const pcm = await decodeWindow(roomMix, now - 500, now);
      return goertzel(pcm, 440) > 100 * goertzel(pcm, 550) && goertzel(pcm, 660) > 100 * goertzel(pcm, 550);
    };
    const deadline = Date.now() + 20_000;
    while (!(await both())) {
      assert.ok(Date.now() < deadline, 'the room mix never held both tones');
      await sleep(250);
    }
    const t0 = Date.now();
    await sleep(3_000);
    const t1 = Date.now();

    const mine = await decodeWindow(minus.get('tone440') ?? [], t0, t1);
    const [m440, m660, m550] = [goertzel(mine, 440), goertzel(mine, 660), goertzel(mine, 550)];
    assert.ok(m660 > 100 * m550, `the minus of tone440 holds 660 Hz: ${m660} vs 550 Hz ${m550}`);
    assert.ok(m660 > 100 * m440, `the minus of tone440 has no 440 Hz: 660 Hz ${m660} vs 440 Hz ${m440}`);

    const room = await decodeWindow(roomMix, t0, t1);
    const [r440, r660, r550] = [goertzel(room, 440), goertzel(room, 660), goertzel(room, 550)];
    assert.ok(r440 > 100 * r550 && r660 > 100 * r550, `room mix: 440 Hz ${r440}, 660 Hz ${r660}, 550 Hz ${r550}`);

    // Only the listener has a mix-minus subject, with its own gapless sequence numbers.
    assert.deepEqual([...minus.keys()], ['tone440']);
    const seqs = minus.get('tone440')!.map((r) => r.seq);
    for (let i = 1; i < seqs.length; i++) assert.equal(seqs[i], seqs[i - 1]! + 1);
    assert.equal(seqs[0], 0, 'a listener stream starts at sequence 0');

    // The listener leaves: its mix-minus stops, the room mix goes on.
    const mark = mixer.output().length;
    await agents[0]!.stop();
    await mixer.waitForOutput(/listener left room=minustest source=tone440/, 10_000);
    await sleep(200);
    const count = minus.get('tone440')!.length;
    const roomCount = roomMix.length;
    await sleep(1_000);
    assert.equal(minus.get('tone440')!.length, count, 'mix-minus still published after its listener left');
    assert.ok(roomMix.length > roomCount, 'the room mix goes on for the other source');
    await waitFor(() => /status .*minusStreams=0 /.test(mixer.output().slice(mark)), {
      timeoutMs: 10_000,
      what: 'a status line counting no mix-minus stream',
    });
  },
);
