import { test } from 'node:test';
import assert from 'node:assert/strict';
import { gridLayout, labelHeight, type Rect } from '../src/index.js';

const inside = (r: Rect, w: number, h: number): boolean =>
  r.x >= 0 && r.y >= 0 && r.x + r.width <= w && r.y + r.height <= h;
const overlap = (a: Rect, b: Rect): boolean =>
  a.x < b.x + b.width && b.x < a.x + a.width && a.y < b.y + b.height && b.y < a.y + a.height;

test('no sources, no tiles; one source fills the canvas with its name under it', () => {
  assert.deepEqual(gridLayout(0, 1280, 720), []);
  const [one] = gridLayout(1, 1280, 720);
  assert.ok(one);
  assert.equal(one.label.y, one.picture.y + one.picture.height);
  assert.equal(one.label.height, labelHeight(720));
  assert.ok(one.picture.height >= 720 - 2 * 4 - labelHeight(720) - 2);
  assert.ok(Math.abs(one.picture.width / one.picture.height - 16 / 9) < 0.02);
});

test('two sources sit side by side, four in a 2x2 grid, five with the last row centred', () => {
  const two = gridLayout(2, 1280, 720);
  assert.equal(two[0]!.picture.y, two[1]!.picture.y);
  assert.ok(two[0]!.picture.x < 640 && two[1]!.picture.x >= 640);
  const four = gridLayout(4, 1280, 720);
  assert.deepEqual(
    four.map((t) => [t.picture.x < 640, t.picture.y < 360]),
    [
      [true, true],
      [false, true],
      [true, false],
      [false, false],
    ],
  );
  const five = gridLayout(5, 1280, 720);
  // 3 columns; the second row holds 2 tiles centred: symmetric around the middle.
  const [a, b] = [five[3]!.picture, five[4]!.picture];
  assert.equal(a.x + (b.x + b.width), 1280);
});

test('for every count up to 64 and several canvases, tiles are even-sized, inside the canvas and never overlap', () => {
  for (const [w, h] of [
    [1280, 720],
    [640, 360],
    [1920, 1080],
    [160, 90],
  ] as const) {
    for (let n = 1; n <= 64; n++) {
      const tiles = gridLayout(n, w, h);
      assert.equal(tiles.length, n);
      const rects = tiles.flatMap((t) => [t.picture, t.label]);
      for (const r of tiles.map((t) => t.picture)) {
        assert.equal(r.width % 2, 0);
        assert.equal(r.height % 2, 0);
      }
      for (const r of rects) assert.ok(inside(r, w, h), `${n} tiles on ${w}x${h}: ${JSON.stringify(r)}`);
      for (let i = 0; i < rects.length; i++) {
        for (let j = i + 1; j < rects.length; j++)
          assert.ok(!overlap(rects[i]!, rects[j]!), `${n} on ${w}x${h}: ${i} and ${j}`);
      }
    }
  }
});
