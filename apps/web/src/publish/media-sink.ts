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

/**
 * A track's raw frames (`VideoFrame` for video, `AudioData` for audio) read
 * one at a time: the next is read only when the previous one's handler is
 * done, and every frame is closed after its handler (a frame holds camera
 * or audio memory until closed).
 */
export class TrackFrames<T extends VideoFrame | AudioData> {
  private readonly reader: ReadableStreamDefaultReader<T>;
  private stopped = false;

  /** Throws `Error` where the browser has no `MediaStreamTrackProcessor`. */
  constructor(track: MediaStreamTrack, maxBufferSize: number) {
    const Ctor = processorConstructor();
    if (!Ctor) throw new Error(`this browser cannot read ${track.kind} frames (no MediaStreamTrackProcessor)`);
    this.reader = (new Ctor({ track, maxBufferSize }).readable as ReadableStream<T>).getReader();
  }

  get closed(): boolean {
    return this.stopped;
  }

  /** Runs `handle` on each frame until the track ends or `close()`; an error of `handle` ends it and is thrown. */
  async forEach(handle: (frame: T) => void | Promise<void>): Promise<void> {
    while (!this.stopped) {
      let result: ReadableStreamReadResult<T>;
      try {
        result = await this.reader.read();
      } catch {
        return; // cancelled, or the track ended
      }
      if (result.done) return;
      const frame = result.value;
      try {
        await handle(frame);
      } finally {
        frame.close();
      }
    }
  }

  /** Idempotent: stops reading (the track itself is the caller's to stop). */
  close(): void {
    if (this.stopped) return;
    this.stopped = true;
    void this.reader.cancel().catch(() => undefined);
  }
}
