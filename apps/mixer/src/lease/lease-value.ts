import { FRAME_MS } from '../dsp/audio-format.js';
import { seqAdd } from '../dsp/sequence.js';

/*
 * What the mixers keep in their key-value bucket, and how it is read back.
 * Two kinds of keys:
 *   `room.<room>`   the lease of one room: who mixes it, and where its mix's
 *                   sequence numbers were at the last renewal, so that the
 *                   next owner continues them;
 *   `mixer.<id>`    one live mixer's announcement, renewed with its leases:
 *                   rendezvous hashing ranks the live mixers that are not full.
 * A value that does not parse is treated as absent for announcements and as
 * someone else's lease for rooms (it is never taken over early).
 */

export const ROOM_KEY_PREFIX = 'room.';
export const MIXER_KEY_PREFIX = 'mixer.';

/** Key characters JetStream KV accepts; room and instance ids are checked against it. */
const KEY_TOKEN = /^[-/_=a-zA-Z0-9]+$/;

export interface LeaseValue {
  /** Instance id of the holder. */
  owner: string;
  /** Sequence number of the next mix packet at `atMs`. */
  seq: number;
  /** Holder's wall clock at the renewal, ms. */
  atMs: number;
  /** True when the holder gave the room up (shutdown, room empty): take it at once. */
  released: boolean;
}

export interface MixerAnnounce {
  id: string;
  rooms: number;
  /** True at `--max-rooms`: ranked last, it takes no more rooms. */
  full: boolean;
}

export function roomKey(room: string): string | null {
  return KEY_TOKEN.test(room) ? ROOM_KEY_PREFIX + room : null;
}

export function mixerKey(id: string): string {
  if (!KEY_TOKEN.test(id)) throw new Error(`mixer instance id "${id}" has characters a key-value key cannot hold`);
  return MIXER_KEY_PREFIX + id;
}

const enc = new TextEncoder();
const dec = new TextDecoder();

export function encodeLease(v: LeaseValue): Uint8Array {
  return enc.encode(JSON.stringify(v));
}

export function encodeAnnounce(v: MixerAnnounce): Uint8Array {
  return enc.encode(JSON.stringify(v));
}

function parseObject(data: Uint8Array): Record<string, unknown> | null {
  try {
    const v: unknown = JSON.parse(dec.decode(data));
    return typeof v === 'object' && v !== null ? (v as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

export function decodeLease(data: Uint8Array): LeaseValue | null {
  const o = parseObject(data);
  if (!o) return null;
  const { owner, seq, atMs, released } = o;
  if (typeof owner !== 'string' || typeof atMs !== 'number' || typeof released !== 'boolean') return null;
  if (typeof seq !== 'number' || !Number.isInteger(seq) || seq < 0 || seq > 0xffffffff) return null;
  return { owner, seq, atMs, released };
}

export function decodeAnnounce(data: Uint8Array): MixerAnnounce | null {
  const o = parseObject(data);
  if (!o) return null;
  const { id, rooms, full } = o;
  if (typeof id !== 'string' || typeof rooms !== 'number' || typeof full !== 'boolean') return null;
  return { id, rooms, full };
}

/** Takeovers further than this from the last renewal restart the count instead (clock skew, stale value). */
export const MAX_CONTINUE_MS = 60_000;

/**
 * The sequence number a new owner starts at: the last one plus the ticks
 * that passed since the renewal, so that a viewer's jitter buffer sees the
 * gap as lost packets at the right place in time rather than a restart.
 */
export function continuedSeq(prev: LeaseValue, nowMs: number): number {
  const elapsed = nowMs - prev.atMs;
  if (!(elapsed >= 0 && elapsed <= MAX_CONTINUE_MS)) return seqAdd(prev.seq, 1);
  return seqAdd(prev.seq, Math.max(1, Math.round(elapsed / FRAME_MS)));
}
