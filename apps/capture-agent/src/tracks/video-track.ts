import type { NatsConnection } from '@nats-io/transport-node';
import { encodeEnvelope, ENVELOPE_LIMITS, videoSubject } from '@vidchat/protocol';
import type { Logger } from '@vidchat/service-kit';
import { nowUs } from '../clock.js';
import { FfmpegSupervisor } from '../ffmpeg/supervisor.js';
import { MjpegSplitter, type JpegFrameInfo } from '../ffmpeg/mjpeg-splitter.js';
import { videoSpec, videoTimestamped, type VideoTrackSettings } from '../ffmpeg/track-args.js';
import { SmjpegDemuxer, unwrapEpochMs } from '../ffmpeg/smjpeg-demuxer.js';
import { MAX_CAPTURE_LAG_US } from './audio-capture-clock.js';
import type { FfmpegError } from '../ffmpeg/ffmpeg-errors.js';
import type { VideoSource } from '../sources.js';
import { DEFAULT_VIDEO_BACKLOG, TrackPublisher } from '../track-publisher.js';
import type { TrackCounters } from './track-counters.js';

/*
 * The camera track: one supervised ffmpeg writing MJPEG, split into JPEGs,
 * each stamped with its capture time and published as one video envelope on
 * `vidchat.src.<room>.<source>.video`. The capture time is the frame's pts
 * when ffmpeg writes SMJPEG (the test pattern), else the moment the JPEG
 * left ffmpeg's pipe.
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

export class VideoTrack {
  readonly counters: TrackCounters = { items: 0, bytes: 0 };
  readonly supervisor: FfmpegSupervisor;
  readonly splitter: MjpegSplitter;
  /** Set when ffmpeg writes SMJPEG: it carries each frame's capture time. */
  readonly smjpeg: SmjpegDemuxer | null;
  readonly publisher: TrackPublisher;
  /** The capture time of the JPEG being split, from SMJPEG; null for bare MJPEG. */
  private frameTimeUs: number | null = null;
  private seq = 0;
  private warnedSize = false;

  constructor(private readonly o: VideoTrackOptions) {
    this.publisher = new TrackPublisher(o.nc, videoSubject(o.room, o.sourceId), o.isConnected, DEFAULT_VIDEO_BACKLOG);
    const maxFrameBytes = Math.min(o.maxFrameBytes, ENVELOPE_LIMITS.maxVideoPayloadBytes);
    this.splitter = new MjpegSplitter((jpeg, info) => this.onFrame(jpeg, info), { maxFrameBytes });
    // SMJPEG frames still go through the splitter, which checks each JPEG and reads its size.
    this.smjpeg = videoTimestamped(o.source)
      ? new SmjpegDemuxer((jpeg, ms32) => this.onTimedJpeg(jpeg, ms32), { maxFrameBytes })
      : null;
    const smjpeg = this.smjpeg;
    this.supervisor = new FfmpegSupervisor({
      track: 'video',
      spec: videoSpec(o.source, o.settings),
      ffmpegPath: o.ffmpegPath,
      log: o.log,
      onData: smjpeg ? (chunk) => smjpeg.push(chunk) : (chunk) => this.splitter.push(chunk),
      onLaunch: () => {
        this.splitter.reset();
        smjpeg?.reset();
      },
      onFatal: o.onFatal,
    });
  }

  start(): void {
    this.supervisor.start();
  }

  stop(): Promise<void> {
    return this.supervisor.stop();
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

  private onFrame(jpeg: Uint8Array, info: JpegFrameInfo): void {
    const captureTimeUs = this.frameTimeUs ?? nowUs();
    const { width: askedW, height: askedH } = this.o.settings;
    const width = info.width || askedW;
    const height = info.height || askedH;
    if (!this.warnedSize && (width !== askedW || height !== askedH)) {
      this.warnedSize = true;
      this.o.log.warn('camera delivers another size than asked', {
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
      layer: 0,
      payload: jpeg,
    });
    this.publisher.publish(envelope);
    if (this.o.log.isDebug()) this.o.log.debug('frame', { seq, bytes: jpeg.length, width, height });
  }
}
