import type { VideoLayerInfo } from './presence.js';

/*
 * Which video layer a consumer should take for a picture of a given width:
 * the web viewer's tiles and the recorder's grid cells use the same rule.
 * The smallest layer at least two thirds as wide as the picture is sharp
 * enough (a little upscaling does not show at tile size: a 3x3 grid at
 * 1280x800 has ~405 px tiles, which take a 320 px layer 1). Pure.
 */

/** A layer this fraction of the picture's width (in device pixels) or wider is sharp enough. */
export const MIN_LAYER_WIDTH_RATIO = 2 / 3;

/**
 * The narrowest listed layer at least MIN_LAYER_WIDTH_RATIO × `pictureWidthPx`
 * wide; layer 0 when none is, or when the source lists no layers (a source
 * older than layers publishes layer 0 only).
 */
export function smallestFittingLayer(layers: readonly VideoLayerInfo[] | undefined, pictureWidthPx: number): number {
  if (!layers || layers.length === 0) return 0;
  const need = pictureWidthPx * MIN_LAYER_WIDTH_RATIO;
  let best = 0;
  let bestWidth = Infinity;
  for (const l of layers) {
    if (l.width >= need && l.width < bestWidth) {
      best = l.layer;
      bestWidth = l.width;
    }
  }
  return best;
}
