import type { NatsConnection } from '@nats-io/transport-node';
import { encodeEnvelope, ENVELOPE_LIMITS, videoLayerSubject, type VideoLayerInfo } from '@vidchat/protocol';
import type { Logger } from '@vidchat/service-kit';
import { nowUs } from '../clock.js';
import { FfmpegSupervisor } from '../ffmpeg/supervisor.js';
import { MjpegSplitter, type JpegFrameInfo } from '../ffmpeg/mjpeg-splitter.js';
import { smallLayer, videoSpec, type VideoTrackSettings } from '../ffmpeg/track-args.js';
import { SmjpegDemuxer, unwrapEpochMs } from '../ffmpeg/smjpeg-demuxer.js';
import { MAX_CAPTURE_LAG_US } from './audio-capture-clock.js';
import type { FfmpegError } from '../ffmpeg/ffmpeg-errors.js';
import type { VideoSource } from '../sources.js';
import { DEFAULT_VIDEO_BACKLOG, TrackPublisher } from '../track-publisher.js';
import type { TrackCounters } from './track-counters.js';

/*
 * The camera track: one supervised ffmpeg writing MJPEG, split into JPEGs,
 * each stamped with its capture time and published as one video envelope on
 * `vidchat.src.<room>.<source>.video`. The capture time is the frame's pts,
 * which ffmpeg writes in SMJPEG as a wall-clock time for every source (see
 * VIDEO_MUXER in track-args.ts); only a pts that is no believable capture
 * time falls back to the moment the JPEG left ffmpeg's pipe.
 *
 * With two layers the same ffmpeg also writes the half-width layer 1 on its
 * fd 3; those JPEGs go out on `.video1` with layer byte 1. Each layer has its
 * own parser, sequence numbers and publisher.
 */

export interface VideoTrackOptions {
  source: Exclude<VideoSource, { kind: 'none' }>;
  settings: VideoTrackSettings;
  room: string;
  sourceId: string;
  ffmpegPath: string;
  /** Larger JPEGs are dropped and counted; never above the envelope's limit. */
  maxFrameBytes: number;
  nc: NatsConnection;
  isConnected: () => boolean;
  log: Logger;
  onFatal: (err: FfmpegError) => void;
}

/** One layer's output of the track's ffmpeg: its parsers, its sequence numbers, its subject. */
class LayerOutput {
  readonly counters: TrackCounters = { items: 0, bytes: 0 };
  readonly splitter: MjpegSplitter;
  /** ffmpeg writes SMJPEG: it carries each frame's capture time. */
  readonly smjpeg: SmjpegDemuxer;
  readonly publisher: TrackPublisher;
  /** The capture time of the JPEG being split, from SMJPEG; null outside a frame. */
  private frameTimeUs: number | null = null;
  private seq = 0;
  private warnedSize = false;

  constructor(
    private readonly o: VideoTrackOptions,
    readonly info: VideoLayerInfo,
  ) {
    this.publisher = new TrackPublisher(
      o.nc,
      videoLayerSubject(o.room, o.sourceId, info.layer),
      o.isConnected,
      DEFAULT_VIDEO_BACKLOG,
    );
    const maxFrameBytes = Math.min(o.maxFrameBytes, ENVELOPE_LIMITS.maxVideoPayloadBytes);
    this.splitter = new MjpegSplitter((jpeg, frame) => this.onFrame(jpeg, frame), { maxFrameBytes });
    // SMJPEG frames still go through the splitter, which checks each JPEG and reads its size.
    this.smjpeg = new SmjpegDemuxer((jpeg, ms32) => this.onTimedJpeg(jpeg, ms32), { maxFrameBytes });
  }

  push(chunk: Uint8Array): void {
    this.smjpeg.push(chunk);
  }

  reset(): void {
    this.splitter.reset();
    this.smjpeg.reset();
  }

  /** One SMJPEG frame: its pts (the epoch in ms, cut to 32 bits) is the capture time. */
  private onTimedJpeg(jpeg: Uint8Array, ms32: number): void {
    const now = nowUs();
    let t = unwrapEpochMs(ms32, now / 1_000) * 1_000;
    // A pts that is not a believable capture time (not an epoch timeline) falls back to the arrival time.
    if (now - t > MAX_CAPTURE_LAG_US) t = now;
    this.frameTimeUs = t;
    try {
      this.splitter.push(jpeg);
    } finally {
      this.frameTimeUs = null;
      // A JPEG the splitter could not finish must not leak into the next one.
      if (this.splitter.inFrame) this.splitter.reset();
    }
  }

  private onFrame(jpeg: Uint8Array, frame: JpegFrameInfo): void {
    const captureTimeUs = this.frameTimeUs ?? nowUs();
    const { width: askedW, height: askedH, layer } = this.info;
    const width = frame.width || askedW;
    const height = frame.height || askedH;
    if (!this.warnedSize && (width !== askedW || height !== askedH)) {
      this.warnedSize = true;
      this.o.log.warn('camera delivers another size than asked', {
        layer,
        asked: `${askedW}x${askedH}`,
        got: `${width}x${height}`,
      });
    }
    const seq = this.seq;
    this.seq = (this.seq + 1) >>> 0;
    this.counters.items++;
    this.counters.bytes += jpeg.length;
    const envelope = encodeEnvelope({
      kind: 'video',
      source: this.o.sourceId,
      seq,
      captureTimeUs,
      width,
      height,
      codec: 'jpeg',
      layer,
      payload: jpeg,
    });
    this.publisher.publish(envelope);
    if (this.o.log.isDebug()) this.o.log.debug('frame', { layer, seq, bytes: jpeg.length, width, height });
  }
}

export class VideoTrack {
  readonly supervisor: FfmpegSupervisor;
  /** Layer 0, then layer 1 when the track has it. */
  private readonly outputs: LayerOutput[];

  constructor(o: VideoTrackOptions) {
    const { width, height, fps } = o.settings;
    const small = smallLayer(o.settings);
    this.outputs = [
      new LayerOutput(o, { layer: 0, width, height, fps }),
      ...(small ? [new LayerOutput(o, { layer: 1, width: small.width, height: small.height, fps: small.fps })] : []),
    ];
    const [main, ...extra] = this.outputs;
    this.supervisor = new FfmpegSupervisor({
      track: 'video',
      spec: videoSpec(o.source, o.settings),
      ffmpegPath: o.ffmpegPath,
      log: o.log,
      onData: (chunk) => main!.push(chunk),
      onExtraData: (index, chunk) => extra[index]?.push(chunk),
      onLaunch: () => {
        for (const out of this.outputs) out.reset();
      },
      onFatal: o.onFatal,
    });
  }

  /** The layers this track publishes, for presence. */
  get layers(): VideoLayerInfo[] {
    return this.outputs.map((out) => ({ ...out.info }));
  }

  /** Layer 0's counters (the status line's `video`). */
  get counters(): TrackCounters {
    return this.outputs[0]!.counters;
  }

  /** Layer 0's parser, for its counters of dropped bytes and frames. */
  get splitter(): MjpegSplitter {
    return this.outputs[0]!.splitter;
  }

  /** Layer 0's SMJPEG demuxer, when ffmpeg writes SMJPEG. */
  get smjpeg(): SmjpegDemuxer | null {
    return this.outputs[0]!.smjpeg;
  }

  /** Layer 0's publisher. */
  get publisher(): TrackPublisher {
    return this.outputs[0]!.publisher;
  }

  /** Sends what every layer held during an outage (called when NATS is back). */
  flushHeld(): void {
    for (const out of this.outputs) out.publisher.flushHeld();
  }

  start(): void {
    this.supervisor.start();
  }

  stop(): Promise<void> {
    return this.supervisor.stop();
  }
}
