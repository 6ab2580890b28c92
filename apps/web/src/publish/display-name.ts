import { MAX_NAME_LENGTH } from '@vidchat/protocol';

/*
 * The participant's display name: what they typed, trimmed, at most the
 * protocol's name length. It is remembered in localStorage so that the next
 * visit does not ask again; storage may be unavailable (private windows,
 * blocked cookies), in which case the name is simply not remembered.
 */

export const NAME_STORAGE_KEY = 'vidchat.name';

/** A usable name from what a person typed, or null when there is nothing left after trimming. */
export function cleanName(raw: string): string | null {
  // Control characters would show as boxes or break a line in the tile caption.
  // eslint-disable-next-line no-control-regex
  const name = raw.replace(/[\u0000-\u001f\u007f]/g, ' ').trim();
  if (name.length === 0) return null;
  // The protocol counts UTF-16 units; cut between characters, never inside a surrogate pair.
  let out = '';
  for (const ch of name) {
    if (out.length + ch.length > MAX_NAME_LENGTH) break;
    out += ch;
  }
  return out.trimEnd();
}

export function loadName(storage: Pick<Storage, 'getItem'> | null): string | null {
  try {
    const v = storage?.getItem(NAME_STORAGE_KEY);
    return v ? cleanName(v) : null;
  } catch {
    return null;
  }
}

export function saveName(storage: Pick<Storage, 'setItem'> | null, name: string): void {
  try {
    storage?.setItem(NAME_STORAGE_KEY, name);
  } catch {
    // Not remembered: the person is asked again next time.
  }
}
