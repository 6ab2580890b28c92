import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FramePresenter, MAX_HELD_FRAMES, MAX_HOLD_MS, type PresenterClock } from '../src/frame-presenter.js';

/* Lip sync: frames held back by the audio's delay, on a hand-driven clock. */

class Clock implements PresenterClock {
  t = 0;
  private timers: { at: number; fn: () => void; id: number }[] = [];
  private ids = 0;
  now(): number {
    return this.t;
  }
  setTimer(fn: () => void, ms: number): unknown {
    const id = ++this.ids;
    this.timers.push({ at: this.t + ms, fn, id });
    return id;
  }
  clearTimer(handle: unknown): void {
    this.timers = this.timers.filter((x) => x.id !== handle);
  }
  advance(to: number): void {
    for (;;) {
      const next = this.timers.filter((x) => x.at <= to).sort((a, b) => a.at - b.at)[0];
      if (!next) break;
      this.timers = this.timers.filter((x) => x !== next);
      this.t = next.at;
      next.fn();
    }
    this.t = to;
  }
}

function setup(delay: number | null) {
  const clock = new Clock();
  const shown: number[] = [];
  const discarded: number[] = [];
  const p = new FramePresenter<{ captureTimeUs: number; discard(): void }>(
    () => shown.push(clock.t),
    () => delay,
    clock,
  );
  const frame = (captureMs: number) => ({ captureTimeUs: captureMs * 1000, discard: () => discarded.push(captureMs) });
  return { clock, shown, discarded, p, frame };
}

test('without audio, frames are shown as they come', () => {
  const { clock, shown, p, frame } = setup(null);
  clock.t = 50;
  p.push(frame(0));
  assert.deepEqual(shown, [50]);
});

test('each frame is shown when the audio of its capture instant is heard', () => {
  const { clock, shown, p, frame } = setup(120);
  clock.t = 30;
  p.push(frame(0)); // due at 120
  clock.t = 63;
  p.push(frame(33)); // due at 153
  clock.advance(119);
  assert.deepEqual(shown, []);
  clock.advance(200);
  assert.deepEqual(shown, [120, 153]);
});

test('a frame later than the audio is shown at once; a due backlog shows only its newest', () => {
  const { clock, shown, discarded, p, frame } = setup(100);
  clock.t = 150;
  p.push(frame(0)); // due at 100: late already
  assert.deepEqual(shown, [150]);
  p.push(frame(60)); // due at 160
  p.push(frame(90)); // due at 190
  clock.t = 200; // the page was busy: both are due when it looks again
  p.push(frame(180)); // due at 280
  assert.deepEqual(shown, [150, 200]);
  assert.deepEqual(discarded, [60]);
  assert.equal(p.dropped, 1);
});

test('holds at most MAX_HOLD_MS and MAX_HELD_FRAMES', () => {
  const { clock, shown, p, frame } = setup(60_000);
  p.push(frame(0));
  clock.advance(MAX_HOLD_MS);
  assert.deepEqual(shown, [MAX_HOLD_MS]);
  for (let i = 1; i <= MAX_HELD_FRAMES + 2; i++) p.push(frame(MAX_HOLD_MS + i));
  assert.equal(p.dropped, 2);
  p.close();
});

test('says how late frames are ready: the 80th percentile of the last two seconds', () => {
  const { clock, p, frame } = setup(null);
  assert.equal(p.readyDelayMs, null);
  // Ten frames ready 100..190 ms after capture (in that order): the 80th percentile is 180.
  for (let i = 0; i < 10; i++) {
    clock.t = 1_000 + i * 50;
    p.push(frame(clock.t - 100 - 10 * i));
  }
  assert.equal(p.readyDelayMs, 180);
  // Two seconds later only the new, quicker frames count.
  clock.t = 4_000;
  p.push(frame(3_950));
  assert.equal(p.readyDelayMs, 50);
  p.close();
});
