import { encodeEnvelope } from '@vidchat/protocol';
import { CaptureClock, epochNowUs } from './capture-clock.js';
import { fitInside, FramePacer, layer1Size, type Size } from './frame-pacer.js';
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
  /** Time of the last JPEG encode, ms (both layers when layer 1 was sent too). */
  lastEncodeMs: number;
  /** Layer 1 frames sent (not counted in `framesSent`). */
  layer1FramesSent: number;
  layer1BytesSent: number;
  /** The size of layer 1 (half of layer 0), null before the first or when layer 0 is too narrow for one. */
  layer1Size: Size | null;
}

/**
 * Sends one camera track as JPEG video envelopes: frames from a
 * `MediaStreamTrackProcessor` (a `VideoFrame` with its capture timestamp),
 * at most `fps` a second, scaled into the options' box on an
 * `OffscreenCanvas` and encoded by `convertToBlob` (WebCodecs has no JPEG
 * encoder). One frame is in flight at a time: while one is encoded, the
 * processor keeps only the newest (its buffer holds one), so a slow machine
 * sends fewer, fresher frames. The camera's track belongs to the caller.
 *
 * When layer 0 is at least `layer1MinWidth` wide, the same camera frame is
 * also drawn at half the size on a second canvas and sent as layer 1 (at
 * most `layer1MaxFps`, its own pacer and sequence numbers, the same capture
 * time), for viewers whose tiles are small; both encodes run together.
 */
export class CameraPublisher {
  readonly stats: CameraStats = {
    framesSent: 0,
    framesSkipped: 0,
    framesUnsent: 0,
    bytesSent: 0,
    size: null,
    lastEncodeMs: 0,
    layer1FramesSent: 0,
    layer1BytesSent: 0,
    layer1Size: null,
  };
  private readonly frames: TrackFrames<VideoFrame>;
  private readonly pacer: FramePacer;
  private readonly clock = new CaptureClock();
  private readonly canvas = new OffscreenCanvas(2, 2);
  private readonly ctx: OffscreenCanvasRenderingContext2D;
  private readonly pacer1: FramePacer;
  private readonly canvas1 = new OffscreenCanvas(2, 2);
  private readonly ctx1: OffscreenCanvasRenderingContext2D;
  private seq = 0;
  private seq1 = 0;
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
    const ctx1 = this.canvas1.getContext('2d', { alpha: false });
    if (!ctx1) throw new Error('this browser has no 2D OffscreenCanvas');
    this.ctx1 = ctx1;
    this.pacer1 = new FramePacer(Math.min(opts.fps, opts.layer1MaxFps));
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
    const small = layer1Size(size, this.opts.layer1MinWidth);
    const withLayer1 = small !== null && this.pacer1.take(frame.timestamp);
    const started = performance.now();
    draw(this.canvas, this.ctx, frame, size);
    if (withLayer1) draw(this.canvas1, this.ctx1, frame, small);
    frame.close(); // the camera's buffer goes back before the encodes are awaited
    const quality = this.opts.jpegQuality;
    const [jpeg, jpeg1] = await Promise.all([
      encodeJpeg(this.canvas, quality),
      withLayer1 ? encodeJpeg(this.canvas1, quality) : null,
    ]);
    this.stats.lastEncodeMs = performance.now() - started;
    this.stats.size = size;
    this.stats.layer1Size = small;
    if (this.closed) return;
    const envelope = this.envelope(self, captureTimeUs, size, 0, this.seq, jpeg);
    this.seq = (this.seq + 1) >>> 0;
    if (this.sink.send(self, envelope)) {
      this.stats.framesSent++;
      this.stats.bytesSent += envelope.byteLength;
    } else {
      this.stats.framesUnsent++;
    }
    if (!withLayer1 || !jpeg1) return;
    const envelope1 = this.envelope(self, captureTimeUs, small, 1, this.seq1, jpeg1);
    this.seq1 = (this.seq1 + 1) >>> 0;
    if (this.sink.send(self, envelope1)) {
      this.stats.layer1FramesSent++;
      this.stats.layer1BytesSent += envelope1.byteLength;
    }
  }

  private envelope(
    source: string,
    captureTimeUs: number,
    size: Size,
    layer: number,
    seq: number,
    payload: Uint8Array,
  ): Uint8Array {
    return encodeEnvelope({
      kind: 'video',
      source,
      seq,
      captureTimeUs,
      width: size.width,
      height: size.height,
      codec: 'jpeg',
      layer,
      payload,
    });
  }
}

function draw(canvas: OffscreenCanvas, ctx: OffscreenCanvasRenderingContext2D, frame: VideoFrame, size: Size): void {
  if (canvas.width !== size.width || canvas.height !== size.height) {
    canvas.width = size.width;
    canvas.height = size.height;
  }
  ctx.drawImage(frame, 0, 0, size.width, size.height);
}

async function encodeJpeg(canvas: OffscreenCanvas, quality: number): Promise<Uint8Array> {
  const blob = await canvas.convertToBlob({ type: 'image/jpeg', quality });
  return new Uint8Array(await blob.arrayBuffer());
}
