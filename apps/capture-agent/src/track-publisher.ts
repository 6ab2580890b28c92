import type { NatsConnection } from '@nats-io/transport-node';

/*
 * Publishes one track's envelopes to NATS without ever queueing without
 * bound. nats.js buffers publishes while it reconnects, so the connection
 * state is checked first: while NATS is away, at most `backlog` envelopes are
 * held (video holds one: latest wins) and older ones are dropped and counted.
 * When the connection is back the held envelopes go out first, in order.
 *
 * Each envelope buffer is fresh and never written again: nats.js keeps a
 * reference to it until its next flush.
 */

/** Envelopes held per track while NATS is disconnected. */
export const DEFAULT_VIDEO_BACKLOG = 1;
/** 5 × 20 ms: a short gap is bridged, a long outage does not replay stale audio. */
export const DEFAULT_AUDIO_BACKLOG = 5;

export interface TrackPublisherStats {
  published: number;
  publishedBytes: number;
  /** Dropped because NATS was disconnected and the backlog was full. */
  dropped: number;
}

export class TrackPublisher {
  readonly stats: TrackPublisherStats = { published: 0, publishedBytes: 0, dropped: 0 };
  private readonly held: Uint8Array[] = [];

  constructor(
    private readonly nc: NatsConnection,
    private readonly subject: string,
    private readonly isConnected: () => boolean,
    private readonly backlog: number,
  ) {}

  publish(envelope: Uint8Array): void {
    if (!this.isConnected()) {
      this.held.push(envelope);
      if (this.held.length > this.backlog) {
        this.held.shift();
        this.stats.dropped++;
      }
      return;
    }
    if (this.held.length > 0) this.flushHeld();
    this.send(envelope);
  }

  /** Sends what was held during an outage (called when NATS is back). */
  flushHeld(): void {
    while (this.held.length > 0 && this.isConnected()) this.send(this.held.shift()!);
  }

  private send(envelope: Uint8Array): void {
    try {
      this.nc.publish(this.subject, envelope);
    } catch {
      // The connection closed under us (shutdown): the envelope is lost, and counted.
      this.stats.dropped++;
      return;
    }
    this.stats.published++;
    this.stats.publishedBytes += envelope.length;
  }
}
