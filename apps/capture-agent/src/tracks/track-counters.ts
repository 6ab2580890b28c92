/** What a track captured (before any drop), read by the status line. */
export interface TrackCounters {
  /** Frames or packets. */
  items: number;
  bytes: number;
}
