import { randomBytes } from 'node:crypto';
import {
  audioSubject,
  decodeEnvelope,
  encodePresence,
  MAX_VIDEO_LAYER,
  PRESENCE_INTERVAL_MS,
  PRESENCE_TIMEOUT_MS,
  presenceSubject,
  ProtocolError,
  videoLayerSubject,
  type AudioInfo,
  type Envelope,
  type PresenceType,
  type VideoInfo,
  type VideoLayerInfo,
} from '@vidchat/protocol';
import { createLogger } from '@vidchat/service-kit';
import { TokenBucket } from '../limits/token-bucket.js';
import type { GatewayMetrics } from '../metrics/gateway-metrics.js';
import type { NatsBus } from '../nats/nats-bus.js';

/*
 * A browser participant as a source: the gateway publishes its presence
 * (join, a heartbeat every second, leave) and its media envelopes, exactly
 * as a capture agent would, so that the mixer, the recorder and every other
 * gateway see one more source and nothing else changes for them.
 *
 * Envelopes are checked before they are published: size, rate (frames and
 * bytes per second, token buckets with one second of burst), well formed,
 * kind video or audio, source id = the id the gateway assigned. The first
 * three are what a misbehaving or slow client can do by accident: dropped
 * and counted. The last two can only be a client that tries to speak for
 * someone else: the session closes it (`bad-media`, 1008).
 */

export interface ParticipantLimits {
  participantFramesPerSecond: number;
  participantBytesPerSecond: number;
  participantMaxFrameBytes: number;
}

export interface ParticipantInit {
  room: string;
  name: string;
  /** What the join said it sends; the first envelopes fill in what it did not say. */
  video: VideoInfo | null;
  audio: AudioInfo | null;
}

/** What `accept` made of one binary frame. */
export type MediaVerdict = 'published' | 'dropped' | 'bad-media';

/** Frames per second assumed for a participant whose join did not say (the browser app's default). */
export const DEFAULT_PARTICIPANT_FPS = 15;
/** Layer 1's announced rate at most (the browser app sends it at most this often, as agents do). */
export const LAYER1_MAX_FPS = 15;

const log = createLogger('gateway.participant');

/** A fresh source id for a participant: `p-` and 12 random hex digits (a valid id, unguessable). */
export function newParticipantId(): string {
  return `p-${randomBytes(6).toString('hex')}`;
}

export class Participant {
  readonly id = newParticipantId();
  private readonly frames: TokenBucket;
  private readonly bytes: TokenBucket;
  private timer: NodeJS.Timeout | null = null;
  private video: VideoInfo | null;
  /** Layer 1's size as its envelopes say, and when the last one came (ms); null until one does. */
  private layer1: { width: number; height: number; at: number } | null = null;
  private audio: AudioInfo | null;
  private readonly fps: number;
  private stopped = false;

  constructor(
    private readonly init: ParticipantInit,
    private readonly bus: NatsBus,
    private readonly metrics: GatewayMetrics,
    private readonly limits: ParticipantLimits,
    /** Called before each heartbeat: false means the socket is dead, and no heartbeat is sent. */
    private readonly alive: () => boolean,
  ) {
    this.frames = new TokenBucket(limits.participantFramesPerSecond, limits.participantFramesPerSecond);
    this.bytes = new TokenBucket(limits.participantBytesPerSecond, limits.participantBytesPerSecond);
    this.video = init.video;
    this.audio = init.audio;
    this.fps = init.video?.fps ?? DEFAULT_PARTICIPANT_FPS;
  }

  get room(): string {
    return this.init.room;
  }

  /** Announces the participant and starts its heartbeats. */
  start(): void {
    this.presence('join');
    this.timer = setInterval(() => {
      // A layer 1 that stopped (a narrower camera, camera off) is no longer announced: viewers fall back to layer 0.
      if (this.layer1 && Date.now() - this.layer1.at > PRESENCE_TIMEOUT_MS) this.layer1 = null;
      if (this.alive()) this.presence('heartbeat');
    }, PRESENCE_INTERVAL_MS);
    this.timer.unref();
    this.metrics.participants.inc();
    log.info('participant joined', { room: this.room, source: this.id });
  }

  /** Says `leave` and stops; idempotent. */
  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    this.presence('leave');
    this.metrics.participants.dec();
    log.info('participant left', { room: this.room, source: this.id });
  }

  /** Checks one binary frame from the participant's socket and publishes it unchanged. */
  accept(data: Buffer): MediaVerdict {
    if (this.stopped) return 'dropped';
    if (data.length > this.limits.participantMaxFrameBytes) return this.drop('participant-oversize', data);
    // Rate first, before any parsing: a flood costs a comparison per frame.
    if (!this.frames.take()) return this.drop('participant-frame-rate', data);
    if (!this.bytes.take(data.length)) return this.drop('participant-byte-rate', data);
    let env: Envelope;
    try {
      env = decodeEnvelope(data);
    } catch (err) {
      if (!(err instanceof ProtocolError)) throw err;
      this.metrics.reject('participant-garbage');
      log.debug('dropped a malformed envelope from a participant', { source: this.id, code: err.code });
      return 'dropped';
    }
    if ((env.kind !== 'video' && env.kind !== 'audio') || env.source !== this.id) {
      this.metrics.reject('participant-bad-media');
      log.debug('participant sent media it may not', { source: this.id, kind: env.kind, as: env.source });
      return 'bad-media';
    }
    if (env.kind === 'video' && env.layer > MAX_VIDEO_LAYER) {
      this.metrics.reject('participant-garbage');
      log.debug('dropped a participant frame of an unknown layer', { source: this.id, layer: env.layer });
      return 'dropped';
    }
    // Each layer on its own subject, as an agent's: `.video` for layer 0, `.video1` for layer 1.
    const subject =
      env.kind === 'video' ? videoLayerSubject(this.room, this.id, env.layer) : audioSubject(this.room, this.id);
    if (!this.bus.publish(subject, data)) return this.drop('participant-nats-down', data);
    this.metrics.participantFrames.inc({ kind: env.kind });
    this.metrics.participantBytes.inc(data.length);
    this.learn(env);
    return 'published';
  }

  /**
   * Presence says what the source sends. When the join did not say, or the
   * picture size changed, the envelopes tell, and a heartbeat goes out at
   * once so that tiles get the right shape without waiting a second.
   */
  private learn(env: Envelope): void {
    if (env.kind === 'video' && env.layer === 1) {
      const known = this.layer1 !== null && this.layer1.width === env.width && this.layer1.height === env.height;
      this.layer1 = { width: env.width, height: env.height, at: Date.now() };
      // Announced once layer 0 is known too (the layers list starts with it).
      if (known || !this.video) return;
    } else if (env.kind === 'video') {
      if (this.video && this.video.width === env.width && this.video.height === env.height) return;
      this.video = { codec: 'jpeg', width: env.width, height: env.height, fps: this.fps };
    } else if (env.kind === 'audio') {
      if (this.audio) return;
      this.audio = {
        codec: 'opus',
        sampleRate: env.sampleRate,
        channels: env.channels,
        frameDurationMs: env.durationUs / 1000,
      };
    } else {
      return;
    }
    this.presence('heartbeat');
  }

  private drop(reason: Parameters<GatewayMetrics['drop']>[0], data: Buffer): 'dropped' {
    this.metrics.drop(reason);
    log.debug('dropped a participant frame', { source: this.id, reason, bytes: data.length });
    return 'dropped';
  }

  /** `{layers}` once layer 1 flows (layer 0 and 1, as an agent announces them); nothing for layer 0 only. */
  private layers(): { layers?: VideoLayerInfo[] } {
    if (!this.video || !this.layer1) return {};
    const v = this.video;
    return {
      layers: [
        { layer: 0, width: v.width, height: v.height, fps: v.fps },
        { layer: 1, width: this.layer1.width, height: this.layer1.height, fps: Math.min(v.fps, LAYER1_MAX_FPS) },
      ],
    };
  }

  private presence(type: PresenceType): void {
    const bytes = encodePresence({
      v: 1,
      type,
      room: this.room,
      source: this.id,
      name: this.init.name,
      ts: Date.now(),
      video: this.video,
      audio: this.audio,
      ...this.layers(),
      kind: 'participant',
      // A participant hears the room through its own mix-minus.
      listens: true,
    });
    this.bus.publish(presenceSubject(this.room, this.id), bytes);
  }
}
