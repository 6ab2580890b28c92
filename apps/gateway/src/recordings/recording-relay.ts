import { Inject, Injectable } from '@nestjs/common';
import { decodeRecordingEvent, recSubject, type RecordingInfo, type ServerMessage } from '@vidchat/protocol';
import { createLogger } from '@vidchat/service-kit';
import { NatsBus, type BusSubscription } from '../nats/nats-bus.js';
import { RecordingsService } from './recordings.service.js';

/*
 * Relays the recorder's `vidchat.rec.<room>.events` to the room's viewers as
 * the `recording` WebSocket message. Like media, a room's events are
 * subscribed only while someone on this gateway watches it. A viewer that
 * joins while the room is recorded is told at once: the relay keeps the last
 * state per watched room, learnt from the recorder's list when the room is
 * first watched and from events after that.
 */

export type RecordingMessage = Extract<ServerMessage, { type: 'recording' }>;
type Follower = (msg: RecordingMessage) => void;

interface WatchedRoom {
  sub: BusSubscription;
  followers: Set<Follower>;
  /** The recording in progress, or null. */
  current: RecordingInfo | null;
  /** Whether an event arrived, which makes the list answer (older) moot. */
  sawEvent: boolean;
}

const log = createLogger('gateway.recordings.relay');

function message(r: RecordingInfo): RecordingMessage {
  return { type: 'recording', room: r.room, id: r.id, state: r.state, startedAt: r.startedAt };
}

@Injectable()
export class RecordingRelay {
  private readonly rooms = new Map<string, WatchedRoom>();
  /** Events that failed to decode (dropped). */
  badEvents = 0;

  constructor(
    @Inject(NatsBus) private readonly bus: NatsBus,
    @Inject(RecordingsService) private readonly recordings: RecordingsService,
  ) {}

  /**
   * `send` gets the room's recording changes until the returned release is
   * called; it gets the recording in progress at once when one is known.
   */
  follow(room: string, send: Follower): () => void {
    let w = this.rooms.get(room);
    if (!w) {
      const fresh: WatchedRoom = {
        sub: this.bus.subscribe(recSubject(room, 'events'), (msg) => this.onEvent(fresh, room, msg.data)),
        followers: new Set(),
        current: null,
        sawEvent: false,
      };
      w = fresh;
      this.rooms.set(room, w);
      void this.learn(room, w);
    } else if (w.current) {
      send(message(w.current));
    }
    w.followers.add(send);
    const watched = w;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      watched.followers.delete(send);
      if (watched.followers.size === 0 && this.rooms.get(room) === watched) {
        watched.sub.unsubscribe();
        this.rooms.delete(room);
      }
    };
  }

  private onEvent(w: WatchedRoom, room: string, data: Uint8Array): void {
    let info: RecordingInfo;
    try {
      info = decodeRecordingEvent(data).recording;
    } catch (err) {
      this.badEvents++;
      log.debug('bad recording event dropped', { room, error: (err as Error).message });
      return;
    }
    if (info.room !== room) {
      this.badEvents++;
      return;
    }
    w.sawEvent = true;
    if (info.state === 'recording') w.current = info;
    else if (w.current?.id === info.id) w.current = null;
    this.broadcast(w, message(info));
  }

  /** Asks the recorder once whether the room is being recorded (no recorder: nothing to tell). */
  private async learn(room: string, w: WatchedRoom): Promise<void> {
    let list: RecordingInfo[];
    try {
      list = await this.recordings.list(room);
    } catch (err) {
      log.debug('recording state unknown', { room, error: (err as Error).message });
      return;
    }
    const running = list.find((r) => r.state === 'recording');
    if (w.sawEvent || !running || this.rooms.get(room) !== w) return;
    w.current = running;
    this.broadcast(w, message(running));
  }

  private broadcast(w: WatchedRoom, msg: RecordingMessage): void {
    for (const f of w.followers) f(msg);
  }
}
