// The parser lives in @vidchat/protocol (the viewer page reads the same bit); re-exported for the mixer's imports.
export { opusPacketHasFec } from '@vidchat/protocol';
