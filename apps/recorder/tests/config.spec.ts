import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseCli, UsageError } from '@vidchat/service-kit';
import { recorderOptionSpec } from '../src/config.js';

test('defaults: 1280x720 at 15 fps, veryfast, 4 recordings, the vidchat-recordings bucket', () => {
  const { config } = parseCli(recorderOptionSpec, [], {});
  assert.deepEqual(config.size, { width: 1280, height: 720 });
  assert.equal(config.fps, 15);
  assert.equal(config.preset, 'veryfast');
  assert.equal(config.maxRecordings, 4);
  assert.equal(config.bucket, 'vidchat-recordings');
});

test('flags and environment variables set the limits', () => {
  const { config } = parseCli(recorderOptionSpec, ['--size', '640x360', '--max-duration', '60'], {
    VIDCHAT_RECORDER_MAX_TOTAL_BYTES: '1048576',
    VIDCHAT_RECORDER_RETENTION: '0',
  });
  assert.deepEqual(config.size, { width: 640, height: 360 });
  assert.equal(config.maxDuration, 60);
  assert.equal(config.maxTotalBytes, 1_048_576);
  assert.equal(config.retention, 0);
});

test('bad values are usage errors', () => {
  for (const argv of [
    ['--size', '1281x720'],
    ['--size', 'big'],
    ['--size', '8000x720'],
    ['--fps', '0'],
    ['--preset', 'placebo'],
    ['--bucket', 'a.b'],
    ['--max-recordings', '0'],
  ]) {
    assert.throws(() => parseCli(recorderOptionSpec, argv, {}), UsageError, argv.join(' '));
  }
});
