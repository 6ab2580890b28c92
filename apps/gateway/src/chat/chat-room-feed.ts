import type { Consumer, ConsumerMessages, JetStreamClient, JetStreamManager, JsMsg } from '@nats-io/jetstream';
import {
  chatSubject,
  decodeChatRecord,
  ProtocolError,
  type ChatMessage,
  type HandEvent,
  type HandMessage,
} from '@vidchat/protocol';
import { createLogger } from '@vidchat/service-kit';
import type { GatewayMetrics } from '../metrics/gateway-metrics.js';

/** What a chat watcher (a viewer session) receives. */
export interface ChatListener {
  /** The room's recent messages, oldest first, once, before any live message. */
  onChatHistory(messages: readonly ChatMessage[]): void;
  onChat(message: ChatMessage): void;
  onHand(message: HandMessage): void;
}

export interface FeedLimits {
  chatHistory: number;
  chatMaxAgeSeconds: number;
  chatStream: string;
}

interface Entry {
  seq: number;
  message: ChatMessage;
}

const log = createLogger('gateway.chat');

/**
 * One watched room's chat on this gateway: a single ordered JetStream
 * consumer from the start of the room's subject, shared by all of the
 * room's viewers here, and the last `chatHistory` messages in memory.
 *
 * Why this has no duplicate and no gap at the seam between history and live:
 * the ordered consumer delivers the room's stream messages exactly once each,
 * in stream order (it recreates itself at the next sequence when one is
 * missed). Every delivered message goes into the in-memory history *and* to
 * the live listeners in the same synchronous step. A viewer that joins takes
 * a copy of the history and is added to the listeners in one synchronous step
 * too, so every message is either in its copy (sequence ≤ the last one
 * delivered) or reaches it live (a later one), never both, never neither.
 *
 * The one loss it allows is the stream's own: messages the per-room limit
 * (`chatHistory`) removed before the consumer read them, which needs this
 * gateway to be more than `chatHistory` messages behind the room.
 *
 * While the consumer replays what the stream already held, the room is
 * "loading": viewers that join then wait, and get the history once the
 * message with the stream's last sequence for the room (read with one
 * `STREAM.MSG.GET` before the consumer starts) has arrived.
 */
export class ChatRoomFeed {
  private readonly listeners = new Set<ChatListener>();
  private readonly waiting = new Set<ChatListener>();
  private readonly history: Entry[] = [];
  private readonly hands = new Map<string, HandEvent>();
  private loaded = false;
  private loadUntil = 0;
  private messages: ConsumerMessages | null = null;
  private starting = false;
  private closed = false;

  constructor(
    readonly room: string,
    private readonly limits: FeedLimits,
    private readonly metrics: GatewayMetrics,
  ) {}

  get size(): number {
    return this.listeners.size + this.waiting.size;
  }

  add(l: ChatListener): void {
    if (this.loaded) {
      l.onChatHistory(this.recent());
      this.listeners.add(l);
    } else {
      this.waiting.add(l);
    }
    for (const h of this.hands.values()) if (h.raised) l.onHand(handMessage(h));
  }

  remove(l: ChatListener): void {
    this.listeners.delete(l);
    this.waiting.delete(l);
  }

  /** Starts the consumer; a failure leaves the feed idle until `start` is called again. */
  async start(js: JetStreamClient, jsm: JetStreamManager): Promise<void> {
    if (this.closed || this.starting || this.messages) return;
    this.starting = true;
    const subject = chatSubject(this.room);
    try {
      const last = await jsm.streams.getMessage(this.limits.chatStream, { last_by_subj: subject });
      this.loadUntil = last?.seq ?? 0;
      const consumer: Consumer = await js.consumers.get(this.limits.chatStream, { filter_subjects: subject });
      if (this.closed) return;
      this.messages = await consumer.consume({ callback: (m) => this.onStreamMessage(m) });
      if (this.closed) {
        this.messages.stop();
        return;
      }
      if (this.loadUntil === 0) this.finishLoading();
      log.debug('chat feed started', { room: this.room, backlogUntil: this.loadUntil });
    } catch (err) {
      log.warn('chat feed failed to start', { room: this.room, error: (err as Error).message });
      throw err;
    } finally {
      this.starting = false;
    }
  }

  onHandEvent(e: HandEvent): void {
    if (e.raised) this.hands.set(e.who, e);
    else this.hands.delete(e.who);
    const msg = handMessage(e);
    for (const l of this.listeners) l.onHand(msg);
    for (const l of this.waiting) l.onHand(msg);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.messages?.stop();
    this.messages = null;
    this.listeners.clear();
    this.waiting.clear();
  }

  private onStreamMessage(m: JsMsg): void {
    let message: ChatMessage;
    try {
      const r = decodeChatRecord(m.data);
      if (r.room !== this.room) throw new ProtocolError('ERR_INVALID_MESSAGE', 'chat record for another room');
      message = { type: 'chat', id: r.id, name: r.name, text: r.text, ts: r.ts };
    } catch (err) {
      if (!(err instanceof ProtocolError)) throw err;
      this.metrics.reject('chat-garbage');
      log.debug('bad chat record dropped', { room: this.room, seq: m.seq, error: err.message });
      return;
    }
    this.history.push({ seq: m.seq, message });
    if (this.history.length > this.limits.chatHistory)
      this.history.splice(0, this.history.length - this.limits.chatHistory);
    if (!this.loaded) {
      if (m.seq >= this.loadUntil) this.finishLoading();
      return;
    }
    this.metrics.chatDelivered.inc(this.listeners.size);
    for (const l of this.listeners) l.onChat(message);
  }

  private finishLoading(): void {
    this.loaded = true;
    const backlog = this.recent();
    for (const l of this.waiting) {
      l.onChatHistory(backlog);
      this.listeners.add(l);
    }
    this.waiting.clear();
  }

  /** The kept messages still within the maximum age, marked as history. */
  private recent(): ChatMessage[] {
    const oldest = Date.now() - this.limits.chatMaxAgeSeconds * 1000;
    return this.history.filter((e) => e.message.ts >= oldest).map((e) => ({ ...e.message, history: true }));
  }
}

function handMessage(e: HandEvent): HandMessage {
  return { type: 'hand', who: e.who, name: e.name, raised: e.raised };
}
