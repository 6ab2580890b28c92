import assert from 'node:assert/strict';
import { test } from 'node:test';
import { safeHref, splitLinks } from '../src/chat/linkify.js';

test('http and https URLs become links; the rest stays text', () => {
  assert.deepEqual(splitLinks('see https://example.org/a?b=1. ok'), [
    { kind: 'text', text: 'see ' },
    { kind: 'link', text: 'https://example.org/a?b=1', href: 'https://example.org/a?b=1' },
    { kind: 'text', text: '. ok' },
  ]);
  assert.deepEqual(splitLinks('plain <b>text</b>'), [{ kind: 'text', text: 'plain <b>text</b>' }]);
  assert.deepEqual(splitLinks('(http://x.org/y)'), [
    { kind: 'text', text: '(' },
    { kind: 'link', text: 'http://x.org/y', href: 'http://x.org/y' },
    { kind: 'text', text: ')' },
  ]);
  assert.equal(
    splitLinks('https://en.wikipedia.org/wiki/Foo_(bar)')[0]?.text,
    'https://en.wikipedia.org/wiki/Foo_(bar)',
  );
});

test('only http and https are ever links', () => {
  for (const t of ['javascript:alert(1)', 'data:text/html,x', 'file:///etc/passwd', 'ftp://x.org/']) {
    assert.ok(
      splitLinks(t).every((p) => p.kind === 'text'),
      t,
    );
  }
  assert.equal(safeHref('javascript:alert(1)'), null);
  assert.equal(safeHref('https://x.org'), 'https://x.org/');
  // A URL with quotes or angle brackets ends there: nothing can break out of the href.
  assert.equal(splitLinks('https://x.org/"onmouseover=1')[0]?.text, 'https://x.org/');
});
