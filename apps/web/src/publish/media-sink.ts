/**
 * Where a publisher's envelopes go: the participant's WebSocket. `self` is
 * the source id the gateway assigned for the current socket (null before the
 * roster, and again while reconnecting); an envelope is encoded with that id
 * and `send` refuses it when the socket has since been replaced, because the
 * gateway closes a socket that sends another source's id.
 */
export interface MediaSink {
  readonly self: string | null;
  /** Bytes queued on the socket, not yet handed to the network. */
  readonly bufferedAmount: number;
  /** Sends one envelope built for `source`; false when the socket is not open for that source. */
  send(source: string, envelope: Uint8Array): boolean;
}

/** Chromium's `MediaStreamTrackProcessor`: TypeScript's DOM lib does not have it (not on Window in the spec). */
interface TrackProcessor<T> {
  readonly readable: ReadableStream<T>;
}
type TrackProcessorConstructor = new (init: {
  track: MediaStreamTrack;
  maxBufferSize?: number;
}) => TrackProcessor<VideoFrame | AudioData>;

function processorConstructor(): TrackProcessorConstructor | null {
  const g = globalThis as { MediaStreamTrackProcessor?: TrackProcessorConstructor };
  return g.MediaStreamTrackProcessor ?? null;
}

export function hasTrackProcessor(): boolean {
  return processorConstructor() !== null;
}

/** A reader of a track's raw frames (`VideoFrame` for video, `AudioData` for audio), or null where unsupported. */
export function readTrack<T extends VideoFrame | AudioData>(
  track: MediaStreamTrack,
  maxBufferSize: number,
): ReadableStreamDefaultReader<T> | null {
  const Ctor = processorConstructor();
  if (!Ctor) return null;
  return (new Ctor({ track, maxBufferSize }).readable as ReadableStream<T>).getReader();
}
