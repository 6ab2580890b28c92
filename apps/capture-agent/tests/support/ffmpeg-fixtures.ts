/*
 * The media itself is made by the real ffmpeg at test time (test-support);
 * this adds the reference splitter the agent's own splitter is checked against.
 */
export { mjpegStream, oggOpusTone } from '@vidchat/test-support';

/** Splits a stream of JPEGs by their SOI offsets, known here because ffmpeg wrote no EXIF. */
export function naiveFrames(stream: Buffer): Buffer[] {
  const out: Buffer[] = [];
  let start = 0;
  for (;;) {
    const end = stream.indexOf(Buffer.from([0xff, 0xd9]), start);
    if (end === -1) break;
    out.push(stream.subarray(start, end + 2));
    start = end + 2;
  }
  return out;
}
