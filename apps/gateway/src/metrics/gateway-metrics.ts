import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks';
import { Injectable, type OnApplicationShutdown } from '@nestjs/common';
import { collectDefaultMetrics, Counter, Gauge, Registry } from 'prom-client';

/*
 * The gateway's Prometheus metrics, on a registry of its own so that two
 * gateways in one process (tests) never collide on prom-client's global one.
 */

export type DropReason =
  | 'video-superseded'
  | 'audio-overflow'
  | 'audio-stale'
  | 'mjpeg-superseded'
  | 'not-open'
  | 'source-cap'
  | 'participant-oversize'
  | 'participant-frame-rate'
  | 'participant-byte-rate'
  | 'participant-nats-down';

/** Why a viewer, a stream or a room watch was refused: a limit, not bad input. */
export type RefusalReason = 'too-many-viewers' | 'too-many-rooms' | 'too-many-streams';

export type InvalidReason =
  | 'presence-garbage'
  | 'presence-mismatch'
  | 'envelope-garbage'
  | 'envelope-mismatch'
  | 'bad-subject'
  | 'client-bad-message'
  | 'client-bad-room'
  | 'client-binary'
  | 'client-unauthorized'
  | 'client-rate-limited'
  | 'client-layer-cap'
  | 'participant-garbage'
  | 'participant-bad-media'
  | 'chat-empty'
  | 'chat-too-long'
  | 'chat-rate-limited'
  | 'chat-not-joined'
  | 'chat-unavailable'
  | 'chat-garbage'
  | 'viewer-count-garbage';

@Injectable()
export class GatewayMetrics implements OnApplicationShutdown {
  readonly registry = new Registry();
  readonly viewers = new Gauge({
    name: 'vidchat_gateway_viewers',
    help: 'open viewer WebSockets',
    registers: [this.registry],
  });
  readonly mjpegClients = new Gauge({
    name: 'vidchat_gateway_mjpeg_clients',
    help: 'open MJPEG streams',
    registers: [this.registry],
  });
  readonly rooms = new Gauge({
    name: 'vidchat_gateway_rooms',
    help: 'rooms known from presence or watched',
    registers: [this.registry],
  });
  readonly roomSubscriptions = new Gauge({
    name: 'vidchat_gateway_room_subscriptions',
    help: 'rooms whose media the gateway is subscribed to (someone watches them)',
    registers: [this.registry],
  });
  readonly layerSubscriptions = new Gauge({
    name: 'vidchat_gateway_layer_subscriptions',
    help: 'video layers above 0 the gateway is subscribed to, one per room, source and layer someone wants',
    registers: [this.registry],
  });
  readonly sourceAudioSubscriptions = new Gauge({
    name: 'vidchat_gateway_source_audio_subscriptions',
    help: "rooms whose sources' own audio the gateway is subscribed to, for viewers in per-source audio mode",
    registers: [this.registry],
  });
  readonly sourceAudioViewers = new Gauge({
    name: 'vidchat_gateway_source_audio_viewers',
    help: "viewers that hear each source's own audio (per-tile volume) instead of the mix",
    registers: [this.registry],
  });
  readonly natsSubscriptions = new Gauge({
    name: 'vidchat_gateway_nats_subscriptions',
    help: 'NATS subscriptions held (presence, plus media, mix and hands per watched room)',
    registers: [this.registry],
  });
  readonly natsConnected = new Gauge({
    name: 'vidchat_gateway_nats_connected',
    help: '1 when connected to NATS, 0 otherwise',
    registers: [this.registry],
  });
  readonly framesIn = new Counter({
    name: 'vidchat_gateway_frames_in_total',
    help: 'media envelopes received from NATS, by kind',
    labelNames: ['kind'] as const,
    registers: [this.registry],
  });
  readonly framesOut = new Counter({
    name: 'vidchat_gateway_frames_out_total',
    help: 'media envelopes written to viewer sockets and MJPEG streams',
    registers: [this.registry],
  });
  readonly bytesOut = new Counter({
    name: 'vidchat_gateway_bytes_out_total',
    help: 'media bytes written to viewer sockets and MJPEG streams',
    registers: [this.registry],
  });
  readonly dropped = new Counter({
    name: 'vidchat_gateway_dropped_frames_total',
    help: 'frames not delivered, by reason',
    labelNames: ['reason'] as const,
    registers: [this.registry],
  });
  readonly invalid = new Counter({
    name: 'vidchat_gateway_invalid_messages_total',
    help: 'messages rejected, by reason',
    labelNames: ['reason'] as const,
    registers: [this.registry],
  });
  readonly refused = new Counter({
    name: 'vidchat_gateway_refused_total',
    help: 'viewers, MJPEG streams and room watches refused by a limit, by reason',
    labelNames: ['reason'] as const,
    registers: [this.registry],
  });
  readonly participants = new Gauge({
    name: 'vidchat_gateway_participants',
    help: 'viewers joined as participants (publishing their camera and microphone)',
    registers: [this.registry],
  });
  readonly participantFrames = new Counter({
    name: 'vidchat_gateway_participant_frames_total',
    help: 'media envelopes from participants published on NATS, by kind',
    labelNames: ['kind'] as const,
    registers: [this.registry],
  });
  readonly participantBytes = new Counter({
    name: 'vidchat_gateway_participant_bytes_total',
    help: 'media bytes from participants published on NATS',
    registers: [this.registry],
  });
  readonly chatPublished = new Counter({
    name: 'vidchat_gateway_chat_published_total',
    help: "chat messages from this gateway's viewers stored in JetStream",
    registers: [this.registry],
  });
  readonly chatDelivered = new Counter({
    name: 'vidchat_gateway_chat_delivered_total',
    help: 'live chat messages sent to viewers (one per viewer)',
    registers: [this.registry],
  });
  readonly viewerCountPublished = new Counter({
    name: 'vidchat_gateway_viewer_count_published_total',
    help: "this gateway's viewer counts published on NATS (changes and heartbeats, one per room)",
    registers: [this.registry],
  });
  readonly viewerCountDelivered = new Counter({
    name: 'vidchat_gateway_viewer_count_delivered_total',
    help: 'viewers messages (the room total) sent to viewers, one per viewer',
    registers: [this.registry],
  });
  private readonly loopDelay: IntervalHistogram = monitorEventLoopDelay({ resolution: 10 });

  constructor() {
    collectDefaultMetrics({ register: this.registry, prefix: 'vidchat_gateway_' });
    this.loopDelay.enable();
    const loop = this.loopDelay;
    new Gauge({
      name: 'vidchat_gateway_event_loop_lag_seconds',
      help: 'p99 event-loop delay since the previous scrape',
      registers: [this.registry],
      collect() {
        this.set(loop.percentile(99) / 1e9);
        loop.reset();
      },
    });
  }

  drop(reason: DropReason, n = 1): void {
    this.dropped.inc({ reason }, n);
  }

  reject(reason: InvalidReason): void {
    this.invalid.inc({ reason });
  }

  refuse(reason: RefusalReason): void {
    this.refused.inc({ reason });
  }

  sent(bytes: number): void {
    this.framesOut.inc();
    this.bytesOut.inc(bytes);
  }

  close(): void {
    this.loopDelay.disable();
  }

  onApplicationShutdown(): void {
    this.close();
  }
}
