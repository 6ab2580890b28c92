import { PRESENCE_TIMEOUT_MS, type PresenceMessage } from '@vidchat/protocol';

/*
 * Which sources of which rooms have a microphone, from presence messages.
 * Pure: the caller passes the time, and gets back what changed. A source
 * counts while its presence says `audio` is not null and its last message
 * is younger than PRESENCE_TIMEOUT_MS; a `leave`, a presence without audio
 * or silence past the timeout removes it.
 */
export type PresenceChange =
  | { type: 'joined'; room: string; source: string }
  | { type: 'left'; room: string; source: string; reason: 'leave' | 'timeout' | 'no-audio' };

export class AudioPresence {
  /** room → source → last time heard, ms. */
  private readonly rooms = new Map<string, Map<string, number>>();

  constructor(private readonly timeoutMs: number = PRESENCE_TIMEOUT_MS) {}

  apply(msg: PresenceMessage, nowMs: number): PresenceChange | null {
    const sources = this.rooms.get(msg.room);
    const known = sources?.has(msg.source) ?? false;
    if (msg.type === 'leave' || msg.audio === null) {
      if (!known || sources === undefined) return null;
      this.remove(msg.room, sources, msg.source);
      return { type: 'left', room: msg.room, source: msg.source, reason: msg.type === 'leave' ? 'leave' : 'no-audio' };
    }
    if (sources === undefined) this.rooms.set(msg.room, new Map([[msg.source, nowMs]]));
    else sources.set(msg.source, nowMs);
    return known ? null : { type: 'joined', room: msg.room, source: msg.source };
  }

  /** Removes the sources silent for longer than the timeout. */
  expire(nowMs: number): PresenceChange[] {
    const out: PresenceChange[] = [];
    for (const [room, sources] of this.rooms) {
      for (const [source, seen] of sources) {
        if (nowMs - seen > this.timeoutMs) {
          this.remove(room, sources, source);
          out.push({ type: 'left', room, source, reason: 'timeout' });
        }
      }
    }
    return out;
  }

  has(room: string, source: string): boolean {
    return this.rooms.get(room)?.has(source) ?? false;
  }

  /** Rooms with at least one audio source. */
  roomIds(): string[] {
    return [...this.rooms.keys()];
  }

  sourcesOf(room: string): string[] {
    return [...(this.rooms.get(room)?.keys() ?? [])];
  }

  private remove(room: string, sources: Map<string, number>, source: string): void {
    sources.delete(source);
    if (sources.size === 0) this.rooms.delete(room);
  }
}
