/*
 * The `Range` header of a download (RFC 9110 §14): one `bytes=` range is
 * served as 206; several ranges are answered with the whole file (allowed by
 * the RFC, and players ask for one); a range past the end is unsatisfiable.
 */

/** Inclusive byte range. */
export interface ByteRange {
  start: number;
  end: number;
}

/** `whole` when there is no usable range, `unsatisfiable` for 416, else the range clipped to `size`. */
export function parseByteRange(header: string | undefined, size: number): ByteRange | 'whole' | 'unsatisfiable' {
  if (header === undefined) return 'whole';
  const m = /^\s*bytes\s*=\s*(\d*)\s*-\s*(\d*)\s*$/i.exec(header);
  if (!m) return 'whole';
  const [, from = '', to = ''] = m;
  if (from === '' && to === '') return 'whole';
  if (from === '') {
    // A suffix: the last `to` bytes.
    const n = Number(to);
    if (n === 0 || size === 0) return 'unsatisfiable';
    return { start: Math.max(0, size - n), end: size - 1 };
  }
  const start = Number(from);
  const end = to === '' ? size - 1 : Math.min(Number(to), size - 1);
  if (start >= size || (to !== '' && Number(to) < start)) return 'unsatisfiable';
  return { start, end };
}

/**
 * The bytes `range` of a chunked stream: whole chunks before the range are
 * dropped unread, the first and last are cut with views (no copy), and the
 * stream is cancelled once the range is out (leaving the loop does it).
 */
export async function* sliceStream(
  chunks: AsyncIterable<Uint8Array>,
  range: ByteRange,
): AsyncGenerator<Uint8Array, void, undefined> {
  let offset = 0;
  for await (const chunk of chunks) {
    const chunkEnd = offset + chunk.length;
    if (chunkEnd > range.start) {
      const from = Math.max(0, range.start - offset);
      const to = Math.min(chunk.length, range.end + 1 - offset);
      if (to > from) yield chunk.subarray(from, to);
    }
    offset = chunkEnd;
    if (offset > range.end) return;
  }
}

/** The chunks of a web `ReadableStream`; leaving the loop early cancels the stream (and its JetStream consumer). */
export async function* chunksOf(stream: ReadableStream<Uint8Array>): AsyncGenerator<Uint8Array, void, undefined> {
  const reader = stream.getReader();
  let done = false;
  try {
    for (;;) {
      const next = await reader.read();
      if (next.done) {
        done = true;
        return;
      }
      yield next.value;
    }
  } finally {
    if (!done) await reader.cancel().catch(() => undefined);
    reader.releaseLock();
  }
}
