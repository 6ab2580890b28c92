import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { resolve } from 'node:path';
import { REPO_ROOT } from '@vidchat/test-support';

const MAIN = resolve(REPO_ROOT, 'apps/capture-agent/dist/src/main.js');

function run(args: string[], env: Record<string, string> = {}) {
  return spawnSync(process.execPath, [MAIN, ...args], {
    encoding: 'utf8',
    timeout: 10_000,
    // A bad value must fail before any connection: point NATS nowhere useful anyway.
    env: { ...process.env, VIDCHAT_NATS_URL: 'nats://127.0.0.1:1', ...env },
  });
}

const BAD_FLAGS: [string, string][] = [
  ['--room', 'bad room'],
  ['--room', 'a.b'],
  ['--source', '*'],
  ['--source', ''],
  ['--name', 'x'.repeat(65)],
  ['--video', 'video0'],
  ['--audio', 'hw 1'],
  ['--size', '640'],
  ['--size', '641x360'],
  ['--size', '0x0'],
  ['--fps', '0'],
  ['--fps', '7.5'],
  ['--fps', 'many'],
  ['--quality', '1'],
  ['--quality', '32'],
  ['--tone', '5'],
  ['--tone', 'loud'],
  ['--audio-packet-loss', '101'],
  ['--audio-packet-loss', 'some'],
  ['--ffmpeg-input', '-f avfoundation'],
  ['--ffmpeg-audio-input', '-i "unclosed'],
  ['--max-frame-bytes', '10'],
  ['--status-interval', '-1'],
  ['--log-level', 'chatty'],
  ['--nats', 'http://x'],
];

describe('vidchat-agent CLI', { timeout: 120_000 }, () => {
  for (const [flag, value] of BAD_FLAGS) {
    it(`${flag} ${JSON.stringify(value).slice(0, 30)}: one line on stderr, exit 2`, () => {
      const r = run([flag, value]);
      assert.equal(r.status, 2, r.stderr);
      const lines = r.stderr.trimEnd().split('\n');
      assert.equal(lines.length, 1, r.stderr);
      assert.match(lines[0]!, new RegExp(`^vidchat-agent: ${flag}`));
    });
  }

  it('rejects a bad environment value the same way, naming the variable', () => {
    const r = run([], { VIDCHAT_SIZE: 'huge' });
    assert.equal(r.status, 2);
    assert.match(r.stderr, /^vidchat-agent: VIDCHAT_SIZE: expected WIDTHxHEIGHT/);
    assert.equal(r.stderr.trimEnd().split('\n').length, 1);
  });

  it('rejects an unknown flag and a missing value', () => {
    assert.equal(run(['--camera', 'x']).status, 2);
    assert.equal(run(['--room']).status, 2);
  });

  it('--help lists every flag with its environment variable and default', () => {
    const r = run(['--help']);
    assert.equal(r.status, 0);
    for (const env of [
      'VIDCHAT_NATS_URL',
      'VIDCHAT_ROOM',
      'VIDCHAT_SOURCE',
      'VIDCHAT_NAME',
      'VIDCHAT_VIDEO',
      'VIDCHAT_AUDIO',
      'VIDCHAT_SIZE',
      'VIDCHAT_FPS',
      'VIDCHAT_QUALITY',
      'VIDCHAT_TONE',
      'VIDCHAT_FFMPEG_INPUT',
      'VIDCHAT_LIST_DEVICES',
      'VIDCHAT_LOG_LEVEL',
    ]) {
      assert.ok(r.stdout.includes(env), env);
    }
    assert.match(r.stdout, /--size <WxH>.*\(default: 640x360\)/);
    assert.match(r.stdout, /--fps <n>.*\(default: 15\)/);
    assert.match(r.stdout, /--video .*\(default: test\)/);
  });

  it('--list-devices prints what it finds and exits 0', () => {
    const r = run(['--list-devices']);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /^Video \(V4L2\):/m);
    assert.match(r.stdout, /^Audio \(ALSA\):/m);
  });
});
