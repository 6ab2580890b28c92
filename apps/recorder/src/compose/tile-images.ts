import sharp from 'sharp';

/*
 * JPEG decoding and name labels, through sharp (libvips with libjpeg-turbo,
 * shipped prebuilt in the npm package). Each call runs on libuv's thread
 * pool, off the event loop. One libvips thread per image: many small images
 * at once use the cores better than few images split across threads.
 */
sharp.concurrency(1);

export interface RgbImage {
  width: number;
  height: number;
  /** Packed RGB, width × height × 3 bytes. */
  data: Buffer;
}

/** Decodes a JPEG and scales it into a width×height box, letterboxed on black, as RGB. */
export async function decodeIntoBox(jpeg: Uint8Array, width: number, height: number): Promise<RgbImage> {
  const { data, info } = await sharp(jpeg, { failOn: 'error' })
    .resize(width, height, { fit: 'contain', background: { r: 0, g: 0, b: 0 }, kernel: 'linear' })
    .toColourspace('srgb')
    .removeAlpha()
    .raw()
    .toBuffer({ resolveWithObject: true });
  if (info.width !== width || info.height !== height || info.channels !== 3) {
    throw new Error(`sharp returned ${info.width}x${info.height}x${info.channels}, wanted ${width}x${height}x3`);
  }
  return { width, height, data };
}

/** Pango markup is XML: a name is always text, never markup. */
function escapeMarkup(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** The name drawn white on a dark strip of width×height, centred, as RGB. */
export async function renderLabel(name: string, width: number, height: number): Promise<RgbImage> {
  const textHeight = Math.max(8, Math.round(height * 0.7));
  const background = { r: 24, g: 24, b: 24 };
  const strip = sharp({ create: { width, height, channels: 3, background } });
  const text =
    name.trim() === ''
      ? null
      : await sharp({
          text: {
            text: `<span foreground="white">${escapeMarkup(name)}</span>`,
            font: 'DejaVu Sans',
            height: textHeight,
            width: Math.max(8, width - 8),
            rgba: true,
          },
        })
          .png()
          .toBuffer({ resolveWithObject: true })
          .catch(() => null);
  const composed = text
    ? strip.composite([
        {
          input: text.data,
          left: Math.max(0, Math.floor((width - text.info.width) / 2)),
          top: Math.max(0, Math.floor((height - text.info.height) / 2)),
        },
      ])
    : strip;
  const { data, info } = await composed.removeAlpha().raw().toBuffer({ resolveWithObject: true });
  if (info.width !== width || info.height !== height || info.channels !== 3) {
    throw new Error(`label came out ${info.width}x${info.height}x${info.channels}`);
  }
  return { width, height, data };
}
