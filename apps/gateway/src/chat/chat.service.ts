import { randomUUID } from 'node:crypto';
import { Inject, Injectable, type OnApplicationShutdown } from '@nestjs/common';
import {
  DiscardPolicy,
  jetstream,
  JetStreamApiCodes,
  JetStreamApiError,
  jetstreamManager,
  StorageType,
  type JetStreamClient,
  type JetStreamManager,
  type StreamConfig,
} from '@nats-io/jetstream';
import {
  chatSubject,
  chatWildcards,
  decodeHandEvent,
  encodeChatRecord,
  encodeHandEvent,
  handSubject,
  ProtocolError,
  type ChatSenderKind,
  type HandEvent,
} from '@vidchat/protocol';
import { createLogger } from '@vidchat/service-kit';
import { GATEWAY_CONFIG, type GatewayConfig } from '../config.js';
import { GatewayMetrics } from '../metrics/gateway-metrics.js';
import { NatsBus, type BusSubscription } from '../nats/nats-bus.js';
import { ChatRoomFeed, type ChatListener } from './chat-room-feed.js';

/** The chat's state, shown on /healthz: `unavailable` says why (JetStream missing, not allowed). */
export type ChatStatus = { state: 'starting' } | { state: 'ready' } | { state: 'unavailable'; reason: string };

/** A chat that could not be published (JetStream missing or not answering): the sender gets `chat-unavailable`. */
export class ChatUnavailableError extends Error {
  readonly code = 'chat-unavailable';
  constructor(reason: string, options?: { cause?: unknown }) {
    super(`chat is unavailable: ${reason}`, options);
    this.name = 'ChatUnavailableError';
  }
}

/** How long the duplicate window of the stream is (a republished id within it is stored once). */
const DUPLICATE_WINDOW_MS = 120_000;

const log = createLogger('gateway.chat');

interface Watched {
  feed: ChatRoomFeed;
  hands: BusSubscription;
}

/**
 * Room chat over JetStream. At start (once NATS is up) the chat stream is
 * created, or updated to the configured limits; while JetStream is missing
 * the gateway serves video without chat, says so once at warn level and on
 * /healthz, and retries. Each watched room has one `ChatRoomFeed` (history +
 * live) and one subscription to its hand events, held while someone here
 * watches it, like the room's media.
 */
@Injectable()
export class ChatService implements OnApplicationShutdown {
  private js: JetStreamClient | null = null;
  private jsm: JetStreamManager | null = null;
  private current: ChatStatus = { state: 'starting' };
  private readonly rooms = new Map<string, Watched>();
  private retry: NodeJS.Timeout | null = null;
  private closed = false;

  constructor(
    @Inject(GATEWAY_CONFIG) private readonly config: GatewayConfig,
    @Inject(NatsBus) private readonly bus: NatsBus,
    @Inject(GatewayMetrics) private readonly metrics: GatewayMetrics,
  ) {}

  get status(): ChatStatus {
    return this.current;
  }

  /** Called once NATS is connected: sets the stream up, then starts the feeds of rooms already watched. */
  async start(): Promise<void> {
    const nc = this.bus.connection;
    if (!nc || this.closed) return;
    try {
      const jsm = await jetstreamManager(nc, { checkAPI: false });
      await this.ensureStream(jsm);
      this.jsm = jsm;
      this.js = jetstream(nc);
      this.setStatus({ state: 'ready' });
      for (const w of this.rooms.values()) this.startFeed(w.feed);
    } catch (err) {
      this.setStatus({ state: 'unavailable', reason: describe(err) });
      this.retry = setTimeout(() => void this.start(), this.config.chatRetryMs);
      this.retry.unref();
    }
  }

  /** Starts delivering the room's chat to `listener` (history first); returns the release. */
  watch(room: string, listener: ChatListener): () => void {
    let w = this.rooms.get(room);
    if (!w) {
      const feed = new ChatRoomFeed(room, this.config, this.metrics);
      const hands = this.bus.subscribe(handSubject(room), (msg) => {
        let e: HandEvent;
        try {
          e = decodeHandEvent(msg.data);
        } catch (err) {
          if (!(err instanceof ProtocolError)) throw err;
          this.metrics.reject('chat-garbage');
          return;
        }
        if (e.room === room) feed.onHandEvent(e);
      });
      w = { feed, hands };
      this.rooms.set(room, w);
      if (this.current.state === 'ready') this.startFeed(feed);
    }
    const watched = w;
    watched.feed.add(listener);
    return () => {
      watched.feed.remove(listener);
      if (watched.feed.size > 0 || this.rooms.get(room) !== watched) return;
      watched.feed.close();
      watched.hands.unsubscribe();
      this.rooms.delete(room);
    };
  }

  /**
   * Stamps and stores one chat message; resolves once JetStream has it.
   * Rejects with `ChatUnavailableError` when it could not be stored.
   */
  async send(room: string, sender: { name: string; from: ChatSenderKind }, text: string): Promise<void> {
    const js = this.js;
    if (!js || this.current.state !== 'ready') {
      throw new ChatUnavailableError(this.current.state === 'unavailable' ? this.current.reason : 'starting');
    }
    const id = randomUUID();
    const bytes = encodeChatRecord({ v: 1, id, room, name: sender.name, from: sender.from, text, ts: Date.now() });
    try {
      // The id doubles as the JetStream message id: a publish retried after a lost ack is stored once.
      await js.publish(chatSubject(room), bytes, { msgID: id });
      this.metrics.chatPublished.inc();
    } catch (err) {
      log.debug('chat publish failed', { room, error: describe(err) });
      throw new ChatUnavailableError(describe(err), { cause: err });
    }
  }

  /** Tells every gateway of the room that `who` raised or lowered a hand (not stored). */
  hand(room: string, who: string, name: string, raised: boolean): void {
    const nc = this.bus.connection;
    if (!nc) return;
    nc.publish(handSubject(room), encodeHandEvent({ v: 1, room, who, name, raised, ts: Date.now() }));
  }

  onApplicationShutdown(): void {
    this.closed = true;
    if (this.retry) clearTimeout(this.retry);
    for (const w of this.rooms.values()) {
      w.feed.close();
      w.hands.unsubscribe();
    }
    this.rooms.clear();
  }

  private startFeed(feed: ChatRoomFeed): void {
    const { js, jsm } = this;
    if (!js || !jsm) return;
    // A consumer that could not be made (JetStream busy, a broker restart) is
    // tried again while the room is still watched; `start` is a no-op once
    // the feed is closed or running.
    feed.start(js, jsm).catch(() => {
      const retry = setTimeout(() => this.startFeed(feed), this.config.chatRetryMs);
      retry.unref();
    });
  }

  /** Creates the stream, or brings an existing one to the configured limits. */
  private async ensureStream(jsm: JetStreamManager): Promise<void> {
    const maxAgeMs = this.config.chatMaxAgeSeconds * 1000;
    const limits: Partial<StreamConfig> = {
      max_msgs_per_subject: this.config.chatHistory,
      max_age: maxAgeMs * 1_000_000,
      duplicate_window: Math.min(DUPLICATE_WINDOW_MS, maxAgeMs) * 1_000_000,
    };
    const name = this.config.chatStream;
    try {
      const info = await jsm.streams.info(name);
      // Scaled up, never down: a gateway started without --chat-replicas
      // does not take copies away from a cluster's stream.
      const replicas = Math.max(info.config.num_replicas, this.config.chatReplicas);
      await jsm.streams.update(name, { ...limits, num_replicas: replicas, subjects: [chatWildcards.allChat()] });
      log.info('chat stream updated', {
        stream: name,
        history: this.config.chatHistory,
        maxAgeS: this.config.chatMaxAgeSeconds,
        replicas,
      });
    } catch (err) {
      if (!(err instanceof JetStreamApiError && err.code === JetStreamApiCodes.StreamNotFound)) throw err;
      await jsm.streams.add({
        name,
        subjects: [chatWildcards.allChat()],
        storage: StorageType.File,
        discard: DiscardPolicy.Old,
        num_replicas: this.config.chatReplicas,
        ...limits,
      });
      log.info('chat stream created', {
        stream: name,
        replicas: this.config.chatReplicas,
        history: this.config.chatHistory,
        maxAgeS: this.config.chatMaxAgeSeconds,
      });
    }
  }

  private setStatus(s: ChatStatus): void {
    const was = this.current;
    this.current = s;
    if (s.state === 'unavailable' && was.state !== 'unavailable') {
      log.warn('chat unavailable: JetStream is missing or not allowed; video keeps working, chat is refused', {
        reason: s.reason,
        retryMs: this.config.chatRetryMs,
      });
    }
  }
}

function describe(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
