import type { NatsConnection } from '@nats-io/transport-node';
import {
  audioSubject,
  encodeEnvelope,
  ENVELOPE_LIMITS,
  MAX_AUDIO_DURATION_US,
  MIN_AUDIO_DURATION_US,
} from '@vidchat/protocol';
import type { Logger } from '@vidchat/service-kit';
import { nowUs } from '../clock.js';
import { FfmpegSupervisor } from '../ffmpeg/supervisor.js';
import { OggOpusDemuxer, type OggPacketInfo } from '../ffmpeg/ogg-opus-demuxer.js';
import { opusPacketDurationUs } from '../ffmpeg/opus-packet.js';
import {
  AUDIO_CHANNELS,
  AUDIO_FRAME_MS,
  AUDIO_SAMPLE_RATE,
  audioSpec,
  type AudioTrackSettings,
} from '../ffmpeg/track-args.js';
import type { FfmpegError } from '../ffmpeg/ffmpeg-errors.js';
import type { AudioSource } from '../sources.js';
import { DEFAULT_AUDIO_BACKLOG, TrackPublisher } from '../track-publisher.js';
import type { TrackCounters } from './track-counters.js';
import { AudioCaptureClock } from './audio-capture-clock.js';

/*
 * The microphone track: one supervised ffmpeg writing Ogg Opus, demuxed into
 * 20 ms packets, each stamped from ffmpeg's sample clock and published as
 * one audio envelope on `vidchat.src.<room>.<source>.audio`.
 */

export interface AudioTrackOptions {
  source: Exclude<AudioSource, { kind: 'none' }>;
  settings: AudioTrackSettings;
  room: string;
  sourceId: string;
  ffmpegPath: string;
  nc: NatsConnection;
  isConnected: () => boolean;
  log: Logger;
  onFatal: (err: FfmpegError) => void;
}

export class AudioTrack {
  readonly counters: TrackCounters = { items: 0, bytes: 0 };
  /** Packets whose TOC gives a duration the envelope cannot carry. */
  invalidPackets = 0;
  readonly supervisor: FfmpegSupervisor;
  readonly demuxer: OggOpusDemuxer;
  readonly publisher: TrackPublisher;
  /** Capture times from ffmpeg's sample clock (see audio-capture-clock.ts). */
  readonly captureClock = new AudioCaptureClock();
  private seq = 0;

  constructor(private readonly o: AudioTrackOptions) {
    this.publisher = new TrackPublisher(o.nc, audioSubject(o.room, o.sourceId), o.isConnected, DEFAULT_AUDIO_BACKLOG);
    this.demuxer = new OggOpusDemuxer((packet, info) => this.onPacket(packet, info), {
      maxPacketBytes: ENVELOPE_LIMITS.maxAudioPayloadBytes,
    });
    this.supervisor = new FfmpegSupervisor({
      track: 'audio',
      spec: audioSpec(o.source, o.settings),
      ffmpegPath: o.ffmpegPath,
      log: o.log,
      onData: (chunk) => this.demuxer.push(chunk),
      onLaunch: () => {
        this.demuxer.reset();
        this.captureClock.reset();
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

  private onPacket(packet: Uint8Array, info: OggPacketInfo): void {
    const durationUs = opusPacketDurationUs(packet) ?? AUDIO_FRAME_MS * 1000;
    if (durationUs < MIN_AUDIO_DURATION_US || durationUs > MAX_AUDIO_DURATION_US) {
      this.invalidPackets++;
      return;
    }
    const reanchors = this.captureClock.reanchors;
    const captureTimeUs = this.captureClock.stamp(info.granule, durationUs, nowUs());
    if (this.captureClock.reanchors !== reanchors) {
      // Rare: the sound card's clock drifted a second from the system's (hours), or ffmpeg gave no epoch timeline.
      this.o.log.info('audio capture clock re-anchored to arrival time', { reanchors: this.captureClock.reanchors });
    }
    const seq = this.seq;
    this.seq = (this.seq + 1) >>> 0;
    this.counters.items++;
    this.counters.bytes += packet.length;
    const envelope = encodeEnvelope({
      kind: 'audio',
      source: this.o.sourceId,
      seq,
      captureTimeUs,
      codec: 'opus',
      sampleRate: AUDIO_SAMPLE_RATE,
      channels: AUDIO_CHANNELS,
      durationUs,
      payload: packet,
    });
    this.publisher.publish(envelope);
    if (this.o.log.isDebug()) this.o.log.debug('packet', { seq, bytes: packet.length, durationUs });
  }
}
