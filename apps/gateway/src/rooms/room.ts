import type { SourceInfo } from '@vidchat/protocol';
import type { BusSubscription } from '../nats/nats-bus.js';
import type { MediaFrame, RoomWatcher } from './room-watcher.js';

/** A live source of a room, as the gateway knows it. */
export interface SourceEntry {
  info: SourceInfo;
  /** Last presence (or, for a source that never sent presence, last frame), ms. */
  lastSeen: number;
  /**
   * A source that announced itself is kept alive by its heartbeats only; one
   * seen only through its frames is kept alive by those, so that it does not
   * flap in and out of the roster.
   */
  viaPresence: boolean;
  /** Latest layer-0 video frame while the room is watched (snapshots, MJPEG, late joiners). */
  latestVideo: MediaFrame | null;
  /** Latest frame of each layer above 0, while someone wants that layer. */
  latestLayers: Map<number, MediaFrame>;
}

/** The latest frame of `layer` of a source, or null. */
export function latestFrame(entry: SourceEntry | undefined, layer: number): MediaFrame | null {
  if (!entry) return null;
  return layer === 0 ? entry.latestVideo : (entry.latestLayers.get(layer) ?? null);
}

/** The watchers that hear one source's mix-minus, and the subscription that feeds them. */
export interface MinusListeners {
  watchers: Set<RoomWatcher>;
  subscription: BusSubscription;
}

/** The watchers that hear each source's own audio (per-tile volume), and the subscription that feeds them. */
export interface SourceAudioListeners {
  watchers: Set<RoomWatcher>;
  subscription: BusSubscription;
}

/** One room: its roster, its watchers and, while watched, its media subscriptions. */
export class Room {
  readonly sources = new Map<string, SourceEntry>();
  readonly watchers = new Set<RoomWatcher>();
  subscriptions: BusSubscription[] | null = null;
  /** Mix-minus streams heard here, by listening source id: subscribed while someone hears them. */
  readonly minus = new Map<string, MinusListeners>();
  /** Sources' own audio (`src.<room>.*.audio`): subscribed while some viewer asked for it. */
  sourceAudio: SourceAudioListeners | null = null;

  constructor(readonly id: string) {}

  roster(): SourceInfo[] {
    return [...this.sources.values()].map((s) => s.info);
  }

  get idle(): boolean {
    return this.sources.size === 0 && this.watchers.size === 0;
  }
}
