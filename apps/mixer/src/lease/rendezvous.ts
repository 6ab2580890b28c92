import { createHash } from 'node:crypto';

/*
 * Rendezvous (highest random weight) hashing: every mixer ranks the live
 * mixers for a room the same way, without talking to the others, and a
 * mixer joining or leaving moves only the rooms it ranks first.
 */

function weight(room: string, mixer: string): bigint {
  return createHash('sha256').update(room).update('\0').update(mixer).digest().readBigUInt64BE(0);
}

/** Mixers ordered by preference for `room`, best first (ties broken by id). */
export function rankMixers(room: string, mixers: readonly string[]): string[] {
  return [...mixers]
    .map((id) => ({ id, w: weight(room, id) }))
    .sort((a, b) => (a.w === b.w ? a.id.localeCompare(b.id) : a.w > b.w ? -1 : 1))
    .map((x) => x.id);
}
