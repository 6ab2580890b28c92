import type { NatsConnection } from '@nats-io/transport-node';
import {
  encodePresence,
  presenceSubject,
  PRESENCE_INTERVAL_MS,
  PRESENCE_VERSION,
  type AudioInfo,
  type PresenceType,
  type VideoInfo,
  type VideoLayerInfo,
} from '@vidchat/protocol';
import type { Logger } from '@vidchat/service-kit';

/*
 * Presence of this source: `join` once connected, a `heartbeat` every
 * PRESENCE_INTERVAL_MS while connected (consumers forget a source after
 * PRESENCE_TIMEOUT_MS of silence), and `leave` on a clean stop. Heartbeats
 * are not queued while NATS is away: a stale heartbeat says nothing.
 */

export interface PresenceAnnouncerOptions {
  nc: NatsConnection;
  room: string;
  source: string;
  name: string;
  video: VideoInfo | null;
  /** The video layers published (null without video). */
  layers: VideoLayerInfo[] | null;
  audio: AudioInfo | null;
  /** A person at this host hears the room through this source's mix-minus. */
  listens: boolean;
  agent: { version: string; host?: string };
  isConnected: () => boolean;
  log: Logger;
  intervalMs?: number;
}

export class PresenceAnnouncer {
  private timer: NodeJS.Timeout | null = null;
  private readonly subject: string;
  heartbeats = 0;

  constructor(private readonly o: PresenceAnnouncerOptions) {
    this.subject = presenceSubject(o.room, o.source);
  }

  start(): void {
    this.send('join');
    this.o.log.info('joined', { room: this.o.room, source: this.o.source, name: this.o.name, listens: this.o.listens });
    this.timer = setInterval(() => {
      if (!this.o.isConnected()) return;
      this.send('heartbeat');
      this.heartbeats++;
    }, this.o.intervalMs ?? PRESENCE_INTERVAL_MS);
  }

  /** Sends `leave` and stops heartbeats; the caller flushes the connection. Idempotent. */
  leave(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    if (!this.o.isConnected()) return;
    this.send('leave');
    this.o.log.info('left', { room: this.o.room, source: this.o.source });
  }

  private send(type: PresenceType): void {
    const bytes = encodePresence({
      v: PRESENCE_VERSION,
      type,
      room: this.o.room,
      source: this.o.source,
      name: this.o.name,
      ts: Date.now(),
      video: this.o.video,
      ...(this.o.layers ? { layers: this.o.layers } : {}),
      audio: this.o.audio,
      kind: 'agent',
      listens: this.o.listens,
      agent: this.o.agent,
    });
    try {
      this.o.nc.publish(this.subject, bytes);
    } catch (err) {
      this.o.log.warn('cannot publish presence', { type, error: (err as Error).message });
    }
  }
}
