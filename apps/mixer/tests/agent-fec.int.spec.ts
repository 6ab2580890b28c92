import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { audioSubject, decodeEnvelope } from '@vidchat/protocol';
import { startNatsFixture, waitFor, type NatsFixture, type RunningProcess } from '@vidchat/test-support';
import { opusPacketHasFec } from '../src/codec/opus-fec.js';
import { startAudioAgent, VOWEL_INPUT } from './helpers/tone-source.js';

/*
 * What the mixer gets from a real capture agent (real ffmpeg, real
 * nats-server): Opus packets with in-band FEC, which the mixer can use.
 */
const ROOM = 'fectest';

describe('capture agent audio, as the mixer receives it', { timeout: 60_000 }, () => {
  let fixture: NatsFixture;
  let nc: NatsConnection;
  const agents: RunningProcess[] = [];

  before(async () => {
    fixture = await startNatsFixture();
    nc = await connect({ servers: fixture.url });
  });

  after(async () => {
    for (const a of agents) await a.stop().catch(() => undefined);
    await nc?.close();
    await fixture?.stop();
  });

  async function collect(source: string, extra: string[], count: number): Promise<Uint8Array[]> {
    const packets: Uint8Array[] = [];
    const sub = nc.subscribe(audioSubject(ROOM, source), {
      callback: (_err, msg) => {
        const env = decodeEnvelope(msg.data);
        if (env.kind === 'audio') packets.push(env.payload.slice());
      },
    });
    const agent = startAudioAgent(fixture.url, ROOM, source, ['--ffmpeg-audio-input', VOWEL_INPUT, ...extra]);
    agents.push(agent);
    await waitFor(() => packets.length >= count, { timeoutMs: 30_000, what: `${count} audio packets from ${source}` });
    sub.unsubscribe();
    await agent.stop();
    return packets;
  }

  it('sends SILK or hybrid packets that carry FEC by default (voip, -fec 1, 10% expected loss)', async () => {
    const packets = await collect('withfec', [], 150);
    const celt = packets.filter((p) => p[0]! >> 3 >= 16).length;
    assert.equal(celt, 0, 'no CELT-only packet: CELT cannot carry FEC');
    const flagged = packets.filter(opusPacketHasFec).length;
    assert.ok(flagged >= packets.length * 0.4, `${flagged} of ${packets.length} packets carry FEC`);
  });

  it('sends none with --audio-packet-loss 0', async () => {
    const packets = await collect('nofec', ['--audio-packet-loss', '0'], 100);
    assert.equal(packets.filter(opusPacketHasFec).length, 0);
  });
});
