import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chunksOf, parseByteRange, sliceStream, type ByteRange } from '../src/recordings/byte-range.js';

/*
 * Range parsing and the slicing of a chunked object stream, on synthetic
 * chunks of uneven sizes so that every range starts and ends inside, at the
 * edge of, and across chunks.
 */

test('parseByteRange: the forms of one bytes range, and what is unsatisfiable', () => {
  assert.equal(parseByteRange(undefined, 100), 'whole');
  assert.equal(parseByteRange('items=0-5', 100), 'whole');
  assert.equal(parseByteRange('bytes=0-5,10-20', 100), 'whole');
  assert.equal(parseByteRange('bytes=-', 100), 'whole');
  assert.deepEqual(parseByteRange('bytes=0-9', 100), { start: 0, end: 9 });
  assert.deepEqual(parseByteRange('bytes=90-', 100), { start: 90, end: 99 });
  assert.deepEqual(parseByteRange('bytes=90-1000', 100), { start: 90, end: 99 });
  assert.deepEqual(parseByteRange('bytes=-10', 100), { start: 90, end: 99 });
  assert.deepEqual(parseByteRange('bytes=-1000', 100), { start: 0, end: 99 });
  assert.equal(parseByteRange('bytes=100-', 100), 'unsatisfiable');
  assert.equal(parseByteRange('bytes=10-5', 100), 'unsatisfiable');
  assert.equal(parseByteRange('bytes=-0', 100), 'unsatisfiable');
  assert.equal(parseByteRange('bytes=0-', 0), 'unsatisfiable');
});

function streamOf(chunks: Uint8Array[]): ReadableStream<Uint8Array> {
  let i = 0;
  return new ReadableStream<Uint8Array>({
    pull(c) {
      const next = chunks[i++];
      if (next) c.enqueue(next);
      else c.close();
    },
  });
}

async function collect(chunks: Uint8Array[], range: ByteRange): Promise<number[]> {
  const out: number[] = [];
  for await (const part of sliceStream(chunksOf(streamOf(chunks)), range)) out.push(...part);
  return out;
}

test('sliceStream gives exactly the bytes of every range over uneven chunks', async () => {
  const sizes = [7, 1, 13, 4, 9];
  const whole = Array.from({ length: sizes.reduce((a, b) => a + b, 0) }, (_, i) => i);
  const chunks: Uint8Array[] = [];
  let at = 0;
  for (const n of sizes) {
    chunks.push(Uint8Array.from(whole.slice(at, at + n)));
    at += n;
  }
  for (let start = 0; start < whole.length; start++) {
    for (let end = start; end < whole.length; end++) {
      assert.deepEqual(await collect(chunks, { start, end }), whole.slice(start, end + 1), `${start}-${end}`);
    }
  }
});

test('sliceStream cancels the stream once the range is out', async () => {
  let cancelled = false;
  let pulled = 0;
  const stream = new ReadableStream<Uint8Array>({
    pull(c) {
      pulled++;
      c.enqueue(new Uint8Array(10));
    },
    cancel() {
      cancelled = true;
    },
  });
  let n = 0;
  for await (const part of sliceStream(chunksOf(stream), { start: 5, end: 24 })) n += part.length;
  assert.equal(n, 20);
  assert.ok(cancelled, 'the endless stream was cancelled');
  assert.ok(pulled < 10);
});
