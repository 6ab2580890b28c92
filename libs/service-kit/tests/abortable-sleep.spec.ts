import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { getEventListeners } from 'node:events';
import { abortableSleep } from '../src/index.js';

/*
 * connectNats waits between first-connect attempts with one shutdown signal;
 * each wait used to leave an abort listener on it, and after ten Node warned
 * (MaxListenersExceededWarning) while the broker was still down.
 */
describe('abortableSleep', () => {
  it('leaves no abort listener behind, however many waits share one signal', async () => {
    const warnings: Error[] = [];
    const onWarning = (w: Error): void => {
      warnings.push(w);
    };
    process.on('warning', onWarning);
    try {
      const ac = new AbortController();
      for (let i = 0; i < 30; i++) await abortableSleep(1, ac.signal);
      assert.equal(getEventListeners(ac.signal, 'abort').length, 0);
      // Warnings are emitted on the next tick.
      await new Promise((resolve) => setImmediate(resolve));
      assert.deepEqual(
        warnings.map((w) => w.name),
        [],
      );
    } finally {
      process.off('warning', onWarning);
    }
  });

  it('ends at once when the signal aborts, and when it had aborted already', async () => {
    const ac = new AbortController();
    const started = performance.now();
    const waiting = abortableSleep(60_000, ac.signal);
    ac.abort();
    await waiting;
    await abortableSleep(60_000, ac.signal);
    assert.ok(performance.now() - started < 5_000);
    assert.equal(getEventListeners(ac.signal, 'abort').length, 0);
  });
});
