import { ID_PATTERN, isValidId } from '@vidchat/protocol';
import { byId, el } from './dom.js';
import { roomHref } from './page-params.js';

/** How often the room list refreshes, ms. */
export const ROOMS_REFRESH_MS = 3_000;

interface RoomSummary {
  room: string;
  sources: number;
}

/**
 * Reads `GET /api/rooms` leniently: a list of rooms, each with an id and
 * either a list of sources or a count. Anything unrecognised is skipped, and
 * ids that are not valid room ids are never shown as links.
 */
export function parseRooms(body: unknown): RoomSummary[] {
  const list = Array.isArray(body)
    ? body
    : typeof body === 'object' && body !== null && Array.isArray((body as { rooms?: unknown }).rooms)
      ? (body as { rooms: unknown[] }).rooms
      : [];
  const out: RoomSummary[] = [];
  for (const item of list) {
    if (typeof item !== 'object' || item === null) continue;
    const o = item as Record<string, unknown>;
    const room = o['room'] ?? o['id'] ?? o['name'];
    if (!isValidId(room)) continue;
    const s = o['sources'];
    const count = Array.isArray(s)
      ? s.length
      : typeof s === 'number'
        ? s
        : typeof o['sourceCount'] === 'number'
          ? o['sourceCount']
          : 0;
    out.push({ room, sources: count });
  }
  return out.sort((a, b) => b.sources - a.sources || a.room.localeCompare(b.room));
}

/** The page without `?room=`: live rooms, plus a field to type a room name. */
export function showRoomPicker(token: string | null, invalidRoom: string | null): void {
  byId('picker').hidden = false;
  byId('room-view').hidden = true;
  const form = byId<HTMLFormElement>('picker-form');
  const input = byId<HTMLInputElement>('picker-input');
  const hint = byId('picker-hint');
  const list = byId('picker-list');
  // The pattern attribute is compiled with the `v` flag, where a bare `-` in a
  // class is an error, so it is escaped here.
  input.pattern = ID_PATTERN.source.replace(/^\^|\$$/g, '').replace(/_-\]/g, '_\\-]');
  if (invalidRoom !== null) {
    input.value = invalidRoom;
    hint.textContent =
      'That room name is not valid. Use letters, digits, “-” and “_” (up to 64), starting with a letter or digit.';
    hint.classList.add('error');
  }
  input.addEventListener('input', () => {
    hint.classList.remove('error');
    hint.textContent = input.value === '' || isValidId(input.value) ? '' : 'Letters, digits, “-” and “_” only.';
  });
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    const room = input.value.trim();
    if (!isValidId(room)) {
      hint.textContent = 'Use letters, digits, “-” and “_” (up to 64), starting with a letter or digit.';
      hint.classList.add('error');
      input.focus();
      return;
    }
    location.search = roomHref(room, token);
  });

  const refresh = async (): Promise<void> => {
    let rooms: RoomSummary[];
    try {
      // With a viewer secret the gateway lists only the rooms the token opens.
      const headers: Record<string, string> = { accept: 'application/json' };
      if (token) headers['authorization'] = `Bearer ${token}`;
      const res = await fetch('api/rooms', { headers });
      if (!res.ok) throw new Error(`HTTP ${res.status}`);
      rooms = parseRooms(await res.json());
    } catch {
      list.replaceChildren(el('li', 'picker-empty', 'Could not load the list of rooms. Retrying…'));
      return;
    }
    if (rooms.length === 0) {
      list.replaceChildren(
        el('li', 'picker-empty', 'No live rooms right now. Start a capture agent, or type a room name.'),
      );
      return;
    }
    list.replaceChildren(
      ...rooms.map((r) => {
        const li = el('li');
        const a = el('a', 'picker-room');
        a.href = roomHref(r.room, token);
        a.append(
          el('span', 'picker-room-name', r.room),
          el('span', 'picker-room-count', `${r.sources} ${r.sources === 1 ? 'camera' : 'cameras'}`),
        );
        li.append(a);
        return li;
      }),
    );
  };
  void refresh();
  setInterval(() => void refresh(), ROOMS_REFRESH_MS);
}
