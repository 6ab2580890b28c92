import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { CloseCode, VIEWER_ERROR_CODES } from '../src/index.js';
import { protocolDocPath } from './support/golden-vectors.js';

/*
 * docs/PROTOCOL.md lists the viewer error codes and the close codes in
 * tables; they must be exactly the ones the library defines (and the library
 * defines only the ones that are sent), so the document cannot promise a code
 * nobody sends or miss a new one.
 */
const doc = readFileSync(protocolDocPath(), 'utf8');

/** The first cell of every row of the table that follows `heading`. */
function firstColumn(heading: string): string[] {
  const at = doc.indexOf(heading);
  assert.ok(at >= 0, `PROTOCOL.md has "${heading}"`);
  const rows: string[] = [];
  let inTable = false;
  for (const line of doc.slice(at + heading.length).split('\n')) {
    if (line.startsWith('|')) {
      inTable = true;
      rows.push(line.split('|')[1]!.trim());
    } else if (inTable) break;
  }
  // Header and separator rows.
  return rows.slice(2);
}

test('PROTOCOL.md lists exactly the viewer error codes', () => {
  const listed = firstColumn('Viewer error codes (`VIEWER_ERROR_CODES`').map((c) => c.replace(/`/g, ''));
  assert.deepEqual([...listed].sort(), [...VIEWER_ERROR_CODES].sort());
});

test('PROTOCOL.md lists exactly the close codes', () => {
  const listed = firstColumn('### Close codes (`CloseCode`)').map(Number);
  assert.deepEqual(listed, Object.values(CloseCode));
});
