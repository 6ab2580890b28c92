import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { AudioCaptureClock, MAX_CAPTURE_LAG_US } from '../src/tracks/audio-capture-clock.js';

/** The granule that ends a 20 ms packet whose first sample is at `startUs` (µs since the epoch, a multiple of 125/6). */
const granuleAt = (startUs: number): bigint => BigInt(Math.round(((startUs + 20_000) * 48_000) / 1_000_000));

describe('audio capture clock', () => {
  const t0 = 1_796_190_000_000_000; // µs, divisible by 125: an exact sample boundary

  it('stamps each packet at its first sample, from the granule, however late it arrives', () => {
    const clock = new AudioCaptureClock();
    // Arrivals jitter by up to 30 ms; the stamps do not.
    const arrivals = [35_000, 41_000, 90_000, 91_000, 130_000];
    const stamps = arrivals.map((late, k) => clock.stamp(granuleAt(t0 + k * 20_000), 20_000, t0 + k * 20_000 + late));
    assert.deepEqual(stamps, [t0, t0 + 20_000, t0 + 40_000, t0 + 60_000, t0 + 80_000]);
    assert.equal(clock.reanchors, 0);
  });

  it('continues from the previous packet when several share one page granule', () => {
    const clock = new AudioCaptureClock();
    const g = granuleAt(t0 + 20_000);
    assert.equal(clock.stamp(g, 20_000, t0 + 60_000), t0 + 20_000);
    assert.equal(clock.stamp(g, 20_000, t0 + 60_000), t0 + 40_000);
  });

  it('re-anchors to the arrival time when the stamp is in the future or implausibly old, and never goes backwards', () => {
    const clock = new AudioCaptureClock();
    // No epoch timeline (granules from zero): the first packet takes its arrival time.
    assert.equal(clock.stamp(960n, 20_000, t0), t0);
    assert.equal(clock.reanchors, 1);
    assert.equal(clock.stamp(1_920n, 20_000, t0 + 25_000), t0 + 20_000);
    // A sound card running fast: its timeline overtakes the arrival time.
    const ahead = clock.stamp(2_880n + 4_800n, 20_000, t0 + 45_000);
    assert.equal(ahead, t0 + 45_000);
    assert.equal(clock.reanchors, 2);
    // A sound card running slow, a second behind: back to the arrival time.
    const next = clock.stamp(2_880n + 4_800n + 960n, 20_000, t0 + 65_000 + MAX_CAPTURE_LAG_US + 1);
    assert.equal(next, t0 + 65_000 + MAX_CAPTURE_LAG_US + 1);
    assert.equal(clock.reanchors, 3);
    // A restart forgets the timeline.
    clock.reset();
    assert.equal(clock.stamp(granuleAt(t0), 20_000, t0 + 30_000), t0);
  });
});
