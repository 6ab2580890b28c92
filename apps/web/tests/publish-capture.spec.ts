import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CaptureClock } from '../src/publish/capture-clock.js';
import { fitInside, FramePacer, layer1Size } from '../src/publish/frame-pacer.js';

/*
 * The arithmetic of the camera path: which frames are sent, at which size,
 * and the capture time each envelope carries.
 */

/** Frames a pacer takes from a camera stamping every `periodUs` for `seconds`. */
function taken(fps: number, periodUs: number, seconds: number, jitterUs = 0): number[] {
  const pacer = new FramePacer(fps);
  const out: number[] = [];
  for (let i = 0, t = 0; t < seconds * 1e6; i++, t = i * periodUs) {
    const ts = t + (i % 2 === 0 ? jitterUs : -jitterUs);
    if (pacer.take(ts)) out.push(ts);
  }
  return out;
}

describe('FramePacer', () => {
  it('keeps every frame of a camera at or below the target rate', () => {
    assert.equal(taken(15, 100_000, 2).length, 20); // 10 fps camera: all 20 frames
    assert.equal(taken(15, 1e6 / 15, 3).length, 45);
  });

  it('halves a 30 fps camera to 15 fps, evenly', () => {
    const frames = taken(15, 1e6 / 30, 4);
    assert.equal(frames.length, 60);
    for (let i = 1; i < frames.length; i++) {
      assert.ok(Math.abs((frames[i] ?? 0) - (frames[i - 1] ?? 0) - 1e6 / 15) < 1, `gap ${i}`);
    }
  });

  it('never exceeds the target over time, with jittery timestamps from a 20 or 60 fps camera', () => {
    assert.ok(taken(15, 50_000, 10, 4_000).length <= 15 * 10 + 1);
    assert.ok(taken(15, 50_000, 10, 4_000).length >= 15 * 10 * 0.9);
    assert.ok(taken(15, 1e6 / 60, 10, 2_000).length <= 15 * 10 + 1);
    assert.ok(taken(15, 1e6 / 60, 10, 2_000).length >= 15 * 10 * 0.95);
  });

  it('restarts after a gap instead of bursting, and after a clock that went backwards', () => {
    const pacer = new FramePacer(10);
    assert.equal(pacer.take(0), true);
    assert.equal(pacer.take(50_000), false);
    assert.equal(pacer.take(5_000_000), true); // 5 s gap
    assert.equal(pacer.take(5_033_000), false); // no catch-up burst
    assert.equal(pacer.take(5_100_000), true);
    assert.equal(pacer.take(1_000), true); // a new track's clock
    assert.equal(pacer.take(20_000), false);
  });

  it('rejects a rate that is not positive', () => {
    assert.throws(() => new FramePacer(0), RangeError);
    assert.throws(() => new FramePacer(Number.NaN), RangeError);
  });
});

describe('fitInside', () => {
  const box = { width: 640, height: 360 };
  it('scales into the box keeping the aspect ratio, in even pixels', () => {
    assert.deepEqual(fitInside({ width: 1280, height: 720 }, box), { width: 640, height: 360 });
    assert.deepEqual(fitInside({ width: 640, height: 480 }, box), { width: 480, height: 360 });
    assert.deepEqual(fitInside({ width: 1920, height: 1080 }, box), { width: 640, height: 360 });
    assert.deepEqual(fitInside({ width: 720, height: 1280 }, box), { width: 202, height: 360 });
    assert.deepEqual(fitInside({ width: 1001, height: 333 }, box), { width: 640, height: 212 });
  });
  it('never upscales, and never goes below 2x2', () => {
    assert.deepEqual(fitInside({ width: 320, height: 240 }, box), { width: 320, height: 240 });
    assert.deepEqual(fitInside({ width: 321, height: 241 }, box), { width: 320, height: 240 });
    assert.deepEqual(fitInside({ width: 1, height: 1 }, box), { width: 2, height: 2 });
  });
});

describe('layer1Size', () => {
  it('is half of layer 0, in even pixels, when layer 0 is at least the minimum width', () => {
    assert.deepEqual(layer1Size({ width: 640, height: 360 }, 480), { width: 320, height: 180 });
    assert.deepEqual(layer1Size({ width: 480, height: 360 }, 480), { width: 240, height: 180 });
    assert.deepEqual(layer1Size({ width: 202, height: 360 }, 100), { width: 100, height: 180 });
    assert.deepEqual(layer1Size({ width: 640, height: 212 }, 480), { width: 320, height: 106 });
  });
  it('is none below the minimum width, or with a minimum of 0 (layer 1 off)', () => {
    assert.equal(layer1Size({ width: 478, height: 360 }, 480), null);
    assert.equal(layer1Size({ width: 640, height: 360 }, 0), null);
  });
});

describe('CaptureClock', () => {
  const EPOCH = 1_796_000_000_000_000; // µs

  it('maps a media clock to the epoch with the smallest delivery delay seen', () => {
    const clock = new CaptureClock();
    const base = 1_288_367_000; // a camera clock with another origin, µs
    // Frames captured every 66 ms at EPOCH + n·66 ms, read 30, 8, then 20 ms later.
    // The first has nothing to compare with: stamped when read.
    assert.equal(clock.toEpochUs(base, EPOCH + 30_000), EPOCH + 30_000);
    // A faster delivery lowers the estimate: stamped when read, 8 ms after capture.
    assert.equal(clock.toEpochUs(base + 66_000, EPOCH + 74_000), EPOCH + 74_000);
    // A slower one keeps the best estimate: 12 ms earlier than its reading, 8 ms after its capture.
    assert.equal(clock.toEpochUs(base + 132_000, EPOCH + 152_000), EPOCH + 140_000);
  });

  it('is never later than the time of reading', () => {
    const clock = new CaptureClock();
    for (let i = 0; i < 100; i++) {
      const now = EPOCH + i * 20_000 + ((i * 7919) % 13) * 1_000;
      assert.ok(clock.toEpochUs(i * 20_000, now) <= now);
    }
  });

  it('follows a wall-clock step within two windows', () => {
    const clock = new CaptureClock(1_000_000);
    let t = 0;
    for (; t < 2_000_000; t += 20_000) clock.toEpochUs(t, EPOCH + t + 5_000);
    // The wall clock jumps 500 ms ahead; deliveries now take 5 or 15 ms.
    const step = 500_000;
    for (let i = 0; t < 5_000_000; t += 20_000, i++) clock.toEpochUs(t, EPOCH + step + t + (i % 2 ? 15_000 : 5_000));
    // A frame read 15 ms after capture is stamped 10 ms before its reading: the 5 ms delivery is the reference.
    assert.equal(clock.toEpochUs(t, EPOCH + step + t + 15_000), EPOCH + step + t + 5_000);
  });
});
