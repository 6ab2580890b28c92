import { ID_PATTERN, isValidId, parseHttpError, parseRoomsResponse, type RoomSummary } from '@vidchat/protocol';
import { byId, el } from './dom.js';
import { roomHref } from './page-params.js';

/** How often the room list refreshes, ms. */
export const ROOMS_REFRESH_MS = 3_000;

/**
 * The rooms of a `GET /api/rooms` body (validated by `parseRoomsResponse`,
 * which throws on anything the gateway would not send), busiest first.
 */
export function roomsByActivity(body: unknown): RoomSummary[] {
  return parseRoomsResponse(body).rooms.sort(
    (a, b) => b.sources.length - a.sources.length || a.room.localeCompare(b.room),
  );
}

/** Why the room list could not be read, from the gateway's error body when it sent one. */
async function failureText(res: Response): Promise<string> {
  try {
    return parseHttpError(await res.json()).message;
  } catch {
    return `HTTP ${res.status}`;
  }
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
      if (!res.ok) throw new Error(await failureText(res));
      rooms = roomsByActivity(await res.json());
    } catch (err) {
      const why = err instanceof Error ? ` (${err.message})` : '';
      list.replaceChildren(el('li', 'picker-empty', `Could not load the list of rooms${why}. Retrying…`));
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
          el('span', 'picker-room-count', `${r.sources.length} ${r.sources.length === 1 ? 'camera' : 'cameras'}`),
        );
        li.append(a);
        return li;
      }),
    );
  };
  void refresh();
  setInterval(() => void refresh(), ROOMS_REFRESH_MS);
}
