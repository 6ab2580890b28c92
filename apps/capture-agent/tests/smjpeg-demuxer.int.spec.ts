import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { SmjpegDemuxer, unwrapEpochMs } from '../src/ffmpeg/smjpeg-demuxer.js';
import { mjpegStream, naiveFrames } from './support/ffmpeg-fixtures.js';

/** SMJPEG as ffmpeg's muxer writes it: preamble, _TXT and _VID header chunks, HEND, then chunks. */
function smjpeg(chunks: Array<{ tag: 'vidD' | 'sndD'; ts: number; data: Uint8Array }>, done = true): Buffer {
  const chunk = (tag: string, body: Buffer): Buffer => {
    const h = Buffer.alloc(8);
    h.write(tag, 0, 'latin1');
    h.writeUInt32BE(body.length, 4);
    return Buffer.concat([h, body]);
  };
  const vid = Buffer.alloc(12);
  vid.writeUInt16BE(160, 4);
  vid.writeUInt16BE(120, 6);
  vid.write('JFIF', 8, 'latin1');
  const parts = [
    Buffer.from([0x00, 0x0a, ...Buffer.from('SMJPEG', 'latin1'), 0, 0, 0, 0, 0, 0, 0, 0]),
    chunk('_TXT', Buffer.from('encoder = Lavf59.27.100', 'latin1')),
    chunk('_VID', vid),
    Buffer.from('HEND', 'latin1'),
  ];
  for (const c of chunks) {
    const h = Buffer.alloc(12);
    h.write(c.tag, 0, 'latin1');
    h.writeUInt32BE(c.ts >>> 0, 4);
    h.writeUInt32BE(c.data.length, 8);
    parts.push(h, Buffer.from(c.data));
  }
  if (done) parts.push(Buffer.from('DONE', 'latin1'));
  return Buffer.concat(parts);
}

function demux(chunks: Iterable<Uint8Array>, maxFrameBytes = 1 << 20) {
  const frames: Array<{ jpeg: Buffer; ts: number }> = [];
  const d = new SmjpegDemuxer((jpeg, ts) => frames.push({ jpeg: Buffer.from(jpeg), ts }), { maxFrameBytes });
  for (const c of chunks) d.push(c);
  return { frames, stats: d.stats };
}

function* bytewise(buf: Uint8Array): Generator<Uint8Array> {
  for (let i = 0; i < buf.length; i++) yield buf.subarray(i, i + 1);
}

const jpegs = naiveFrames(mjpegStream('160x120', 3));

describe('SmjpegDemuxer', () => {
  const stream = smjpeg([
    { tag: 'vidD', ts: 895_739_172, data: jpegs[0]! },
    { tag: 'sndD', ts: 895_739_180, data: Buffer.from([1, 2, 3]) },
    { tag: 'vidD', ts: 895_739_272, data: jpegs[1]! },
    { tag: 'vidD', ts: 4_294_967_295, data: jpegs[2]! },
  ]);

  it('yields each JPEG with its 32-bit ms timestamp, skipping the header and audio chunks', () => {
    const { frames, stats } = demux([stream]);
    assert.deepEqual(
      frames.map((f) => f.ts),
      [895_739_172, 895_739_272, 4_294_967_295],
    );
    frames.forEach((f, i) => assert.ok(f.jpeg.equals(jpegs[i]!)));
    assert.deepEqual(stats, { frames: 3, oversizeFrames: 0, garbageBytes: 0 });
  });

  it('gives the same frames fed one byte at a time', () => {
    const whole = demux([stream]).frames;
    const bytes = demux(bytewise(stream)).frames;
    assert.deepEqual(
      bytes.map((f) => [f.ts, f.jpeg.length]),
      whole.map((f) => [f.ts, f.jpeg.length]),
    );
  });

  it('skips and counts a frame over maxFrameBytes, whole or split across chunks', () => {
    const max = Math.max(jpegs[0]!.length, jpegs[2]!.length);
    const big = Buffer.alloc(max + 1, 0xab);
    const s = smjpeg([
      { tag: 'vidD', ts: 1, data: jpegs[0]! },
      { tag: 'vidD', ts: 2, data: big },
      { tag: 'vidD', ts: 3, data: jpegs[2]! },
    ]);
    for (const chunks of [[s], [s.subarray(0, 200), s.subarray(200, 300), s.subarray(300)], bytewise(s)]) {
      const { frames, stats } = demux(chunks, max);
      assert.deepEqual(
        frames.map((f) => f.ts),
        [1, 3],
      );
      assert.equal(stats.oversizeFrames, 1);
    }
  });

  it('resynchronises on the next frame after garbage, and takes a stream joined mid-way', () => {
    const s = smjpeg([{ tag: 'vidD', ts: 7, data: jpegs[0]! }], false);
    const tail = smjpeg([{ tag: 'vidD', ts: 8, data: jpegs[1]! }]).subarray(s.length - jpegs[0]!.length - 12);
    const { frames, stats } = demux([s, Buffer.from('garbage!'), tail]);
    assert.deepEqual(
      frames.map((f) => f.ts),
      [7, 8],
    );
    assert.equal(stats.garbageBytes, 8);
    const headless = demux([tail]);
    assert.deepEqual(
      headless.frames.map((f) => f.ts),
      [8],
    );
  });

  it('reset() starts over for a new ffmpeg', () => {
    const frames: number[] = [];
    const d = new SmjpegDemuxer((_, ts) => frames.push(ts), { maxFrameBytes: 1 << 20 });
    d.push(stream.subarray(0, 100));
    d.reset();
    d.push(stream);
    assert.deepEqual(frames, [895_739_172, 895_739_272, 4_294_967_295]);
  });
});

describe('unwrapEpochMs', () => {
  it('restores the epoch time from its low 32 bits, the nearest at or before now', () => {
    const t = 1_796_192_068_900;
    const low = t % 2 ** 32;
    assert.equal(unwrapEpochMs(low, t), t);
    assert.equal(unwrapEpochMs(low, t + 75.6), t);
    // Across a wrap of the low bits.
    const w = 2 ** 32 * 418 + 5;
    assert.equal(unwrapEpochMs(2 ** 32 - 10, w), w - 15);
  });
});
