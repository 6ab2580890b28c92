import { encodeEnvelope } from '@vidchat/protocol';
import { CaptureClock, epochNowUs } from './capture-clock.js';
import { TrackFrames, type MediaSink } from './media-sink.js';
import { OPUS_FRAME_US, OPUS_SAMPLE_RATE, type PublishOptions } from './publish-options.js';

export interface MicrophoneStats {
  packetsSent: number;
  /** Packets dropped because the socket had more than `audioHighWaterBytes` queued. */
  packetsDropped: number;
  /** Packets encoded while the socket was not (yet) joined, or was replaced meanwhile: not sent. */
  packetsUnsent: number;
  /** AudioData dropped because the encoder's queue was full. */
  inputDropped: number;
  /** The microphone's rate and channels as the first AudioData gave them; null before it. */
  input: { sampleRate: number; channels: number } | null;
  /** Why the encoder stopped, null while it runs. */
  failure: string | null;
}

/** Opus settings beyond TypeScript's DOM lib, which lacks `application`. */
interface OpusVoipConfig extends OpusEncoderConfig {
  application?: 'voip' | 'audio' | 'lowdelay';
}

/** Whether this browser can encode Opus from a microphone here (WebCodecs exists only in secure contexts). */
export function canEncodeAudio(): boolean {
  return typeof AudioEncoder === 'function' && typeof AudioData === 'function';
}

/**
 * Sends one microphone track as Opus audio envelopes (20 ms packets, mono).
 *
 * Path: `MediaStreamTrackProcessor` → `AudioData` → (downmix to mono when the
 * microphone gives more channels) → WebCodecs `AudioEncoder` (`voip`, in-band
 * FEC) → envelopes. The encoder is configured from the first `AudioData`,
 * because it does not resample between its configured rate and the data's
 * (a mismatch is an EncodingError); Chromium's Opus encoder takes any input
 * rate (44.1 kHz included) and the packets always decode at 48 kHz, which is
 * what the envelope says. No AudioContext on this path: one created without
 * a click (a `?join=1` link) can stay suspended and would send nothing.
 *
 * A muted microphone is a disabled track, which delivers silence: packets
 * keep flowing (a few bytes each), so the mixer's timing never breaks.
 */
export class MicrophonePublisher {
  readonly stats: MicrophoneStats = {
    packetsSent: 0,
    packetsDropped: 0,
    packetsUnsent: 0,
    inputDropped: 0,
    input: null,
    failure: null,
  };
  private readonly frames: TrackFrames<AudioData>;
  private readonly clock = new CaptureClock();
  private encoder: AudioEncoder | null = null;
  private seq = 0;
  /** Settles when reading ends (closed, track ended, or the encoder failed: see `stats.failure`). */
  readonly done: Promise<void>;

  /** Throws `Error` when this browser cannot read microphone samples. */
  constructor(
    track: MediaStreamTrack,
    private readonly sink: MediaSink,
    private readonly opts: PublishOptions,
  ) {
    this.frames = new TrackFrames<AudioData>(track, 10);
    this.done = this.frames
      .forEach((data) => this.handle(data))
      .catch((err: unknown) => this.fail(err))
      .finally(() => this.close());
  }

  /** Idempotent: stops reading and encoding (the track itself is the caller's to stop). */
  close(): void {
    this.frames.close();
    if (this.encoder && this.encoder.state !== 'closed') this.encoder.close();
  }

  private get closed(): boolean {
    return this.frames.closed;
  }

  private handle(data: AudioData): void {
    if (this.closed) return;
    const encoder = this.encoder ?? this.configure(data);
    if (encoder.state !== 'configured') throw new Error(`the audio encoder is ${encoder.state}`);
    if (encoder.encodeQueueSize >= this.opts.maxEncodeQueue) {
      this.stats.inputDropped++;
      return;
    }
    if (data.numberOfChannels === 1) {
      encoder.encode(data);
      return;
    }
    const mono = downmix(data);
    try {
      encoder.encode(mono);
    } finally {
      mono.close();
    }
  }

  private fail(err: unknown): void {
    this.stats.failure ??= err instanceof Error ? `${err.name}: ${err.message}` : String(err);
    this.close();
  }

  private configure(first: AudioData): AudioEncoder {
    this.stats.input = { sampleRate: first.sampleRate, channels: first.numberOfChannels };
    const opus: OpusVoipConfig = {
      frameDuration: OPUS_FRAME_US,
      application: 'voip',
      useinbandfec: true,
      packetlossperc: this.opts.audioPacketLossPercent,
    };
    const encoder = new AudioEncoder({
      output: (chunk) => this.send(chunk),
      error: (err) => this.fail(err),
    });
    encoder.configure({
      codec: 'opus',
      sampleRate: first.sampleRate,
      numberOfChannels: 1,
      bitrate: this.opts.audioBitrate,
      opus,
    });
    this.encoder = encoder;
    return encoder;
  }

  private send(chunk: EncodedAudioChunk): void {
    const captureTimeUs = this.clock.toEpochUs(chunk.timestamp, epochNowUs());
    if (this.closed) return;
    const self = this.sink.self;
    if (self === null) {
      this.stats.packetsUnsent++;
      return;
    }
    if (this.sink.bufferedAmount > this.opts.audioHighWaterBytes) {
      this.stats.packetsDropped++;
      return;
    }
    const payload = new Uint8Array(chunk.byteLength);
    chunk.copyTo(payload);
    const envelope = encodeEnvelope({
      kind: 'audio',
      source: self,
      seq: this.seq,
      captureTimeUs,
      codec: 'opus',
      sampleRate: OPUS_SAMPLE_RATE,
      channels: 1,
      durationUs: chunk.duration ?? OPUS_FRAME_US,
      payload,
    });
    this.seq = (this.seq + 1) >>> 0;
    if (this.sink.send(self, envelope)) this.stats.packetsSent++;
    else this.stats.packetsUnsent++;
  }
}

/** The mean of all channels as one f32 plane, same rate and timestamp. */
function downmix(data: AudioData): AudioData {
  const frames = data.numberOfFrames;
  const mono = new Float32Array(frames);
  const plane = new Float32Array(frames);
  for (let c = 0; c < data.numberOfChannels; c++) {
    data.copyTo(plane, { planeIndex: c, format: 'f32-planar' });
    for (let i = 0; i < frames; i++) mono[i] = (mono[i] ?? 0) + (plane[i] ?? 0);
  }
  const scale = 1 / data.numberOfChannels;
  for (let i = 0; i < frames; i++) mono[i] = (mono[i] ?? 0) * scale;
  return new AudioData({
    format: 'f32-planar',
    sampleRate: data.sampleRate,
    numberOfFrames: frames,
    numberOfChannels: 1,
    timestamp: data.timestamp,
    data: mono,
  });
}
