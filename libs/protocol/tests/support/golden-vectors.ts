import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/*
 * Reads the golden vectors out of docs/PROTOCOL.md, so that the document is
 * the single source of the expected bytes: a vector edited in the doc is
 * tested, and a codec change that breaks the doc fails the suite.
 * The format is described at the top of the doc's "Golden vectors" section.
 */

export interface GoldenVector {
  /** `envelope.video`, `presence.join`, `client.ping`, ... */
  name: string;
  /** The ```json block, parsed. */
  input: unknown;
  /** The expected encoding: bytes for a ```hex block, UTF-8 of the text for ```text. */
  expected: { format: 'hex'; bytes: Uint8Array } | { format: 'text'; text: string };
}

/**
 * Finds docs/PROTOCOL.md by walking up from this file. The compiled tests run
 * from libs/protocol/dist/tests/support/, the sources live one level higher;
 * walking up works for both without hard-coding the depth.
 */
export function protocolDocPath(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const candidate = join(dir, 'docs', 'PROTOCOL.md');
    if (existsSync(candidate)) return candidate;
    const parent = dirname(dir);
    if (parent === dir) throw new Error('docs/PROTOCOL.md not found above ' + fileURLToPath(import.meta.url));
    dir = parent;
  }
}

/** Strips `#` comments and whitespace, then reads pairs of hex digits. */
export function parseHexBlock(block: string): Uint8Array {
  const digits = block
    .split('\n')
    .map((line) => line.replace(/#.*$/, ''))
    .join('')
    .replace(/\s+/g, '');
  if (!/^(?:[0-9a-fA-F]{2})*$/.test(digits)) throw new Error(`not an even run of hex digits: ${digits.slice(0, 40)}`);
  const out = new Uint8Array(digits.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(digits.slice(2 * i, 2 * i + 2), 16);
  return out;
}

export function hexToBytes(hex: string): Uint8Array {
  return parseHexBlock(hex);
}

export function bytesToHex(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join(' ');
}

const VECTOR =
  /^### vector: (\S+)[ \t]*\n(?:(?!^#|^```)[^\n]*\n)*?^```json\n([\s\S]*?)^```\n\s*^```(hex|text)\n([\s\S]*?)^```$/gm;

export function parseGoldenVectors(markdown: string): GoldenVector[] {
  const vectors: GoldenVector[] = [];
  for (const m of markdown.matchAll(VECTOR)) {
    const [, name, json, format, body] = m;
    if (name === undefined || json === undefined || body === undefined) continue;
    const input: unknown = JSON.parse(json);
    if (format === 'hex') {
      vectors.push({ name, input, expected: { format, bytes: parseHexBlock(body) } });
    } else {
      // The text block holds exactly one line; the newline before the fence is not part of it.
      vectors.push({ name, input, expected: { format: 'text', text: body.replace(/\n$/, '') } });
    }
  }
  return vectors;
}

export function loadGoldenVectors(): { vectors: GoldenVector[]; headings: string[] } {
  const markdown = readFileSync(protocolDocPath(), 'utf8');
  const headings = [...markdown.matchAll(/^### vector: (\S+)/gm)].map((m) => m[1] ?? '');
  return { vectors: parseGoldenVectors(markdown), headings };
}
