import { InvalidMessageError } from './errors.js';
import { arr, asObject, num, oneOf, type JsonObject } from './json.js';
import { MAX_VIDEO_LAYERS, type AudioInfo, type VideoInfo, type VideoLayerInfo } from './presence.js';

/*
 * Validators of the media descriptions shared by presence messages and the
 * viewer's roster events. They live in their own module, which index.ts does
 * not re-export, so that both parsers check the same schema without widening
 * the library's public API.
 */

/** Validates `presence.video` / `source.video`; absent or null means no video. */
export function parseVideoInfo(v: unknown, what: string): VideoInfo | null {
  if (v === null || v === undefined) return null;
  const o = asObject(v, what);
  return {
    codec: oneOf(o, 'codec', what, ['jpeg'] as const),
    width: num(o, 'width', what, 1, 8192, true),
    height: num(o, 'height', what, 1, 8192, true),
    fps: num(o, 'fps', what, 0.1, 240),
  };
}

/** Validates `presence.audio` / `source.audio`; absent or null means no audio. */
export function parseAudioInfo(v: unknown, what: string): AudioInfo | null {
  if (v === null || v === undefined) return null;
  const o = asObject(v, what);
  return {
    codec: oneOf(o, 'codec', what, ['opus'] as const),
    sampleRate: num(o, 'sampleRate', what, 8000, 48000, true),
    channels: num(o, 'channels', what, 1, 2, true),
    frameDurationMs: num(o, 'frameDurationMs', what, 2.5, 120),
  };
}

/**
 * Validates `presence.layers` / `source.layers` of `parent`: absent stays absent (a
 * source older than layers: layer 0 only); each entry's layer is unique and
 * below MAX_VIDEO_LAYERS; sorted by layer.
 */
export function parseVideoLayers(parent: JsonObject, what: string): VideoLayerInfo[] | undefined {
  if (parent['layers'] === undefined || parent['layers'] === null) return undefined;
  const items = arr(parent, 'layers', what, MAX_VIDEO_LAYERS);
  what = `${what}.layers`;
  const layers = items.map((item) => {
    const o = asObject(item, what);
    return {
      layer: num(o, 'layer', what, 0, MAX_VIDEO_LAYERS - 1, true),
      width: num(o, 'width', what, 1, 8192, true),
      height: num(o, 'height', what, 1, 8192, true),
      fps: num(o, 'fps', what, 0.1, 240),
    };
  });
  layers.sort((a, b) => a.layer - b.layer);
  for (let i = 1; i < layers.length; i++) {
    if (layers[i]!.layer === layers[i - 1]!.layer) throw new InvalidMessageError(`${what}: layer listed twice`);
  }
  return layers;
}
