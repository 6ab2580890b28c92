import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatBytes, formatElapsed, recordingErrorText } from '../src/recording/recording-text.js';

test('formatElapsed: m:ss, then h:mm:ss; never negative', () => {
  assert.equal(formatElapsed(0), '0:00');
  assert.equal(formatElapsed(-5_000), '0:00');
  assert.equal(formatElapsed(61_999), '1:01');
  assert.equal(formatElapsed(3_600_000 + 5 * 60_000 + 7_000), '1:05:07');
});

test('formatBytes: KB under a MiB, MB with one decimal above', () => {
  assert.equal(formatBytes(10), '1 KB');
  assert.equal(formatBytes(800 * 1024), '800 KB');
  assert.equal(formatBytes(12.44 * 1024 * 1024), '12.4 MB');
});

test('recordingErrorText: words per code, the server message after them', () => {
  assert.match(recordingErrorText('forbidden', 'no record grant'), /does not allow recording.*\(no record grant\)/);
  assert.match(recordingErrorText('recorder-unavailable', ''), /No recorder is running/);
  assert.equal(recordingErrorText('weird', ''), 'Recording failed.');
});
