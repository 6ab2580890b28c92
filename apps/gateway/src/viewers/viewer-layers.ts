import type { SourceInfo } from '@vidchat/protocol';

/*
 * Which video layer one viewer wants of each source (the `layer` message):
 * absent means layer 0, null means paused. While the viewer is in a room it
 * holds the registry's interest in every layer above 0 it wants, so that
 * the gateway subscribes those layers only while someone looks at them.
 */

/** The registry's interest counting, as a viewer needs it. */
export interface LayerInterest {
  wantLayer(room: string, source: string, layer: number): () => void;
}

export class ViewerLayers {
  private readonly wanted = new Map<string, number | null>();
  private readonly releases = new Map<string, () => void>();
  private room: string | null = null;

  constructor(
    private readonly interest: LayerInterest,
    /** At most this many sources may have a choice: each may hold a NATS subscription. */
    private readonly maxSources: number,
  ) {}

  /** The layer asked for `source`: 0 when never asked, null when paused. */
  asked(source: string): number | null {
    const layer = this.wanted.get(source);
    return layer === undefined ? 0 : layer;
  }

  /**
   * The layer this viewer gets of a source: the one asked for when the
   * source announces it, else layer 0 (a source with one layer, or one
   * whose presence has not listed its layers); null while paused.
   */
  layerOf(source: string, info: SourceInfo | undefined): number | null {
    const layer = this.wanted.get(source);
    if (layer === undefined) return 0;
    if (layer === null || layer === 0) return layer;
    return info?.layers?.some((l) => l.layer === layer) ? layer : 0;
  }

  /**
   * Records a choice; false (nothing changed) when it would make more than
   * `maxSources` choices. While in a room, the interest follows at once.
   */
  set(source: string, layer: number | null): boolean {
    if (!this.wanted.has(source) && this.wanted.size >= this.maxSources) return false;
    this.wanted.set(source, layer);
    if (this.room !== null) this.hold(this.room, source, layer);
    return true;
  }

  /** Entering a room: holds interest in every layer above 0 asked for. */
  attach(room: string): void {
    this.detach();
    this.room = room;
    for (const [source, layer] of this.wanted) this.hold(room, source, layer);
  }

  /** Leaving the room (or closing): lets go of every layer interest; the choices stay. */
  detach(): void {
    for (const release of this.releases.values()) release();
    this.releases.clear();
    this.room = null;
  }

  private hold(room: string, source: string, layer: number | null): void {
    this.releases.get(source)?.();
    this.releases.delete(source);
    if (layer !== null && layer > 0) this.releases.set(source, this.interest.wantLayer(room, source, layer));
  }
}
