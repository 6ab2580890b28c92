import type { EnvelopeKindName, SourceInfo } from '@vidchat/protocol';

/**
 * One media message as the gateway keeps it: `bytes` is the envelope exactly
 * as published, copied once out of nats.js's read buffer and then shared,
 * read-only, by every viewer and MJPEG client of the room.
 */
export interface MediaFrame {
  kind: EnvelopeKindName;
  /** Source id; empty for the room's mixed audio and levels. */
  source: string;
  /** The video layer (the envelope's layer byte, checked against the subject); 0 for the rest. */
  layer: number;
  /** For a mix-minus packet: the listening source it was mixed for. */
  minusOf?: string;
  bytes: Uint8Array;
  /** The JPEG or Opus payload: a view into `bytes`. */
  payload: Uint8Array;
}

/** Something that watches a room: a viewer socket, an MJPEG client, a snapshot request. */
export interface RoomWatcher {
  onSourceJoined(room: string, source: SourceInfo): void;
  onSourceLeft(room: string, source: string): void;
  onMedia(frame: MediaFrame): void;
}
