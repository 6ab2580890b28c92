import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { sleep, waitFor } from '@vidchat/test-support';
import { Coalescer } from '../src/people/coalescer.js';

/*
 * The coalescer behind the viewer counts: however many pokes, at most one
 * run per interval, and the last poke is never lost. Only lower bounds on
 * time are asserted (a timer never fires early; a loaded machine may be late).
 */
describe('Coalescer', () => {
  it('runs a burst of pokes in one turn once, on the next turn', async () => {
    let runs = 0;
    const c = new Coalescer(10_000, () => runs++);
    for (let i = 0; i < 1_000; i++) c.poke();
    assert.equal(runs, 0, 'not synchronously');
    await waitFor(() => runs === 1 || null, { timeoutMs: 5_000, what: 'the first run' });
    c.stop();
  });

  it('runs a poke within the interval once, when the interval is over', async () => {
    const at: number[] = [];
    const c = new Coalescer(300, () => at.push(performance.now()));
    c.poke();
    await waitFor(() => at.length === 1 || null, { timeoutMs: 5_000, what: 'the first run' });
    for (let i = 0; i < 50; i++) c.poke();
    await waitFor(() => at.length === 2 || null, { timeoutMs: 10_000, what: 'the trailing run' });
    assert.ok(at[1]! - at[0]! >= 290, `${at[1]! - at[0]!} ms between runs`);
    await sleep(400);
    assert.equal(at.length, 2, 'nothing more without a poke');
    c.stop();
  });

  it('a run by other means (a heartbeat) restarts the interval; stop drops the pending run', async () => {
    let runs = 0;
    const c = new Coalescer(300, () => runs++);
    c.ran();
    const t0 = performance.now();
    c.poke();
    await waitFor(() => runs === 1 || null, { timeoutMs: 10_000, what: 'the run after the interval' });
    assert.ok(performance.now() - t0 >= 290);
    c.poke();
    c.stop();
    await sleep(500);
    assert.equal(runs, 1);
    c.poke();
    await sleep(50);
    assert.equal(runs, 1, 'a stopped coalescer never runs');
  });
});
