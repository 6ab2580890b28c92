import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Encoder } from '@evan/opus';
import { opusPacketHasFec } from '../src/codec/opus-fec.js';
import { LibopusDecoder } from '../src/codec/libopus-wasm.js';
import { harmonicPackets } from './helpers/lossy-mix.js';

describe('opusPacketHasFec', () => {
  const fec = harmonicPackets(200, { fec: true, packetLossPercent: 10 });

  it('finds the LBRR flag in libopus packets made with FEC, and never in packets made without', () => {
    const flagged = fec.filter(opusPacketHasFec).length;
    assert.ok(flagged > 100, `${flagged} of 200 packets carry FEC`);
    assert.equal(harmonicPackets(200, { fec: false, packetLossPercent: 0 }).filter(opusPacketHasFec).length, 0);
  });

  it('says no for CELT-only packets, empty input and a lone TOC byte', () => {
    const enc = new Encoder({ channels: 1, sample_rate: 48_000, application: 'restricted_lowdelay' });
    enc.inband_fec = true;
    enc.packet_loss = 20;
    const celt = enc.encode(new Int16Array(960).map((_, i) => Math.round(8_000 * Math.sin(i / 7))));
    assert.ok(celt[0]! >> 3 >= 16, 'CELT only');
    assert.equal(opusPacketHasFec(celt), false);
    assert.equal(opusPacketHasFec(new Uint8Array(0)), false);
    assert.equal(opusPacketHasFec(Uint8Array.of(0x48)), false);
  });

  it('reads the first frame behind code 1, 2 and 3 framing (with padding) the same', () => {
    const p = fec.find((x, k) => k > 20 && opusPacketHasFec(x))!;
    assert.equal(p[0]! & 3, 0);
    const data = p.subarray(1);
    const code1 = Uint8Array.of((p[0]! & ~3) | 1, ...data, ...data);
    const code2 = Uint8Array.of((p[0]! & ~3) | 2, data.length, ...data, ...data);
    // Code 3: one frame, padding flag, two bytes of padding length (255 → 254 + next), CBR.
    const code3 = Uint8Array.of((p[0]! & ~3) | 3, 0x41, 255, 1, ...data, ...new Uint8Array(255));
    for (const x of [code1, code2, code3]) assert.equal(opusPacketHasFec(x), true);
    const without = Uint8Array.of(p[0]!, p[1]! & ~0x40, ...p.subarray(2));
    assert.equal(opusPacketHasFec(without), false);
  });
});

describe('LibopusDecoder', () => {
  it('decodes, conceals and rebuilds from FEC 20 ms at a time, and refuses bad input with a typed error', () => {
    const packets = harmonicPackets(30, { fec: true, packetLossPercent: 10 });
    const dec = new LibopusDecoder(48_000, 1);
    for (let k = 0; k < 20; k++) assert.equal(dec.decode(packets[k]!).length, 960);
    assert.equal(dec.conceal(960).length, 960);
    assert.equal(dec.decodeFec(packets[22]!, 960).length, 960);
    assert.throws(() => dec.decode(new Uint8Array(0)), { name: 'LibopusError', code: 'ERR_OPUS_DECODE' });
    assert.throws(() => dec.decode(Uint8Array.of(0xff, 0xff, 0xff)), { code: 'ERR_OPUS_DECODE' });
    dec.close();
    dec.close();
    assert.equal(dec.closed, true);
    assert.throws(() => dec.conceal(960), { code: 'ERR_OPUS_DECODE' });
  });
});
