import { test } from 'node:test';
import assert from 'node:assert/strict';
import { helpText, opt, parseCli, UsageError } from '../src/index.js';

const spec = {
  room: opt.id('room', 'VIDCHAT_ROOM', 'room to join', 'demo'),
  fps: opt.int('fps', 'VIDCHAT_FPS', 'frames per second', 15, 1, 60),
  verbose: opt.switch('verbose', 'VIDCHAT_VERBOSE', 'say more'),
};

test('defaults, then env, then flags', () => {
  assert.deepEqual(parseCli(spec, [], {}).config, { room: 'demo', fps: 15, verbose: false });
  assert.equal(parseCli(spec, [], { VIDCHAT_FPS: '20' }).config.fps, 20);
  assert.equal(parseCli(spec, ['--fps', '25'], { VIDCHAT_FPS: '20' }).config.fps, 25);
  assert.equal(parseCli(spec, ['--fps=30'], {}).config.fps, 30);
  assert.equal(parseCli(spec, ['--verbose'], {}).config.verbose, true);
});

test('bad values name the flag or the variable and what was expected', () => {
  assert.throws(
    () => parseCli(spec, ['--fps', 'abc'], {}),
    (e: unknown) => {
      assert.ok(e instanceof UsageError);
      assert.equal(e.code, 'ERR_USAGE');
      assert.match(e.message, /^--fps: expected a whole number from 1 to 60/);
      return true;
    },
  );
  assert.throws(() => parseCli(spec, [], { VIDCHAT_FPS: '0' }), /^UsageError: VIDCHAT_FPS:/);
  assert.throws(() => parseCli(spec, ['--room', 'a.b'], {}), /--room: expected 1-64 characters/);
  assert.throws(() => parseCli(spec, ['--nope'], {}), /unknown option --nope/);
  assert.throws(() => parseCli(spec, ['--fps'], {}), /--fps needs a value/);
});

test('help lists every flag with its env var and default', () => {
  const text = helpText({ name: 'x', summary: 'does x' }, spec);
  for (const s of ['--room <id>', 'VIDCHAT_ROOM', '(default: demo)', '--fps <n>', 'VIDCHAT_FPS', '(default: 15)']) {
    assert.ok(text.includes(s), s);
  }
});
