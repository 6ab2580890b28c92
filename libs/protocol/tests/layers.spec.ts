import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MIN_LAYER_WIDTH_RATIO, smallestFittingLayer, type VideoLayerInfo } from '../src/index.js';

const LAYERS: VideoLayerInfo[] = [
  { layer: 0, width: 640, height: 360, fps: 15 },
  { layer: 1, width: 320, height: 180, fps: 15 },
];

test('the smallest layer at least 2/3 of the picture width; layer 0 when none is or none is listed', () => {
  assert.equal(MIN_LAYER_WIDTH_RATIO, 2 / 3);
  // A 3x3 grid at 1280x720: ~418 px pictures need 279 px: layer 1 (320) fits.
  assert.equal(smallestFittingLayer(LAYERS, 418), 1);
  assert.equal(smallestFittingLayer(LAYERS, 480), 1); // exactly 320 needed
  assert.equal(smallestFittingLayer(LAYERS, 482), 0);
  // Two tiles at 1280x720: ~632 px pictures need 421 px: layer 0.
  assert.equal(smallestFittingLayer(LAYERS, 632), 0);
  // Wider than layer 0 can serve: still layer 0 (the largest there is).
  assert.equal(smallestFittingLayer(LAYERS, 4000), 0);
  assert.equal(smallestFittingLayer(undefined, 100), 0);
  assert.equal(smallestFittingLayer([], 100), 0);
  // Order of the list does not matter.
  assert.equal(smallestFittingLayer([...LAYERS].reverse(), 300), 1);
});
