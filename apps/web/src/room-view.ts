import { decodeEnvelope, decodeLevelsPayload, type ServerMessage, type ViewerErrorCode } from '@vidchat/protocol';
import { AudioPlayer } from './audio-player.js';
import { ViewerConnection, type ConnectionStatus } from './connection.js';
import { byId } from './dom.js';
import { errorText } from './error-text.js';
import { socketUrl } from './page-params.js';
import { StatusIndicator } from './status-indicator.js';
import { LayerChooser } from './layer-chooser.js';
import { installHooks } from './test-hooks.js';
import { TileGrid } from './tile-grid.js';

/**
 * The page for one room: the connection, the tile grid, the mixed audio and
 * the header controls, wired together. Binary messages are routed by kind.
 */
export function showRoom(room: string, token: string | null): void {
  byId('picker').hidden = true;
  byId('room-view').hidden = false;
  byId('room-name').textContent = room;
  document.title = `${room} · vidchat`;

  // Each tile's layer choice goes to the gateway as a `layer` message (`conn` exists by the time one is sent).
  const layers = new LayerChooser((source, layer) => conn.send({ type: 'layer', source, layer }));
  const grid = new TileGrid(byId('grid'), room, layers);
  const audio = new AudioPlayer();
  const status = new StatusIndicator(byId('status'), byId('banner'));
  const count = byId('source-count');
  let state: ConnectionStatus['state'] = 'connecting';
  let badMessages = 0;
  let lastError: { code: string; message: string } | null = null;

  const updateCount = (): void => {
    count.textContent = `${grid.size} ${grid.size === 1 ? 'camera' : 'cameras'}`;
  };
  updateCount();

  const onMessage = (msg: ServerMessage): void => {
    switch (msg.type) {
      case 'roster':
        grid.setRoster(msg.sources);
        // A roster answers a (re)join: a new socket, on which the gateway knows no layer choice yet.
        layers.resync();
        break;
      case 'source-joined':
        grid.upsert(msg.source);
        break;
      case 'source-left':
        grid.remove(msg.source);
        break;
      case 'error':
      case 'pong':
        break;
    }
    updateCount();
  };

  const onBinary = (bytes: Uint8Array): void => {
    let env;
    try {
      env = decodeEnvelope(bytes);
    } catch {
      badMessages++;
      return;
    }
    switch (env.kind) {
      case 'video':
        grid.pushFrame(env.source, { payload: env.payload, captureTimeUs: env.captureTimeUs, layer: env.layer });
        break;
      case 'mixedAudio':
        audio.push(env);
        break;
      case 'levels':
        try {
          grid.setLevels(decodeLevelsPayload(env.payload));
        } catch {
          badMessages++;
        }
        break;
      case 'audio':
        // Per-source audio is planned (per-tile volume); today the mix is played.
        break;
    }
  };

  const onServerError = (code: ViewerErrorCode, message: string): void => {
    lastError = { code, message };
    status.setBanner(errorText(code, message));
  };

  const conn = new ViewerConnection(
    { url: socketUrl(location), room, token },
    {
      onStatus: (s) => {
        state = s.state;
        status.show(s);
      },
      onMessage,
      onBinary,
      onServerError,
      onBadMessage: () => badMessages++,
    },
  );

  wireAudioButton(audio);
  wireStatsToggle(grid);

  installHooks(() => ({
    state,
    room,
    tiles: grid.snapshot(),
    audio: audio.snapshot(),
    badMessages,
    lastError,
  }));
  conn.start();
  window.addEventListener('pagehide', () => conn.close());
}

function wireAudioButton(audio: AudioPlayer): void {
  const button = byId<HTMLButtonElement>('audio-button');
  let muted = false;
  button.addEventListener('click', () => {
    if (!audio.enabled) {
      button.disabled = true;
      button.textContent = 'Starting audio…';
      audio.enable().then(
        () => {
          button.disabled = false;
          button.textContent = 'Mute';
          button.dataset['on'] = 'true';
        },
        () => {
          button.disabled = false;
          button.textContent = 'Audio failed — retry';
        },
      );
      return;
    }
    muted = !muted;
    void audio.setMuted(muted);
    button.textContent = muted ? 'Unmute' : 'Mute';
    button.dataset['on'] = String(!muted);
  });
}

function wireStatsToggle(grid: TileGrid): void {
  const button = byId<HTMLButtonElement>('stats-button');
  let on = false;
  button.addEventListener('click', () => {
    on = !on;
    button.setAttribute('aria-pressed', String(on));
    grid.setShowStats(on);
  });
}
