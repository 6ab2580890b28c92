import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { concatListLine } from '../src/ffmpeg/encoder-args.js';
import { partFile, segmentFiles } from '../src/session/work-files.js';

test('segment files: <id>.part.mp4, then <id>.part1.mp4 …, found in order and only for their id', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'vidchat-segments-'));
  try {
    const id = '20261202-120000-abcd1234';
    assert.equal(partFile(dir, id), join(dir, `${id}.part.mp4`));
    assert.equal(partFile(dir, id, 2), join(dir, `${id}.part2.mp4`));
    for (const name of [
      `${id}.part10.mp4`,
      `${id}.part.mp4`,
      `${id}.part2.mp4`,
      `${id}.part1.mp4`,
      `${id}.json`,
      `${id}.mp4`,
      `${id}.part01.mp4`,
      `${id}.partx.mp4`,
      'other-id.part.mp4',
    ]) {
      writeFileSync(join(dir, name), '');
    }
    assert.deepEqual(
      await segmentFiles(dir, id),
      [0, 1, 2, 10].map((n) => partFile(dir, id, n)),
    );
    assert.deepEqual(await segmentFiles(join(dir, 'missing'), id), []);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("concat list lines quote the path as the concat demuxer reads it (a ' inside is escaped)", () => {
  assert.equal(concatListLine('/w/a.mp4'), "file '/w/a.mp4'");
  assert.equal(concatListLine("/w/it's/a.mp4"), "file '/w/it'\\''s/a.mp4'");
});
