import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { TokenBucket } from '../src/limits/token-bucket.js';

describe('TokenBucket', () => {
  it('allows a burst, then the refill rate', () => {
    let t = 0;
    const b = new TokenBucket(2, 3, () => t);
    assert.deepEqual([b.take(), b.take(), b.take(), b.take()], [true, true, true, false]);
    t += 499;
    assert.equal(b.take(), false);
    t += 1;
    assert.equal(b.take(), true);
    assert.equal(b.take(), false);
  });

  it('never holds more than the burst', () => {
    let t = 0;
    const b = new TokenBucket(10, 2, () => t);
    t += 60_000;
    assert.deepEqual([b.take(), b.take(), b.take()], [true, true, false]);
  });
});
