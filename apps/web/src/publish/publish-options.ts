/*
 * What a browser participant sends, and its limits. Every figure is a named
 * default here; apps/web/README.md lists them. The page has no flags: these
 * are the values it runs with, in one place.
 */
export interface PublishOptions {
  /** The box the camera's frames are scaled into, keeping their aspect ratio. */
  readonly maxWidth: number;
  readonly maxHeight: number;
  /** Video frames sent per second at most. */
  readonly fps: number;
  /**
   * Layer 1 (half the width and height of layer 0, for small tiles) is sent
   * too when layer 0 is at least this wide; 0 never sends it.
   */
  readonly layer1MinWidth: number;
  /** Layer 1 frames per second at most (at most `fps`). */
  readonly layer1MaxFps: number;
  /** `convertToBlob` JPEG quality, 0..1. */
  readonly jpegQuality: number;
  /**
   * Latest-frame-wins upstream: when the WebSocket has more than this many
   * bytes queued, the next video frame is skipped (and counted) instead of
   * queued behind the others. About three 640x360 frames.
   */
  readonly videoHighWaterBytes: number;
  /**
   * Audio packets are small and wanted in order, so they wait behind video
   * up to this much; above it (a stalled link) they are dropped and counted.
   */
  readonly audioHighWaterBytes: number;
  /** Opus bitrate, bit/s: plenty for one voice. */
  readonly audioBitrate: number;
  /** The loss Opus's in-band FEC prepares for, percent. */
  readonly audioPacketLossPercent: number;
  /** AudioData waiting in the encoder above which input is dropped (a stuck encoder must not grow a queue). */
  readonly maxEncodeQueue: number;
}

export const DEFAULT_PUBLISH_OPTIONS: PublishOptions = Object.freeze({
  maxWidth: 640,
  maxHeight: 360,
  fps: 15,
  layer1MinWidth: 480,
  layer1MaxFps: 15,
  jpegQuality: 0.7,
  videoHighWaterBytes: 96 * 1024,
  audioHighWaterBytes: 1024 * 1024,
  audioBitrate: 32_000,
  audioPacketLossPercent: 10,
  maxEncodeQueue: 50,
});

/** Opus packets are always decoded at 48 kHz, whatever rate the microphone gave the encoder. */
export const OPUS_SAMPLE_RATE = 48_000;
/** One Opus packet per 20 ms, as the capture agents send. */
export const OPUS_FRAME_US = 20_000;
