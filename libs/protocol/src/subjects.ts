import { InvalidFieldError, InvalidSubjectError } from './errors.js';
import { assertValidId, isValidId } from './ids.js';

/*
 * The NATS subject tree. This file is the only place that builds or parses
 * vidchat subjects; apps never write a subject literal.
 *
 *   vidchat
 *   ├── src.<room>.<source>
 *   │   ├── .video      capture agent → JPEG envelopes, layer 0 (full size)
 *   │   ├── .video1     capture agent → JPEG envelopes, layer 1 (half width)
 *   │   ├── .audio      capture agent → Opus envelopes (20 ms)
 *   │   └── .presence   capture agent → join / heartbeat (1 s) / leave (JSON)
 *   ├── mix.<room>
 *   │   ├── .audio            mixer → mixed Opus envelopes
 *   │   ├── .levels           mixer → levels envelopes (~10 Hz)
 *   │   └── .minus.<source>   mixer → the mix without <source>'s own audio
 *   │                         (mixedAudio envelopes), only for a source
 *   │                         whose presence says it listens
 *   ├── chat.<room>           gateway → a chat message (JSON, see chat.ts), kept in
 *   │                         the JetStream stream VIDCHAT_CHAT (`vidchat.chat.*`)
 *   ├── hand.<room>           gateway → a raised or lowered hand (JSON, see chat.ts);
 *   │                         plain publish/subscribe, not kept in the stream
 *   ├── viewers.<room>        gateway → how many of its viewers watch the room (JSON, see
 *   │                         viewer-count.ts): on change and as a heartbeat; every gateway
 *   │                         with viewers in the room sums the latest report of each
 *   └── rec.<room>            the recorder's request/reply API (JSON, see recording.ts)
 *       ├── .start            gateway → recorder: start recording the room
 *       ├── .stop             gateway → recorder: stop one recording
 *       ├── .list             gateway → recorder: the room's recordings
 *       ├── .events           recorder → gateways: a recording started, stopped, failed
 *       └── .peer.<action>    recorder → recorder: a request handed on to the one that can answer it
 *
 * Ids are validated before they become a token, so `.`, `*`, `>` and
 * whitespace can never reach the broker from user input.
 */
export const SUBJECT_ROOT = 'vidchat';

export type SourceTrack = 'video' | 'audio' | 'presence';
export type MixTrack = 'audio' | 'levels';

export type ParsedSubject =
  | {
      scope: 'src';
      room: string;
      source: string;
      track: SourceTrack;
      /** Set for a layer above 0 only (`.video1` gives 1); absent on `.video` means layer 0. */
      layer?: number;
    }
  | { scope: 'mix'; room: string; track: MixTrack }
  | { scope: 'mix'; room: string; track: 'minus'; source: string };

/** The token between the room and the listener's source id in a mix-minus subject. */
const MINUS_TOKEN = 'minus';

export function sourceSubject(room: string, source: string, track: SourceTrack): string {
  return `${SUBJECT_ROOT}.src.${assertValidId('room', room)}.${assertValidId('source', source)}.${track}`;
}

export const videoSubject = (room: string, source: string): string => sourceSubject(room, source, 'video');
/** Video layers a source may publish: 0 (its configured size) and 1 (half the width). */
export const MAX_VIDEO_LAYER = 1;

/**
 * The subject of one video layer. Layer 0 keeps the plain `.video` subject,
 * so that everything that subscribes to `.video` (or `*.video`) still gets
 * full-size frames and never the small ones; layer N > 0 is `.videoN`, which
 * no `.video` wildcard matches, so that a consumer subscribes to a layer
 * only while it wants it.
 */
export function videoLayerSubject(room: string, source: string, layer: number): string {
  if (layer === 0) return videoSubject(room, source);
  if (!Number.isInteger(layer) || layer < 0 || layer > MAX_VIDEO_LAYER) {
    throw new InvalidFieldError('layer', `${layer}`);
  }
  return `${sourceSubject(room, source, 'video')}${layer}`;
}

export const audioSubject = (room: string, source: string): string => sourceSubject(room, source, 'audio');
export const presenceSubject = (room: string, source: string): string => sourceSubject(room, source, 'presence');

export function mixSubject(room: string, track: MixTrack): string {
  return `${SUBJECT_ROOT}.mix.${assertValidId('room', room)}.${track}`;
}

export const mixAudioSubject = (room: string): string => mixSubject(room, 'audio');
export const mixLevelsSubject = (room: string): string => mixSubject(room, 'levels');

/** The mix-minus of `source`: the room's mix without that source's own audio. */
export function mixMinusSubject(room: string, source: string): string {
  return `${SUBJECT_ROOT}.mix.${assertValidId('room', room)}.${MINUS_TOKEN}.${assertValidId('source', source)}`;
}

/** Wildcards for subscriptions. */
export const wildcards = {
  /** Everything any source of `room` publishes. */
  roomSources: (room: string): string => `${SUBJECT_ROOT}.src.${assertValidId('room', room)}.>`,
  /** One track of every source of `room`. */
  roomTrack: (room: string, track: SourceTrack): string =>
    `${SUBJECT_ROOT}.src.${assertValidId('room', room)}.*.${track}`,
  /** Everything the mixer publishes for `room`, every listener's mix-minus included. */
  roomMix: (room: string): string => `${SUBJECT_ROOT}.mix.${assertValidId('room', room)}.>`,
  /**
   * The room's own mix tracks (`audio`, `levels`): one token after the room,
   * so no listener's mix-minus (`minus.<source>`) matches. What viewers get.
   */
  roomSharedMix: (room: string): string => `${SUBJECT_ROOT}.mix.${assertValidId('room', room)}.*`,
  /** The mix-minus streams of every listener of `room`. */
  roomMinus: (room: string): string => `${SUBJECT_ROOT}.mix.${assertValidId('room', room)}.${MINUS_TOKEN}.*`,
  /** Presence of every source of every room. */
  allPresence: (): string => `${SUBJECT_ROOT}.src.*.*.presence`,
  /** One track of every source of every room. */
  allTrack: (track: SourceTrack): string => `${SUBJECT_ROOT}.src.*.*.${track}`,
} as const;

const SOURCE_TRACKS: ReadonlySet<string> = new Set(['video', 'audio', 'presence']);
const MIX_TRACKS: ReadonlySet<string> = new Set(['audio', 'levels']);

/** Parses a concrete subject; returns null for anything outside the tree. */
export function tryParseSubject(subject: string): ParsedSubject | null {
  const parts = subject.split('.');
  if (parts[0] !== SUBJECT_ROOT) return null;
  if (parts[1] === 'src' && parts.length === 5) {
    const [, , room, source, track] = parts;
    if (isValidId(room) && isValidId(source) && track !== undefined && SOURCE_TRACKS.has(track)) {
      return { scope: 'src', room, source, track: track as SourceTrack };
    }
    const layer = track === undefined ? null : videoLayerOfTrack(track);
    if (isValidId(room) && isValidId(source) && layer !== null) {
      return { scope: 'src', room, source, track: 'video', layer };
    }
  } else if (parts[1] === 'mix' && parts.length === 4) {
    const [, , room, track] = parts;
    if (isValidId(room) && track !== undefined && MIX_TRACKS.has(track)) {
      return { scope: 'mix', room, track: track as MixTrack };
    }
  } else if (parts[1] === 'mix' && parts.length === 5 && parts[3] === MINUS_TOKEN) {
    const [, , room, , source] = parts;
    if (isValidId(room) && isValidId(source)) return { scope: 'mix', room, track: MINUS_TOKEN, source };
  }
  return null;
}

/** The layer of a `videoN` track token (N from 1 to MAX_VIDEO_LAYER), else null. */
function videoLayerOfTrack(track: string): number | null {
  const m = /^video([1-9])$/.exec(track);
  const layer = Number(m?.[1]);
  return m && layer <= MAX_VIDEO_LAYER ? layer : null;
}

/** Like `tryParseSubject` but throws `InvalidSubjectError`. */
export function parseSubject(subject: string): ParsedSubject {
  const parsed = tryParseSubject(subject);
  if (!parsed) throw new InvalidSubjectError(subject);
  return parsed;
}

/*
 * Room chat. Chat messages live on `chat.<room>`, one subject per room, so
 * that the stream's per-subject limits (`max_msgs_per_subject`) are per-room
 * limits and a room's history is one filtered consumer. Hands are on a
 * subject of their own: they are events, not history, and must not be caught
 * by the stream. So are the gateways' viewer counts for the people list.
 */
export type ChatScope = 'chat' | 'hand' | 'viewers';
const CHAT_SCOPES: ReadonlySet<string> = new Set(['chat', 'hand', 'viewers']);

export function chatSubject(room: string): string {
  return `${SUBJECT_ROOT}.chat.${assertValidId('room', room)}`;
}

export function handSubject(room: string): string {
  return `${SUBJECT_ROOT}.hand.${assertValidId('room', room)}`;
}

/** Each gateway's count of the room's viewers (see viewer-count.ts); plain publish/subscribe. */
export function viewersSubject(room: string): string {
  return `${SUBJECT_ROOT}.viewers.${assertValidId('room', room)}`;
}

export const chatWildcards = {
  /** Every room's chat: the subjects of the chat stream. */
  allChat: (): string => `${SUBJECT_ROOT}.chat.*`,
} as const;

/** Parses a chat, hand or viewers subject; null for anything else. */
export function tryParseChatSubject(subject: string): { scope: ChatScope; room: string } | null {
  const parts = subject.split('.');
  if (parts.length !== 3 || parts[0] !== SUBJECT_ROOT) return null;
  const [, scope, room] = parts;
  if (scope === undefined || !CHAT_SCOPES.has(scope) || !isValidId(room)) return null;
  return { scope: scope as ChatScope, room };
}

/*
 * The recorder's subjects. Requests go to one recorder of the queue group
 * `RECORDER_QUEUE`; `events` is plain publish/subscribe so that every gateway
 * can relay state changes to its viewers.
 */
export type RecAction = 'start' | 'stop' | 'list' | 'events';
const REC_ACTIONS: ReadonlySet<string> = new Set(['start', 'stop', 'list', 'events']);

/** Queue group of the recorders: each request is answered by exactly one of them. */
export const RECORDER_QUEUE = 'vidchat-recorder';

export function recSubject(room: string, action: RecAction): string {
  return `${SUBJECT_ROOT}.rec.${assertValidId('room', room)}.${action}`;
}

/** Wildcards the recorder and the gateway subscribe to. */
export const recWildcards = {
  /** One request kind (or the events) of every room. */
  allRooms: (action: RecAction): string => `${SUBJECT_ROOT}.rec.*.${action}`,
} as const;

/*
 * Between recorders of one deployment. A request lands on any recorder of
 * the queue group; the one that cannot answer it alone hands it on, same
 * body, same reply:
 *  - `peer.start`: subscribed in the queue group `RECORDER_QUEUE` only by
 *    recorders below their `--max-recordings`, so a full recorder hands a
 *    start to one that has room (no responders: all are full);
 *  - `peer.stop`, `peer.list`: subscribed (no queue) only by the recorder
 *    that records the room now, so a stop or a list reaches it wherever it
 *    landed (no responders: nobody records the room).
 */
export type RecPeerAction = 'start' | 'stop' | 'list';

export function recPeerSubject(room: string, action: RecPeerAction): string {
  return `${SUBJECT_ROOT}.rec.${assertValidId('room', room)}.peer.${action}`;
}

/** `peer.start` of every room, for the recorders' queue group. */
export const recPeerStartWildcard = `${SUBJECT_ROOT}.rec.*.peer.start`;

/** The room of a `vidchat.rec.<room>.peer.<action>` subject, or null. */
export function tryParseRecPeerSubject(subject: string): { room: string; action: RecPeerAction } | null {
  const parts = subject.split('.');
  if (parts.length !== 5 || parts[0] !== SUBJECT_ROOT || parts[1] !== 'rec' || parts[3] !== 'peer') return null;
  const [, , room, , action] = parts;
  if (!isValidId(room) || (action !== 'start' && action !== 'stop' && action !== 'list')) return null;
  return { room, action };
}

/** Parses a recorder subject; null for anything else (so a bad room id never becomes a request). */
export function tryParseRecSubject(subject: string): { room: string; action: RecAction } | null {
  const parts = subject.split('.');
  if (parts.length !== 4 || parts[0] !== SUBJECT_ROOT || parts[1] !== 'rec') return null;
  const [, , room, action] = parts;
  if (!isValidId(room) || action === undefined || !REC_ACTIONS.has(action)) return null;
  return { room, action: action as RecAction };
}
