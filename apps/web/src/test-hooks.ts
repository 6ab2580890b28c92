import type { AudioSnapshot } from './audio-player.js';
import type { TileSnapshot } from './tile.js';

/** What `window.vidchat` shows to tests and benches: read-only snapshots. */
export interface VidchatHooks {
  readonly state: string;
  readonly room: string | null;
  readonly tiles: Record<string, TileSnapshot>;
  readonly audio: AudioSnapshot | null;
  /** Envelopes or messages that did not decode. */
  readonly badMessages: number;
  readonly lastError: { code: string; message: string } | null;
}

declare global {
  interface Window {
    vidchat?: VidchatHooks;
  }
}

/** Installs `window.vidchat` as getters over live state; nothing there can be assigned. */
export function installHooks(read: () => VidchatHooks): void {
  const hooks = Object.freeze(
    Object.defineProperties(
      {},
      Object.fromEntries(
        (['state', 'room', 'tiles', 'audio', 'badMessages', 'lastError'] as const).map((k) => [
          k,
          { enumerable: true, get: () => read()[k] },
        ]),
      ),
    ),
  ) as VidchatHooks;
  Object.defineProperty(window, 'vidchat', { value: hooks, writable: false, configurable: false });
}
