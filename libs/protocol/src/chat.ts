import { InvalidMessageError } from './errors.js';
import { asObject, id, num, oneOf, parseJsonText, str, utf8Decode, utf8Encode } from './json.js';
import { MAX_NAME_LENGTH } from './presence.js';

/*
 * Room chat on NATS: the JSON a gateway publishes on `vidchat.chat.<room>`
 * (kept in the JetStream stream) and on `vidchat.hand.<room>` (not kept).
 * Every gateway watching the room turns them into viewer `chat` and `hand`
 * messages (viewer-messages.ts).
 */

/** Longest chat text, in characters (Unicode code points) after trimming. */
export const MAX_CHAT_TEXT_LENGTH = 2_000;
/** Version of the NATS chat and hand JSON; a reader drops versions it does not know. */
export const CHAT_RECORD_VERSION = 1;
/** Largest chat or hand JSON on NATS: 2,000 code points of 4 UTF-8 bytes, escaped, plus the fields. */
export const MAX_CHAT_RECORD_BYTES = 16_384;

/** Who sent a message: a viewer (watching only) or a participant (camera / microphone). */
export type ChatSenderKind = 'viewer' | 'participant';
export const CHAT_SENDER_KINDS = ['viewer', 'participant'] as const;

/** A chat message as stored in the stream. `id` is unique (the gateway's), `ts` ms since the Unix epoch. */
export interface ChatRecord {
  v: 1;
  id: string;
  room: string;
  /** The sender's name at the time it spoke; shown as text only. */
  name: string;
  from: ChatSenderKind;
  text: string;
  ts: number;
}

/** A raised or lowered hand. `who` is a participant's source id, or a viewer's generated id. */
export interface HandEvent {
  v: 1;
  room: string;
  who: string;
  name: string;
  raised: boolean;
  ts: number;
}

/** Why a chat text is refused (the `error` code the sender gets). */
export type ChatTextProblem = 'chat-empty' | 'chat-too-long';

export type ChatTextCheck = { ok: true; text: string } | { ok: false; code: ChatTextProblem; message: string };

/**
 * Trims a chat text and checks its length in code points (so that an emoji
 * counts as one character, as a person counts it).
 */
export function checkChatText(raw: string): ChatTextCheck {
  const text = raw.trim();
  if (text.length === 0) return { ok: false, code: 'chat-empty', message: 'chat text is empty' };
  // A string longer than 2 × the limit in UTF-16 units is too long whatever it holds.
  if (text.length > 2 * MAX_CHAT_TEXT_LENGTH || [...text].length > MAX_CHAT_TEXT_LENGTH) {
    return { ok: false, code: 'chat-too-long', message: `chat text over ${MAX_CHAT_TEXT_LENGTH} characters` };
  }
  return { ok: true, text };
}

export function encodeChatRecord(r: ChatRecord): Uint8Array {
  // Field by field, so that an object carrying more never leaks it onto NATS.
  const { v, id: rid, room, name, from, text, ts } = r;
  return utf8Encode(JSON.stringify({ v, id: rid, room, name, from, text, ts }));
}

/** Decodes and validates a stored chat message; throws `InvalidMessageError`. */
export function decodeChatRecord(bytes: Uint8Array): ChatRecord {
  const o = recordObject(bytes, 'chat');
  const text = str(o, 'text', 'chat', 2 * MAX_CHAT_TEXT_LENGTH);
  const check = checkChatText(text);
  if (!check.ok || check.text !== text)
    throw new InvalidMessageError(`chat.text: ${check.ok ? 'not trimmed' : check.message}`);
  return {
    v: 1,
    id: id(o, 'id', 'chat'),
    room: id(o, 'room', 'chat'),
    name: str(o, 'name', 'chat', MAX_NAME_LENGTH),
    from: oneOf(o, 'from', 'chat', CHAT_SENDER_KINDS),
    text,
    ts: num(o, 'ts', 'chat', 0, Number.MAX_SAFE_INTEGER, true),
  };
}

export function encodeHandEvent(e: HandEvent): Uint8Array {
  const { v, room, who, name, raised, ts } = e;
  return utf8Encode(JSON.stringify({ v, room, who, name, raised, ts }));
}

export function decodeHandEvent(bytes: Uint8Array): HandEvent {
  const o = recordObject(bytes, 'hand');
  const raised = o['raised'];
  if (typeof raised !== 'boolean') throw new InvalidMessageError('hand.raised must be true or false');
  return {
    v: 1,
    room: id(o, 'room', 'hand'),
    who: id(o, 'who', 'hand'),
    name: str(o, 'name', 'hand', MAX_NAME_LENGTH),
    raised,
    ts: num(o, 'ts', 'hand', 0, Number.MAX_SAFE_INTEGER, true),
  };
}

function recordObject(bytes: Uint8Array, what: string): Record<string, unknown> {
  if (bytes.length > MAX_CHAT_RECORD_BYTES)
    throw new InvalidMessageError(`${what} over ${MAX_CHAT_RECORD_BYTES} bytes`);
  const o = asObject(parseJsonText(utf8Decode(bytes, what), MAX_CHAT_RECORD_BYTES, what), what);
  if (o['v'] !== CHAT_RECORD_VERSION) throw new InvalidMessageError(`${what}.v must be ${CHAT_RECORD_VERSION}`);
  return o;
}
