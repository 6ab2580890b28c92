/*
 * Chat text split into plain parts and http/https links. Pure (no DOM), so
 * that it is tested in Node; the chat panel turns the parts into text nodes
 * and links (never HTML parsing).
 */

/** A URL candidate: a scheme, then everything up to white space or a character that cannot end one. */
const URL_PATTERN = /\bhttps?:\/\/[^\s<>"'`]+/gi;
/** Punctuation that ends a sentence rather than the URL: "see https://x.org." */
const TRAILING = /[.,;:!?)\]}'"]+$/;

export type TextPart = { kind: 'text'; text: string } | { kind: 'link'; text: string; href: string };

/** Splits a text into plain parts and http(s) links (pure: tested without a DOM). */
export function splitLinks(text: string): TextPart[] {
  const parts: TextPart[] = [];
  let last = 0;
  for (const m of text.matchAll(URL_PATTERN)) {
    let candidate = m[0];
    const trail = TRAILING.exec(candidate)?.[0] ?? '';
    // A closing parenthesis belongs to the URL when the URL opened one (Wikipedia links).
    if (trail.startsWith(')') && candidate.includes('(')) candidate = candidate.slice(0, -trail.length + 1);
    else if (trail) candidate = candidate.slice(0, -trail.length);
    const href = safeHref(candidate);
    if (!href) continue;
    const start = m.index;
    if (start > last) parts.push({ kind: 'text', text: text.slice(last, start) });
    parts.push({ kind: 'link', text: candidate, href });
    last = start + candidate.length;
  }
  if (last < text.length) parts.push({ kind: 'text', text: text.slice(last) });
  return parts;
}

/** The normalized URL when it is http or https, else null. */
export function safeHref(candidate: string): string | null {
  let url: URL;
  try {
    url = new URL(candidate);
  } catch {
    return null;
  }
  return url.protocol === 'http:' || url.protocol === 'https:' ? url.href : null;
}
