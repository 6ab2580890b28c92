/**
 * How a tile decodes JPEGs. `image-decoder`: WebCodecs' ImageDecoder on the
 * payload's bytes (secure contexts only: https and localhost), no Blob. A
 * Blob is registered with the browser process and read back from it by
 * createImageBitmap, a round trip through two more threads per frame.
 * `blob`: Blob + createImageBitmap, the path before ImageDecoder, which
 * works on plain-HTTP origins too. `auto`: ImageDecoder for small pictures
 * (at most SMALL_PICTURE_PX), Blob for larger ones: ImageDecoder's pictures
 * are YUV, turned into RGB on the page's main thread when drawn: for nine
 * 640x360 tiles that put ~8% of a core more on the main thread for about the
 * same total CPU as Blob (bench/grid-viewer, docs/BENCHMARKS.md).
 */
export type DecodeMethod = 'auto' | 'image-decoder' | 'blob';

export const DECODE_METHODS: readonly DecodeMethod[] = ['auto', 'image-decoder', 'blob'];

/** Largest picture (width × height) `auto` decodes with ImageDecoder: 400x225 and below (a 320x180 layer 1: yes; 640x360: no). */
export const SMALL_PICTURE_PX = 90_000;
