import type { AudioSnapshot } from './audio-player.js';
import type { ChatSnapshot } from './chat/chat-panel.js';
import type { PeopleSnapshot } from './chat/people-list.js';
import type { RecordingSnapshot } from './recording/recording-controls.js';
import type { SourceAudioSnapshot, VolumeSetting } from './source-audio.js';
import type { ParticipantHooks } from './publish/join-controls.js';
import type { TileSnapshot } from './tile.js';

/** Binary bytes the page's WebSocket received, by kind (what a viewer costs the network). */
export interface ReceivedSnapshot {
  /** Every binary message, whatever its kind (and the ones that did not decode). */
  bytes: number;
  videoBytes: number;
  videoFrames: number;
  /** The room mix or mix-minus, and per-source audio. */
  audioBytes: number;
  audioPackets: number;
}

/** What `window.vidchat` shows to tests and benches: read-only snapshots. */
export interface VidchatHooks {
  readonly state: string;
  readonly room: string | null;
  readonly tiles: Record<string, TileSnapshot>;
  /**
   * The mix player's figures, the audio mode (`mix` or `sources`), each
   * per-source stream's figures and gain in sources mode, and each tile's
   * volume setting.
   */
  readonly audio:
    (AudioSnapshot & SourceAudioSnapshot<AudioSnapshot> & { volumes: Record<string, VolumeSetting> }) | null;
  /** The last 2,048 samples the page played (after every gain), or null before audio starts: for tone checks. */
  readonly audioTap?: number[] | null;
  /** Envelopes or messages that did not decode. */
  readonly badMessages: number;
  /** Binary bytes received on the page's WebSocket(s) since the page loaded. */
  readonly received: ReceivedSnapshot;
  readonly lastError: { code: string; message: string } | null;
  /** The chat as shown: messages (oldest first), unread count, panel state. */
  readonly chat?: ChatSnapshot;
  /** Participants with mic/camera state, and raised hands. */
  readonly people?: PeopleSnapshot;
  /**
   * Joining with camera and microphone: the join state, `self` (the source id
   * the gateway assigned), frames sent / skipped (socket above its high-water
   * mark), audio packets sent, microphone muted, camera off.
   */
  readonly participant: ParticipantHooks;
  /** The room's recording: the one in progress, the badge text, the list, a refusal. */
  readonly recording: RecordingSnapshot;
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
        (
          [
            'state',
            'room',
            'tiles',
            'audio',
            'audioTap',
            'badMessages',
            'received',
            'lastError',
            'participant',
            'chat',
            'people',
            'recording',
          ] as const
        ).map((k) => [k, { enumerable: true, get: () => read()[k] }]),
      ),
    ),
  ) as VidchatHooks;
  Object.defineProperty(window, 'vidchat', { value: hooks, writable: false, configurable: false });
}
