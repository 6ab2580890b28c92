import {
  parseHttpError,
  parseRecordingListResponse,
  parseRecordingStartResponse,
  parseRecordingStopResponse,
  type RecordingListItem,
  type ServerMessage,
} from '@vidchat/protocol';
import { byId, el } from '../dom.js';
import { formatBytes, formatElapsed, recordingErrorText } from './recording-text.js';

/*
 * The room's recording controls: the red REC badge with the elapsed time
 * (everyone in the room, from the `recording` WebSocket message), the
 * Record/Stop button (the page cannot know a token's grants: a 401 or 403
 * answer disables the button and says why), and the list of the room's
 * recordings with download links, refreshed on every `recording` message.
 */

type RecordingMessage = Extract<ServerMessage, { type: 'recording' }>;

/** What the test hooks show. */
export interface RecordingSnapshot {
  /** The recording in progress, or null. */
  active: { id: string; startedAt: number } | null;
  /** The badge as shown (`REC 0:12`), or null when hidden. */
  badge: string | null;
  /** The last list fetched. */
  recordings: RecordingListItem[];
  /** Record/Stop requests in flight. */
  busy: boolean;
  /** Whether the Record button was disabled by a refusal (401/403). */
  refused: boolean;
  lastError: { code: string; message: string } | null;
}

export class RecordingControls {
  private readonly badge = byId('rec-badge');
  private readonly button = byId<HTMLButtonElement>('record-button');
  private readonly note = byId('rec-note');
  private readonly list = byId('recordings-list');
  private readonly panel = byId<HTMLDetailsElement>('recordings-panel');
  private active: { id: string; startedAt: number } | null = null;
  private recordings: RecordingListItem[] = [];
  private busy = false;
  private refused = false;
  private lastError: RecordingSnapshot['lastError'] = null;
  private timer: number | null = null;
  private listing: Promise<void> | null = null;
  private listAgain = false;

  constructor(
    private readonly room: string,
    private readonly token: string | null,
  ) {
    this.button.hidden = false;
    this.button.addEventListener('click', () => void this.toggle());
    this.panel.addEventListener('toggle', () => {
      if (this.panel.open) this.refresh();
    });
    // The list is fetched when the panel opens and on each `recording`
    // message, not on load: a gateway without a recorder answers 503, which
    // every page load would log in the console for nothing.
    this.render();
  }

  onMessage(msg: RecordingMessage): void {
    if (msg.room !== this.room) return;
    if (msg.state === 'recording') this.active = { id: msg.id, startedAt: msg.startedAt };
    else if (this.active?.id === msg.id) this.active = null;
    this.render();
    this.refresh();
  }

  snapshot(): RecordingSnapshot {
    return {
      active: this.active,
      badge: this.badge.hidden ? null : this.badge.textContent,
      recordings: this.recordings,
      busy: this.busy,
      refused: this.refused,
      lastError: this.lastError,
    };
  }

  private api(path = ''): string {
    return `/api/rooms/${encodeURIComponent(this.room)}/recordings${path}`;
  }

  private headers(): HeadersInit {
    return this.token ? { Authorization: `Bearer ${this.token}` } : {};
  }

  private async toggle(): Promise<void> {
    if (this.busy) return;
    this.busy = true;
    this.note.hidden = true;
    const stopping = this.active;
    this.render();
    try {
      const res = await fetch(stopping ? this.api(`/${encodeURIComponent(stopping.id)}/stop`) : this.api(), {
        method: 'POST',
        headers: this.headers(),
      });
      const body: unknown = await res.json();
      if (!res.ok) {
        const err = parseHttpError(body);
        this.fail(err.error, err.message, res.status === 401 || res.status === 403);
        return;
      }
      if (stopping) {
        parseRecordingStopResponse(body);
        if (this.active?.id === stopping.id) this.active = null;
      } else {
        const started = parseRecordingStartResponse(body);
        this.active = { id: started.id, startedAt: started.startedAt };
      }
      this.refresh();
    } catch (err) {
      this.fail('network', String(err), false);
    } finally {
      this.busy = false;
      this.render();
    }
  }

  private fail(code: string, message: string, refused: boolean): void {
    this.lastError = { code, message };
    this.note.textContent = recordingErrorText(code, message);
    this.note.hidden = false;
    if (refused) {
      this.refused = true;
      this.button.title = this.note.textContent;
    }
  }

  /** Fetches the list; a refresh asked for while one runs runs once more after it. */
  private refresh(): void {
    if (this.listing) {
      this.listAgain = true;
      return;
    }
    this.listing = (async () => {
      try {
        const res = await fetch(this.api(), { headers: this.headers() });
        if (res.ok) this.recordings = parseRecordingListResponse(await res.json());
      } catch {
        // The list is a convenience: the next `recording` message refreshes it again.
      }
    })().finally(() => {
      this.listing = null;
      this.renderList();
      if (this.listAgain) {
        this.listAgain = false;
        this.refresh();
      }
    });
  }

  private render(): void {
    const active = this.active;
    this.button.textContent = active ? 'Stop recording' : 'Record';
    this.button.dataset['on'] = String(active !== null);
    this.button.disabled = this.busy || (this.refused && !active);
    this.badge.hidden = active === null;
    if (active) {
      this.badge.textContent = `REC ${formatElapsed(Date.now() - active.startedAt)}`;
      this.timer ??= window.setInterval(() => this.render(), 1000);
    } else if (this.timer !== null) {
      window.clearInterval(this.timer);
      this.timer = null;
    }
  }

  private renderList(): void {
    const items = this.recordings.map((r) => {
      const li = el('li', 'recording-item');
      const when = new Date(r.startedAt).toLocaleString();
      const what = `${when} · ${formatElapsed(r.durationMs)} · ${r.state}`;
      if (r.url) {
        const a = el('a', 'recording-link', what);
        a.href = this.token ? `${r.url}?token=${encodeURIComponent(this.token)}` : r.url;
        a.download = `${this.room}-${r.id}.mp4`;
        a.dataset['id'] = r.id;
        li.append(a, el('span', 'recording-size', ` ${formatBytes(r.bytes)}`));
      } else {
        li.append(el('span', 'recording-pending', what));
      }
      return li;
    });
    if (items.length === 0) items.push(el('li', 'recording-empty', 'No recordings yet.'));
    this.list.replaceChildren(...items);
    byId('recordings-count').textContent = String(this.recordings.length);
  }
}
