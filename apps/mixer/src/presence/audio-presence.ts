import { PRESENCE_TIMEOUT_MS, presenceListens, type PresenceMessage } from '@vidchat/protocol';

/*
 * Which sources of which rooms the mixer works for, from presence messages.
 * Pure: the caller passes the time, and gets back what changed. One
 * `PresenceSet` keeps the sources whose presence matches one predicate: a
 * source counts while its last message matches and is younger than
 * PRESENCE_TIMEOUT_MS; a `leave`, a message that no longer matches, or
 * silence past the timeout removes it.
 *
 * The mixer keeps two: `AudioPresence` (sources with a microphone, mixed)
 * and `ListenerPresence` (sources that say `listens`, which get a
 * mix-minus). They are independent on purpose: a listener may have no
 * microphone, and a microphone need not listen.
 */
export type PresenceChange =
  | { type: 'joined'; room: string; source: string }
  | { type: 'left'; room: string; source: string; reason: 'leave' | 'timeout' | 'no-audio' | 'not-listening' };

type UnmatchedReason = 'no-audio' | 'not-listening';

export class PresenceSet {
  /** room → source → last time heard, ms. */
  private readonly rooms = new Map<string, Map<string, number>>();

  constructor(
    private readonly matches: (msg: PresenceMessage) => boolean,
    private readonly unmatchedReason: UnmatchedReason,
    private readonly timeoutMs: number = PRESENCE_TIMEOUT_MS,
  ) {}

  apply(msg: PresenceMessage, nowMs: number): PresenceChange | null {
    const sources = this.rooms.get(msg.room);
    const known = sources?.has(msg.source) ?? false;
    if (msg.type === 'leave' || !this.matches(msg)) {
      if (!known || sources === undefined) return null;
      this.remove(msg.room, sources, msg.source);
      const reason = msg.type === 'leave' ? 'leave' : this.unmatchedReason;
      return { type: 'left', room: msg.room, source: msg.source, reason };
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

  /** Rooms with at least one matching source. */
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

/** Sources whose presence announces a microphone: the ones mixed. */
export class AudioPresence extends PresenceSet {
  constructor(timeoutMs: number = PRESENCE_TIMEOUT_MS) {
    super((msg) => msg.audio !== null, 'no-audio', timeoutMs);
  }
}

/** Sources whose presence says `listens`: the ones that get a mix-minus. */
export class ListenerPresence extends PresenceSet {
  constructor(timeoutMs: number = PRESENCE_TIMEOUT_MS) {
    super(presenceListens, 'not-listening', timeoutMs);
  }
}
