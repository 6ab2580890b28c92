import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { MjpegSplitter, type JpegFrameInfo } from '../src/ffmpeg/mjpeg-splitter.js';
import { mjpegStream, naiveFrames } from './support/ffmpeg-fixtures.js';

interface Got {
  frames: Buffer[];
  infos: JpegFrameInfo[];
  splitter: MjpegSplitter;
}

function split(chunks: Iterable<Uint8Array>, maxFrameBytes?: number): Got {
  const frames: Buffer[] = [];
  const infos: JpegFrameInfo[] = [];
  const splitter = new MjpegSplitter(
    (f, info) => {
      // Copy: a frame may be a view of the chunk, which the test reuses.
      frames.push(Buffer.from(f));
      infos.push(info);
    },
    maxFrameBytes === undefined ? {} : { maxFrameBytes },
  );
  for (const c of chunks) splitter.push(c);
  return { frames, infos, splitter };
}

function* bytewise(buf: Uint8Array): Generator<Uint8Array> {
  for (let i = 0; i < buf.length; i++) yield buf.subarray(i, i + 1);
}

/** An APP1 "Exif" segment that carries a whole JPEG as its thumbnail (own SOI, SOF, EOI). */
function app1WithThumbnail(thumb: Buffer): Buffer {
  const body = Buffer.concat([Buffer.from('Exif\0\0', 'latin1'), thumb]);
  const len = Buffer.alloc(2);
  len.writeUInt16BE(body.length + 2);
  return Buffer.concat([Buffer.from([0xff, 0xe1]), len, body]);
}

function withExifThumbnail(frame: Buffer, thumb: Buffer): Buffer {
  return Buffer.concat([frame.subarray(0, 2), app1WithThumbnail(thumb), frame.subarray(2)]);
}

/** A minimal JPEG structure with stuffed 0xFF bytes and restart markers in its scan. */
function syntheticJpeg(width: number, height: number): Buffer {
  const sof = [
    0xff,
    0xc0,
    0x00,
    0x0b,
    0x08,
    height >> 8,
    height & 0xff,
    width >> 8,
    width & 0xff,
    0x01,
    0x01,
    0x11,
    0x00,
  ];
  const sos = [0xff, 0xda, 0x00, 0x08, 0x01, 0x01, 0x00, 0x00, 0x3f, 0x00];
  const scan = [0x12, 0xff, 0x00, 0x34, 0xff, 0xd0, 0x56, 0xff, 0xff, 0xd1, 0x78, 0xff, 0x00, 0xff, 0xd7, 0x9a];
  return Buffer.from([0xff, 0xd8, ...sof, ...sos, ...scan, 0xff, 0xd9]);
}

describe('MjpegSplitter', () => {
  const stream = mjpegStream('320x240', 6);
  const expected = naiveFrames(stream);

  it('splits real ffmpeg output into its frames, with their SOF size', () => {
    assert.equal(expected.length, 6);
    const got = split([stream]);
    assert.deepEqual(got.frames, expected);
    assert.deepEqual(
      got.infos,
      expected.map(() => ({ width: 320, height: 240 })),
    );
    assert.equal(got.splitter.stats.garbageBytes, 0);
    assert.equal(got.splitter.inFrame, false);
  });

  it('gives the same frames fed one byte at a time', () => {
    const got = split(bytewise(stream));
    assert.deepEqual(got.frames, expected);
    assert.equal(got.splitter.stats.frames, 6);
  });

  it('gives the same frames in chunks of every size from 2 to 97 bytes', () => {
    for (const size of [2, 3, 5, 7, 64, 97, 4096]) {
      const chunks: Uint8Array[] = [];
      for (let i = 0; i < stream.length; i += size) chunks.push(stream.subarray(i, i + size));
      assert.deepEqual(split(chunks).frames, expected, `chunk size ${size}`);
    }
  });

  it('handles a split at every position of a two-frame stream (markers cut across chunks)', () => {
    const small = mjpegStream('32x24', 2, 20);
    const want = naiveFrames(small);
    for (let cut = 1; cut < small.length; cut++) {
      const got = split([small.subarray(0, cut), small.subarray(cut)]);
      assert.deepEqual(got.frames, want, `cut at ${cut}`);
    }
  });

  it('does not cut a frame at the EOI of an EXIF thumbnail inside APP1', () => {
    const thumb = naiveFrames(mjpegStream('32x24', 1, 20))[0]!;
    const frames = expected.slice(0, 3).map((f) => withExifThumbnail(f, thumb));
    const whole = Buffer.concat(frames);
    for (const chunks of [[whole], bytewise(whole)]) {
      const got = split(chunks);
      assert.deepEqual(got.frames, frames);
      // The size is the frame's own, not the thumbnail's.
      assert.deepEqual(got.infos[0], { width: 320, height: 240 });
      assert.equal(got.splitter.stats.corruptFrames, 0);
    }
  });

  it('keeps stuffed 0xFF00 bytes and RSTn markers inside the scan', () => {
    const jpeg = syntheticJpeg(16, 8);
    const whole = Buffer.concat([jpeg, jpeg]);
    for (const chunks of [[whole], bytewise(whole)]) {
      const got = split(chunks);
      assert.deepEqual(got.frames, [jpeg, jpeg]);
      assert.deepEqual(got.infos[1], { width: 16, height: 8 });
    }
  });

  it('skips and counts garbage between frames, then resynchronises', () => {
    const garbage = Buffer.from('no jpeg here \x00\x01\x02 FF? \xfe\xd8 \xff\xd7 more', 'latin1');
    const whole = Buffer.concat([garbage, expected[0]!, garbage, expected[1]!, garbage, expected[2]!]);
    for (const chunks of [[whole], bytewise(whole)]) {
      const got = split(chunks);
      assert.deepEqual(got.frames, expected.slice(0, 3));
      assert.equal(got.splitter.stats.garbageBytes, garbage.length * 3);
    }
  });

  it('drops a frame cut short by the next SOI and keeps the next one', () => {
    const cutShort = expected[0]!.subarray(0, 700);
    const whole = Buffer.concat([cutShort, expected[1]!, expected[2]!]);
    for (const chunks of [[whole], bytewise(whole)]) {
      const got = split(chunks);
      assert.deepEqual(got.frames, expected.slice(1, 3));
      assert.equal(got.splitter.stats.corruptFrames, 1);
    }
  });

  it('drops and counts oversize frames and keeps the ones after them', () => {
    const small = naiveFrames(mjpegStream('32x24', 2, 20));
    const big = expected[0]!;
    const limit = Math.max(small[0]!.length, small[1]!.length) + 10;
    assert.ok(big.length > limit);
    const whole = Buffer.concat([small[0]!, big, small[1]!, big]);
    for (const chunks of [[whole], bytewise(whole)]) {
      const got = split(chunks, limit);
      assert.deepEqual(got.frames, small);
      assert.equal(got.splitter.stats.oversizeFrames, 2);
    }
  });

  it('emits a frame that fills one chunk as a view of it, without a copy', () => {
    const frame = expected[0]!;
    let seen: Uint8Array | null = null;
    new MjpegSplitter((f) => (seen = f)).push(frame);
    assert.ok(seen !== null);
    assert.equal((seen as Uint8Array).buffer, frame.buffer);
  });
});
