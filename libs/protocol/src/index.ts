/**
 * @vidchat/protocol: the wire formats of vidchat. Pure: bytes in, typed
 * objects out and back; no I/O. Runs in Node and in the browser.
 */
export * from './errors.js';
export * from './ids.js';
export * from './subjects.js';
export * from './envelope.js';
export * from './presence.js';
export * from './layers.js';
export * from './levels.js';
export * from './viewer-messages.js';
export * from './chat.js';
export * from './viewer-count.js';
export * from './recording.js';
export * from './http-api.js';
export { utf8Decode, utf8Encode } from './json.js';
export * from './timecode.js';
export * from './mixer-lease.js';
export * from './recorder-lock.js';
export { opusPacketHasFec } from './opus-packet.js';
