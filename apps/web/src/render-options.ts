/**
 * How a tile decodes JPEGs. `image-decoder`: WebCodecs' ImageDecoder on the
 * payload's bytes (secure contexts only: https and localhost), no Blob. A
 * Blob is registered with the browser process and read back from it by
 * createImageBitmap, a round trip through two more threads per frame.
 * `blob`: Blob + createImageBitmap, the path before ImageDecoder, which
 * works on plain-HTTP origins too.
 */
export type DecodeMethod = 'image-decoder' | 'blob';

export const DECODE_METHODS: readonly DecodeMethod[] = ['image-decoder', 'blob'];
