import { utf8Decode, utf8Encode } from './json.js';

/*
 * The mixers' room leases: a contract between mixers (any version of one
 * must read what another wrote), so it lives here. A JetStream key-value
 * bucket, `MIXER_LEASE_BUCKET`, holds two kinds of keys:
 *   `room.<room>`   the lease of one room: who mixes it, and where its mix's
 *                   sequence numbers were at the last renewal, so that the
 *                   next owner continues them;
 *   `mixer.<id>`    one live mixer's announcement, renewed with its leases:
 *                   rendezvous hashing ranks the live mixers that are not full.
 * Values are UTF-8 JSON objects. A value that does not parse is treated as
 * absent for announcements and as someone else's lease for rooms (it is never
 * taken over early). See docs/PROTOCOL.md, "Mixer leases".
 */

/** The key-value bucket of the room leases (stream `KV_vidchat-mixer-leases`). */
export const MIXER_LEASE_BUCKET = 'vidchat-mixer-leases';
export const ROOM_LEASE_KEY_PREFIX = 'room.';
export const MIXER_ANNOUNCE_KEY_PREFIX = 'mixer.';

/** Key characters JetStream KV accepts; room and instance ids are checked against it. */
const KEY_TOKEN = /^[-/_=a-zA-Z0-9]+$/;

export interface LeaseValue {
  /** Instance id of the holder. */
  owner: string;
  /** Sequence number (u32) of the next room-mix packet at `atMs`. */
  seq: number;
  /** Holder's wall clock at the renewal, ms since the epoch. */
  atMs: number;
  /** True when the holder gave the room up (shutdown, room empty): take it at once. */
  released: boolean;
}

export interface MixerAnnounce {
  id: string;
  /** Rooms this mixer holds. */
  rooms: number;
  /** True at `--max-rooms`: ranked last, it takes no more rooms. */
  full: boolean;
}

/** The lease key of `room`, or null when the room id has characters a key cannot hold. */
export function roomLeaseKey(room: string): string | null {
  return KEY_TOKEN.test(room) ? ROOM_LEASE_KEY_PREFIX + room : null;
}

/** The announcement key of mixer `id`; throws when the id has characters a key cannot hold. */
export function mixerAnnounceKey(id: string): string {
  if (!KEY_TOKEN.test(id)) throw new Error(`mixer instance id "${id}" has characters a key-value key cannot hold`);
  return MIXER_ANNOUNCE_KEY_PREFIX + id;
}

export function encodeLease(v: LeaseValue): Uint8Array {
  return utf8Encode(JSON.stringify({ owner: v.owner, seq: v.seq, atMs: v.atMs, released: v.released }));
}

export function encodeAnnounce(v: MixerAnnounce): Uint8Array {
  return utf8Encode(JSON.stringify({ id: v.id, rooms: v.rooms, full: v.full }));
}

function parseObject(data: Uint8Array): Record<string, unknown> | null {
  try {
    const v: unknown = JSON.parse(utf8Decode(data, 'mixer lease value'));
    return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

/** A lease value, or null when it is not one (unknown fields are ignored). */
export function decodeLease(data: Uint8Array): LeaseValue | null {
  const o = parseObject(data);
  if (!o) return null;
  const { owner, seq, atMs, released } = o;
  if (typeof owner !== 'string' || typeof atMs !== 'number' || !Number.isFinite(atMs)) return null;
  if (typeof released !== 'boolean') return null;
  if (typeof seq !== 'number' || !Number.isInteger(seq) || seq < 0 || seq > 0xffffffff) return null;
  return { owner, seq, atMs, released };
}

/** An announcement, or null when it is not one (unknown fields are ignored). */
export function decodeAnnounce(data: Uint8Array): MixerAnnounce | null {
  const o = parseObject(data);
  if (!o) return null;
  const { id, rooms, full } = o;
  if (typeof id !== 'string' || typeof rooms !== 'number' || typeof full !== 'boolean') return null;
  return { id, rooms, full };
}

/** Takeovers further than this from the last renewal restart the count instead (clock skew, stale value). */
export const MAX_CONTINUE_MS = 60_000;
/** The room mix's packet duration: one sequence number per 20 ms. */
export const MIX_FRAME_MS = 20;

/**
 * The sequence number a new owner starts at: the last one plus the ticks
 * that passed since the renewal, so that a viewer's jitter buffer sees the
 * gap as lost packets at the right place in time rather than a restart.
 * Wraps at 2^32.
 */
export function continuedSeq(prev: LeaseValue, nowMs: number): number {
  const elapsed = nowMs - prev.atMs;
  if (!(elapsed >= 0 && elapsed <= MAX_CONTINUE_MS)) return (prev.seq + 1) >>> 0;
  return (prev.seq + Math.max(1, Math.round(elapsed / MIX_FRAME_MS))) >>> 0;
}
