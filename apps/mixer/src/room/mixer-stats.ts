/*
 * Counters of one mixer process, read by the status line. Monotonic totals;
 * the status line prints differences between two reads.
 */
export interface MixerStats {
  packetsIn: number;
  /** Room mix packets published. */
  packetsOut: number;
  /** Mix-minus packets published (one per listener per tick). */
  minusOut: number;
  levelsOut: number;
  /** Audio envelopes that did not decode, or from a source without presence, or in a format the mixer does not take. */
  rejected: number;
  /** Presence messages that did not decode, or whose room/source differ from their subject. */
  badPresence: number;
  late: number;
  lost: number;
  /** Lost packets rebuilt from the in-band FEC data of the packet after them. */
  fecRecovered: number;
  /** Frames filled by libopus's packet-loss concealment (lost or corrupt packets, underruns). */
  concealed: number;
  corrupt: number;
  underruns: number;
  /** Rooms or sources refused because of --max-rooms / --max-sources-per-room. */
  overLimit: number;
  /** Mix ticks the clock skipped because the process fell too far behind. */
  clockSkips: number;
  /** Opus encodes, room mixes and mix-minus streams together: encodeTimeUsTotal divides by this. */
  encodes: number;
  encodeTimeUsTotal: number;
  encodeTimeUsMax: number;
  tickTimeUsTotal: number;
  ticks: number;
  /** Room mix ticks not published: the room's lease held but not renewed in time (lease bucket unavailable). */
  unpublishedTicks: number;
}

export function createStats(): MixerStats {
  return {
    packetsIn: 0,
    packetsOut: 0,
    minusOut: 0,
    levelsOut: 0,
    rejected: 0,
    badPresence: 0,
    late: 0,
    lost: 0,
    fecRecovered: 0,
    concealed: 0,
    corrupt: 0,
    underruns: 0,
    overLimit: 0,
    clockSkips: 0,
    encodes: 0,
    encodeTimeUsTotal: 0,
    encodeTimeUsMax: 0,
    tickTimeUsTotal: 0,
    ticks: 0,
    unpublishedTicks: 0,
  };
}
