import {
  decodeEnvelope,
  decodeLevelsPayload,
  type JoinMedia,
  type ServerMessage,
  type ViewerErrorCode,
} from '@vidchat/protocol';
import { audioErrorText } from './audio-error-text.js';
import { AudioPlayer, AudioStartError } from './audio-player.js';
import { ChatPanel } from './chat/chat-panel.js';
import { PeopleList } from './chat/people-list.js';
import { ViewerConnection, type ConnectionStatus } from './connection.js';
import { byId } from './dom.js';
import { errorText } from './error-text.js';
import { socketUrl, type PageParams } from './page-params.js';
import { JoinControls } from './publish/join-controls.js';
import type { MediaSink } from './publish/media-sink.js';
import { DEFAULT_PUBLISH_OPTIONS } from './publish/publish-options.js';
import { captureSupport } from './publish/secure-origin.js';
import { RecordingControls } from './recording/recording-controls.js';
import { StatusIndicator } from './status-indicator.js';
import { LayerChooser } from './layer-chooser.js';
import { installHooks, type ReceivedSnapshot } from './test-hooks.js';
import { SourceAudio } from './source-audio.js';
import { TileGrid } from './tile-grid.js';
import { TileVolumes, VolumeStore } from './tile-volume.js';

/**
 * The page for one room: the connection, the tile grid, the mixed audio,
 * the header controls and the Join control, wired together. Binary messages
 * are routed by kind. Joining or leaving replaces the connection: a
 * participant's socket is its own source (the gateway publishes its presence
 * while the socket lives), so leaving closes it and watching opens a new one.
 */
export function showRoom(room: string, params: PageParams): void {
  const token = params.token;
  byId('picker').hidden = true;
  byId('room-view').hidden = false;
  byId('room-name').textContent = room;
  document.title = `${room} · vidchat`;

  // `conn` is created below; the panel only calls `send` after a click, when it exists.
  const chat = new ChatPanel(byId('chat'), byId<HTMLButtonElement>('chat-button'), byId('room-view'), {
    send: (text) => conn.send({ type: 'chat', text }),
  });
  const hand = wireHandButton((raised) => conn.send({ type: 'hand', raised }));
  const people = new PeopleList(byId('people'), byId('grid'));
  const audio = new AudioPlayer();
  // Per-tile volume: the mix until a tile is turned up, down or off, then
  // each source's own audio at its own gain (`conn` exists by the time a
  // mode is sent: tiles come with a roster).
  const sourceAudio = new SourceAudio(
    audio,
    (mode) => conn.send({ type: 'audio', mode }),
    (bus) => {
      const player = new AudioPlayer(undefined, undefined, bus);
      player.followVideo(() => grid.videoDelayMs());
      return player;
    },
  );
  const resetVolumes = byId<HTMLButtonElement>('volume-reset');
  const volumes = new TileVolumes(new VolumeStore(safeLocalStorage(), room), sourceAudio, () => {
    resetVolumes.hidden = !sourceAudio.anyChanged;
  });
  resetVolumes.addEventListener('click', () => volumes.resetAll());
  // Each tile's layer choice goes to the gateway as a `layer` message on the
  // current connection (`conn` exists by the time one is sent: tiles come with a roster).
  const layers = new LayerChooser((source, layer) => conn.send({ type: 'layer', source, layer }), params.layer);
  const grid = new TileGrid(
    byId('grid'),
    room,
    () => sourceAudio.lipSyncDelayMs(),
    layers,
    volumes,
    params.decode ?? undefined,
  );
  // Lip sync the other way: the sound waits (up to 300 ms) for a picture that comes later than it.
  audio.followVideo(() => grid.videoDelayMs());
  const status = new StatusIndicator(byId('status'), byId('banner'));
  const count = byId('source-count');
  const recording = new RecordingControls(room, token);
  let state: ConnectionStatus['state'] = 'connecting';
  let badMessages = 0;
  const received: ReceivedSnapshot = { bytes: 0, videoBytes: 0, videoFrames: 0, audioBytes: 0, audioPackets: 0 };
  let lastError: { code: string; message: string } | null = null;

  const updateCount = (): void => {
    count.textContent = `${grid.size} ${grid.size === 1 ? 'camera' : 'cameras'}`;
  };
  updateCount();

  const onMessage = (msg: ServerMessage): void => {
    switch (msg.type) {
      case 'roster': {
        // A participant sees itself in the local preview, never as a remote tile
        // (so it never asks for a layer of its own source either).
        const self = msg.self ?? null;
        join.onRoster(self);
        grid.setRoster(msg.sources.filter((src) => src.id !== self));
        // A (re)join starts with no hand up: the gateway lowered it when the old socket went.
        people.resetHands();
        people.setSelf(self);
        hand.reset();
        // The people list shows everyone, the participant itself too.
        people.setRoster(msg.sources);
        // A roster answers a (re)join: a new socket, on which the gateway knows no layer choice yet.
        layers.resync();
        // Nor the audio mode: it starts at the mix.
        sourceAudio.resync();
        break;
      }
      case 'source-joined':
        if (msg.source.id !== join.selfId) grid.upsert(msg.source);
        people.upsert(msg.source);
        break;
      case 'source-left':
        grid.remove(msg.source);
        people.remove(msg.source);
        break;
      case 'chat':
        chat.add(msg);
        break;
      case 'hand':
        people.onHand(msg);
        break;
      case 'viewers':
        people.onViewers(msg);
        break;
      case 'recording':
        recording.onMessage(msg);
        break;
      case 'error':
      case 'pong':
        break;
    }
    updateCount();
  };

  const onBinary = (bytes: Uint8Array): void => {
    received.bytes += bytes.byteLength;
    let env;
    try {
      env = decodeEnvelope(bytes);
    } catch {
      badMessages++;
      return;
    }
    if (env.kind === 'video') {
      received.videoBytes += bytes.byteLength;
      received.videoFrames++;
    } else if (env.kind === 'mixedAudio' || env.kind === 'audio') {
      received.audioBytes += bytes.byteLength;
      received.audioPackets++;
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
          const levels = decodeLevelsPayload(env.payload);
          grid.setLevels(levels);
          const self = join.selfId;
          if (self !== null) {
            const own = levels.sources.find((src) => src.source === self);
            join.setOwnLevel(own?.dbfs ?? null, levels.active === self);
          }
        } catch {
          badMessages++;
        }
        break;
      case 'audio':
        // Sent only after the page asked for per-source audio (a tile's volume changed).
        sourceAudio.push(env);
        break;
    }
  };

  const onServerError = (code: ViewerErrorCode, message: string): void => {
    // Chat refusals keep the connection: they are shown in the chat panel, not as a page banner.
    if (code.startsWith('chat-') || code === 'not-joined') {
      chat.showError(errorText(code, ''));
      return;
    }
    lastError = { code, message };
    status.setBanner(errorText(code, message));
  };

  let publishing = false;
  const handlers = {
    onStatus: (s: ConnectionStatus) => {
      state = s.state;
      status.show(s);
      if (s.state === 'reconnecting') join.onDisconnected();
      if (s.state === 'failed' && publishing) join.onRefused(errorText(s.code, s.message));
    },
    onMessage,
    onBinary,
    onServerError,
    onBadMessage: () => badMessages++,
  };
  const connectAs = (publish: { name: string; media: JoinMedia } | null): ViewerConnection => {
    publishing = publish !== null;
    const c = new ViewerConnection(
      {
        url: socketUrl(location),
        room,
        token,
        ...(publish ? { publish } : {}),
        ...(params.as && !publish ? { as: params.as } : {}),
      },
      handlers,
    );
    c.start();
    return c;
  };
  let conn = connectAs(null);

  const sink: MediaSink = {
    get self() {
      return conn.self;
    },
    get bufferedAmount() {
      return conn.bufferedAmount;
    },
    send: (source, envelope) => conn.sendMedia(source, envelope),
  };
  // Once audio plays, changed volumes remembered from earlier visits take effect.
  const enableAudio = wireAudioButton(audio, () => sourceAudio.resync());
  const join = new JoinControls(
    {
      connect: (publish) => {
        conn.close();
        conn = connectAs(publish);
      },
      showPreview: (tile) => grid.setLocalTile(tile),
      enableAudioFromGesture: enableAudio,
      sink,
    },
    captureSupport(
      {
        href: location.href,
        isSecureContext: window.isSecureContext,
        hasGetUserMedia: typeof navigator.mediaDevices?.getUserMedia === 'function',
      },
      params.httpsPort ?? undefined,
    ),
    DEFAULT_PUBLISH_OPTIONS,
    safeLocalStorage(),
  );
  wireStatsToggle(grid);

  installHooks(() => ({
    state,
    room,
    tiles: grid.snapshot(),
    audio: { ...audio.snapshot(), ...sourceAudio.snapshot(), volumes: volumes.snapshot() },
    get audioTap() {
      const samples = audio.outputSamples();
      return samples ? Array.from(samples) : null;
    },
    badMessages,
    received: { ...received },
    lastError,
    chat: chat.snapshot(),
    people: people.snapshot(),
    participant: join.snapshot(),
    recording: recording.snapshot(),
  }));
  if (params.join) join.joinFromLink(params.name);
  window.addEventListener('pagehide', () => conn.close());
}

/** localStorage, or null where the browser refuses it (storage blocked). */
function safeLocalStorage(): Storage | null {
  try {
    return window.localStorage;
  } catch {
    return null;
  }
}

/** Wires the audio button; returns what starts audio from another click (Join). */
function wireAudioButton(audio: AudioPlayer, onStarted: () => void): () => void {
  const button = byId<HTMLButtonElement>('audio-button');
  const note = byId('audio-note');
  let muted = false;
  const enable = (): void => {
    if (audio.enabled || button.disabled) return;
    button.disabled = true;
    button.textContent = 'Starting audio…';
    audio.enable().then(
      () => {
        button.disabled = false;
        button.textContent = 'Mute';
        button.dataset['on'] = 'true';
        note.hidden = true;
        onStarted();
      },
      (err: unknown) => {
        button.disabled = false;
        button.textContent = 'Enable audio';
        const e = err instanceof AudioStartError ? err : new AudioStartError('start-failed', String(err));
        note.textContent = audioErrorText(e.code, e.message, window.isSecureContext, location.hostname);
        note.hidden = false;
      },
    );
  };
  button.addEventListener('click', () => {
    if (!audio.enabled) {
      enable();
      return;
    }
    muted = !muted;
    void audio.setMuted(muted);
    button.textContent = muted ? 'Unmute' : 'Mute';
    button.dataset['on'] = String(!muted);
  });
  return enable;
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

function wireHandButton(send: (raised: boolean) => boolean): { reset(): void } {
  const button = byId<HTMLButtonElement>('hand-button');
  let raised = false;
  const show = (): void => {
    button.setAttribute('aria-pressed', String(raised));
    button.textContent = raised ? 'Lower hand' : 'Raise hand';
  };
  button.addEventListener('click', () => {
    if (!send(!raised)) return;
    raised = !raised;
    show();
  });
  return {
    reset: () => {
      raised = false;
      show();
    },
  };
}
