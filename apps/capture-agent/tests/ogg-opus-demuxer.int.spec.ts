import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { OggOpusDemuxer, oggPageCrc } from '../src/ffmpeg/ogg-opus-demuxer.js';
import { opusPacketDurationUs } from '../src/ffmpeg/opus-packet.js';
import { oggOpusTone } from './support/ffmpeg-fixtures.js';

function demux(chunks: Iterable<Uint8Array>, opts: { maxPacketBytes?: number } = {}) {
  const packets: Buffer[] = [];
  const d = new OggOpusDemuxer((p) => packets.push(Buffer.from(p)), opts);
  for (const c of chunks) d.push(c);
  return { packets, stats: d.stats };
}

function* bytewise(buf: Uint8Array): Generator<Uint8Array> {
  for (let i = 0; i < buf.length; i++) yield buf.subarray(i, i + 1);
}

const SERIAL = 0x1234;

/** One Ogg page with the given lacing values and data, CRC filled in. */
function page(opts: { flags: number; seq: number; granule: number; laces: number[]; data: Buffer }): Buffer {
  const header = Buffer.alloc(27 + opts.laces.length);
  header.write('OggS', 0, 'latin1');
  header[4] = 0;
  header[5] = opts.flags;
  header.writeBigInt64LE(BigInt(opts.granule), 6);
  header.writeUInt32LE(SERIAL, 14);
  header.writeUInt32LE(opts.seq, 18);
  header[26] = opts.laces.length;
  opts.laces.forEach((l, i) => (header[27 + i] = l));
  const p = Buffer.concat([header, opts.data]);
  p.writeUInt32LE(oggPageCrc(p), 22);
  return p;
}

/** Lacing values of one whole packet. */
function laces(length: number): number[] {
  const out: number[] = [];
  let left = length;
  while (left >= 255) {
    out.push(255);
    left -= 255;
  }
  out.push(left);
  return out;
}

const filled = (n: number, seed: number): Buffer =>
  Buffer.from(Array.from({ length: n }, (_, i) => (i * 7 + seed) & 0xff));

/** A stream with OpusHead, OpusTags, a 600-byte packet, an exact 510-byte one and one spread over two pages. */
function handMadeStream(): { stream: Buffer; packets: Buffer[] } {
  const head = Buffer.concat([
    Buffer.from('OpusHead', 'latin1'),
    Buffer.from([1, 1, 0x38, 1, 0x80, 0xbb, 0, 0, 0, 0, 0]),
  ]);
  const tags = Buffer.concat([Buffer.from('OpusTags', 'latin1'), Buffer.alloc(8)]);
  const a = filled(600, 1);
  const b = filled(510, 2);
  const c = filled(1000, 3);
  const pages = [
    page({ flags: 0x02, seq: 0, granule: 0, laces: laces(head.length), data: head }),
    page({ flags: 0, seq: 1, granule: 0, laces: laces(tags.length), data: tags }),
    page({ flags: 0, seq: 2, granule: 960, laces: [...laces(600), ...laces(510)], data: Buffer.concat([a, b]) }),
    // c: 510 bytes on this page (two 255 laces, no terminator), the rest on the next.
    page({ flags: 0, seq: 3, granule: -1, laces: [255, 255], data: c.subarray(0, 510) }),
    page({ flags: 0x01, seq: 4, granule: 1920, laces: laces(490), data: c.subarray(510) }),
  ];
  return { stream: Buffer.concat(pages), packets: [a, b, c] };
}

describe('OggOpusDemuxer', () => {
  const real = oggOpusTone(440, 1);

  it('yields the 20 ms Opus packets of real ffmpeg output, without the OpusHead and OpusTags headers, with valid CRCs', () => {
    const got = demux([real]);
    // One second at 20 ms per packet (the encoder may add one for its pre-skip).
    assert.ok(got.packets.length >= 50 && got.packets.length <= 52, `${got.packets.length} packets`);
    assert.equal(got.stats.badCrcPages, 0);
    assert.equal(got.stats.garbageBytes, 0);
    for (const p of got.packets) {
      assert.ok(!p.subarray(0, 8).equals(Buffer.from('OpusHead')) && !p.subarray(0, 8).equals(Buffer.from('OpusTags')));
      assert.equal(opusPacketDurationUs(p), 20_000);
    }
  });

  it('gives the same packets fed one byte at a time', () => {
    assert.deepEqual(demux(bytewise(real)).packets, demux([real]).packets);
  });

  it('reassembles packets of 255+ bytes and packets spanning pages, whole and byte by byte', () => {
    const { stream, packets } = handMadeStream();
    for (const chunks of [[stream], bytewise(stream)]) {
      const got = demux(chunks);
      assert.deepEqual(got.packets, packets);
      assert.equal(got.stats.pages, 5);
      assert.equal(got.stats.droppedPackets, 0);
    }
  });

  it('resynchronises after garbage and a false capture pattern, and skips a page with a bad CRC', () => {
    const { stream, packets } = handMadeStream();
    const pages: Buffer[] = [];
    for (let i = 0; i < stream.length;) {
      const n = 27 + stream[i + 26]!;
      let len = n;
      for (let k = 0; k < stream[i + 26]!; k++) len += stream[i + 27 + k]!;
      pages.push(stream.subarray(i, i + len));
      i += len;
    }
    const garbage = Buffer.from('junk OggS not a page at all \x00\x01', 'latin1');
    const corrupt = Buffer.from(pages[2]!);
    corrupt[40] = corrupt[40]! ^ 0xff; // Breaks the CRC of the page with packets a and b.
    const mangled = Buffer.concat([garbage, pages[0]!, pages[1]!, garbage, corrupt, garbage, pages[3]!, pages[4]!]);
    for (const chunks of [[mangled], bytewise(mangled)]) {
      const got = demux(chunks);
      assert.deepEqual(got.packets, [packets[2]]);
      assert.equal(got.stats.badCrcPages, 1);
      assert.ok(got.stats.garbageBytes >= garbage.length * 3);
    }
  });

  it('drops and counts a packet over maxPacketBytes', () => {
    const { stream, packets } = handMadeStream();
    const got = demux(bytewise(stream), { maxPacketBytes: 700 });
    assert.deepEqual(got.packets, [packets[0], packets[1]]);
    assert.equal(got.stats.droppedPackets, 1);
  });

  it('never emits an empty packet', () => {
    const head = Buffer.concat([Buffer.from('OpusHead', 'latin1'), Buffer.alloc(11)]);
    const stream = Buffer.concat([
      page({ flags: 0x02, seq: 0, granule: 0, laces: laces(head.length), data: head }),
      page({ flags: 0, seq: 1, granule: 0, laces: [4], data: Buffer.from('Tags') }),
      page({ flags: 0, seq: 2, granule: 0, laces: [0, 3], data: Buffer.from([0xfc, 1, 2]) }),
    ]);
    assert.deepEqual(demux([stream]).packets, [Buffer.from([0xfc, 1, 2])]);
  });
});

describe('opusPacketDurationUs', () => {
  it('reads the frame size and count from the TOC byte', () => {
    assert.equal(opusPacketDurationUs(Uint8Array.of(0xf8)), 20_000); // CELT FB 20 ms, one frame.
    assert.equal(opusPacketDurationUs(Uint8Array.of(0xf9)), 40_000); // Two frames.
    assert.equal(opusPacketDurationUs(Uint8Array.of(0xe0)), 2_500); // CELT FB 2.5 ms.
    assert.equal(opusPacketDurationUs(Uint8Array.of(0x18)), 60_000); // SILK NB 60 ms.
    assert.equal(opusPacketDurationUs(Uint8Array.of(0xfb, 0x03)), 60_000); // Code 3, three frames.
    assert.equal(opusPacketDurationUs(Uint8Array.of(0xfb)), null);
    assert.equal(opusPacketDurationUs(new Uint8Array(0)), null);
  });
});
