import { encodeEnvelope } from '@vidchat/protocol';
import { CaptureClock, epochNowUs } from './capture-clock.js';
import { fitInside, FramePacer, type Size } from './frame-pacer.js';
import { TrackFrames, type MediaSink } from './media-sink.js';
import type { PublishOptions } from './publish-options.js';

export interface CameraStats {
  /** Frames sent on the socket. */
  framesSent: number;
  /** Frames skipped because the socket had more than `videoHighWaterBytes` queued. */
  framesSkipped: number;
  /** Frames encoded while the socket was not (yet) joined, or was replaced meanwhile: not sent. */
  framesUnsent: number;
  bytesSent: number;
  /** The size frames are sent at (after scaling), null before the first. */
  size: Size | null;
  /** Time of the last JPEG encode, ms. */
  lastEncodeMs: number;
}

/**
 * Sends one camera track as JPEG video envelopes: frames from a
 * `MediaStreamTrackProcessor` (a `VideoFrame` with its capture timestamp),
 * at most `fps` a second, scaled into the options' box on an
 * `OffscreenCanvas` and encoded by `convertToBlob` (WebCodecs has no JPEG
 * encoder). One frame is in flight at a time: while one is encoded, the
 * processor keeps only the newest (its buffer holds one), so a slow machine
 * sends fewer, fresher frames. The camera's track belongs to the caller.
 */
export class CameraPublisher {
  readonly stats: CameraStats = {
    framesSent: 0,
    framesSkipped: 0,
    framesUnsent: 0,
    bytesSent: 0,
    size: null,
    lastEncodeMs: 0,
  };
  private readonly frames: TrackFrames<VideoFrame>;
  private readonly pacer: FramePacer;
  private readonly clock = new CaptureClock();
  private readonly canvas = new OffscreenCanvas(2, 2);
  private readonly ctx: OffscreenCanvasRenderingContext2D;
  private seq = 0;
  /** Settles when the read loop ends (closed, track ended, or failed). */
  readonly done: Promise<void>;

  /** Throws `Error` when this browser cannot read camera frames (no `MediaStreamTrackProcessor`). */
  constructor(
    track: MediaStreamTrack,
    private readonly sink: MediaSink,
    private readonly opts: PublishOptions,
  ) {
    const ctx = this.canvas.getContext('2d', { alpha: false });
    if (!ctx) throw new Error('this browser has no 2D OffscreenCanvas');
    this.ctx = ctx;
    // Its buffer holds one frame: while one is encoded, only the newest waits.
    this.frames = new TrackFrames<VideoFrame>(track, 1);
    this.pacer = new FramePacer(opts.fps);
    this.done = this.frames.forEach((frame) => this.handle(frame));
  }

  /** Idempotent: stops reading (the track itself is the caller's to stop). */
  close(): void {
    this.frames.close();
  }

  private get closed(): boolean {
    return this.frames.closed;
  }

  private async handle(frame: VideoFrame): Promise<void> {
    const captureTimeUs = this.clock.toEpochUs(frame.timestamp, epochNowUs());
    if (this.closed || !this.pacer.take(frame.timestamp)) return;
    const self = this.sink.self;
    if (self === null) {
      this.stats.framesUnsent++;
      return;
    }
    if (this.sink.bufferedAmount > this.opts.videoHighWaterBytes) {
      this.stats.framesSkipped++;
      return;
    }
    const size = fitInside(
      { width: frame.displayWidth, height: frame.displayHeight },
      { width: this.opts.maxWidth, height: this.opts.maxHeight },
    );
    const started = performance.now();
    if (this.canvas.width !== size.width || this.canvas.height !== size.height) {
      this.canvas.width = size.width;
      this.canvas.height = size.height;
    }
    this.ctx.drawImage(frame, 0, 0, size.width, size.height);
    frame.close(); // the camera's buffer goes back before the encode is awaited
    const blob = await this.canvas.convertToBlob({ type: 'image/jpeg', quality: this.opts.jpegQuality });
    const payload = new Uint8Array(await blob.arrayBuffer());
    this.stats.lastEncodeMs = performance.now() - started;
    this.stats.size = size;
    if (this.closed) return;
    const envelope = encodeEnvelope({
      kind: 'video',
      source: self,
      seq: this.seq,
      captureTimeUs,
      width: size.width,
      height: size.height,
      codec: 'jpeg',
      layer: 0,
      payload,
    });
    this.seq = (this.seq + 1) >>> 0;
    if (this.sink.send(self, envelope)) {
      this.stats.framesSent++;
      this.stats.bytesSent += envelope.byteLength;
    } else {
      this.stats.framesUnsent++;
    }
  }
}
