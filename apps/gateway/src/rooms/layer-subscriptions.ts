import type { Msg } from '@nats-io/transport-node';
import { videoLayerSubject } from '@vidchat/protocol';
import { createLogger } from '@vidchat/service-kit';
import type { BusSubscription } from '../nats/nats-bus.js';

/*
 * Interest in the small video layers, counted per room, source and layer.
 * Layer 0 (`.video`) comes with the room's own subscription while the room
 * is watched: it is every viewer's default, the source of snapshots and of
 * late joiners' first picture, and the way a source without presence is
 * found. A layer above 0 has its own subject (`.video1`), which no room
 * wildcard matches: the first viewer or MJPEG client that wants it
 * subscribes it, the last one that lets go unsubscribes it, so a layer
 * nobody looks at never crosses from NATS to the gateway.
 */

const log = createLogger('gateway.layers');

/** The part of the NATS bus this needs. */
export interface LayerBus {
  subscribe(subject: string, onMessage: (msg: Msg) => void): BusSubscription;
}

interface Interest {
  count: number;
  sub: BusSubscription;
}

export class LayerSubscriptions {
  private readonly interests = new Map<string, Interest>();

  constructor(
    private readonly bus: LayerBus,
    /** Called with every message of a subscribed layer; the room id says whose. */
    private readonly onMessage: (room: string, msg: Msg) => void,
    /** Called after the last interest in a layer is gone (its latest frame can go too). */
    private readonly onUnsubscribed: (room: string, source: string, layer: number) => void,
  ) {}

  /** Subscribed layers (for the subscription gauge). */
  get size(): number {
    return this.interests.size;
  }

  /**
   * Registers interest in one layer of one source; layer 0 needs none (the
   * room subscription carries it). Returns the release, which is idempotent.
   */
  want(room: string, source: string, layer: number): () => void {
    if (layer === 0) return () => undefined;
    const key = `${room}\u0000${source}\u0000${layer}`;
    let interest = this.interests.get(key);
    if (!interest) {
      const sub = this.bus.subscribe(videoLayerSubject(room, source, layer), (msg) => this.onMessage(room, msg));
      interest = { count: 0, sub };
      this.interests.set(key, interest);
      log.debug('layer wanted: subscribed', { room, source, layer });
    }
    interest.count++;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const i = this.interests.get(key);
      if (!i) return;
      i.count--;
      if (i.count > 0) return;
      i.sub.unsubscribe();
      this.interests.delete(key);
      log.debug('layer unwanted: unsubscribed', { room, source, layer });
      this.onUnsubscribed(room, source, layer);
    };
  }

  /** Whether some watcher wants this layer now (tests and metrics). */
  wanted(room: string, source: string, layer: number): boolean {
    return this.interests.has(`${room}\u0000${source}\u0000${layer}`);
  }

  /** Unsubscribes everything (gateway shutdown). */
  clear(): void {
    for (const i of this.interests.values()) i.sub.unsubscribe();
    this.interests.clear();
  }
}
