import { randomBytes } from 'node:crypto';
import type { WebSocket } from 'ws';
import {
  checkChatText,
  CloseCode,
  PRESENCE_INTERVAL_MS,
  serverMessage,
  type AudioMode,
  type ChatMessage,
  type HandMessage,
  type JoinMessage,
  type ServerMessage,
  type SourceInfo,
  type ViewerErrorCode,
  type ViewersMessage,
} from '@vidchat/protocol';
import { createLogger } from '@vidchat/service-kit';
import type { RoomAuthorizer } from '../auth/room-authorizer.js';
import type { ChatListener } from '../chat/chat-room-feed.js';
import type { ChatService } from '../chat/chat.service.js';
import type { RecordingRelay } from '../recordings/recording-relay.js';
import { TokenError } from '../auth/viewer-token.js';
import { TokenBucket } from '../limits/token-bucket.js';
import type { GatewayMetrics } from '../metrics/gateway-metrics.js';
import type { NatsBus } from '../nats/nats-bus.js';
import type { ViewerCountListener, ViewerCounts } from '../people/viewer-counts.service.js';
import { RoomCapError, type RoomRegistry } from '../rooms/room-registry.js';
import type { Room } from '../rooms/room.js';
import type { MediaFrame, RoomWatcher } from '../rooms/room-watcher.js';
import { MediaSender, type SenderLimits } from './media-sender.js';
import { Participant, type ParticipantLimits } from './participant.js';
import type { InvalidFrame } from './viewer-frames.js';
import { ViewerLayers } from './viewer-layers.js';

export interface SessionLimits extends SenderLimits, ParticipantLimits {
  /** Also the most sources one viewer may choose a layer for. */
  maxSourcesPerRoom: number;
  messagesPerSecond: number;
  messageBurst: number;
  layerMessagesPerSecond: number;
  layerMessageBurst: number;
  rateLimitStrikes: number;
  rateLimitStrikeDecayMs: number;
  chatPerSecond: number;
  chatBurst: number;
}

export interface SessionDeps {
  registry: RoomRegistry;
  metrics: GatewayMetrics;
  auth: RoomAuthorizer;
  bus: NatsBus;
  limits: SessionLimits;
  chat: ChatService;
  /** The room's `recording` messages (absent in tests that build sessions without recordings). */
  recordings?: RecordingRelay;
  /** The number watching the room on every gateway (the `viewers` message). */
  viewerCounts: ViewerCounts;
}

/**
 * A participant's socket that has not answered a ping for this long is
 * terminated (and its source leaves). Pings go out with every presence
 * heartbeat, once a second, so a dead socket is gone within about three
 * seconds, like a capture agent whose heartbeats stop.
 */
export const PARTICIPANT_PONG_TIMEOUT_MS = 2 * PRESENCE_INTERVAL_MS;

const log = createLogger('gateway.viewer');
let nextId = 1;

/**
 * One viewer WebSocket: its rate limit, its room, its media sender. The
 * viewer gateway routes the socket's control messages here; media goes out
 * through the sender as raw `ws` frames.
 */
export class ViewerSession implements RoomWatcher, ChatListener, ViewerCountListener {
  readonly id = nextId++;
  /** This viewer in chat and hand events when it gave no name: `viewer-` and 8 random hex digits. */
  readonly chatId = `viewer-${randomBytes(4).toString('hex')}`;
  /** The name given at join, if any. */
  private name: string | null = null;
  private readonly chatBucket: TokenBucket;
  private chatRelease: (() => void) | null = null;
  private handRaised = false;
  /** Cleared on every ping, set by the pong: false at the next ping means dead. */
  alive = true;
  private lastPong = performance.now();
  private joined: { room: string; roster: Room; release: () => void; participant: Participant | null } | null = null;
  /** The video layer wanted of each source (`layer` messages). */
  private readonly layers: ViewerLayers;
  /** The source whose mix-minus this viewer hears instead of the room's mix, if any. */
  private hearsMinusOf: string | null = null;
  /** `sources`: this viewer hears each source's own audio (per-tile volume) instead of the mix. */
  private audioMode: AudioMode = 'mix';
  /** Releases the room's per-source audio, while this viewer is joined in `sources` mode. */
  private sourceAudioRelease: (() => void) | null = null;
  /** Counts joins and leaves, so that a join whose token check finishes late knows it was overtaken. */
  private joinSeq = 0;
  private readonly bucket: TokenBucket;
  /** `layer` messages have their own budget: a re-laid-out grid sends one per tile at once. */
  private readonly layerBucket: TokenBucket;
  /**
   * Strikes (messages over the rate) as a leaky bucket: a strike spends one
   * of `rateLimitStrikes - 1` allowances, which come back at one per
   * `rateLimitStrikeDecayMs`; a strike with none left closes the viewer. So
   * `rateLimitStrikes` strikes close it only when they come within about
   * that many decay periods, never for slips spread over hours.
   */
  private readonly strikeAllowance: TokenBucket;
  private sender: MediaSender;
  private closed = false;

  constructor(
    readonly ws: WebSocket,
    private readonly deps: SessionDeps,
    private readonly onClosed: (s: ViewerSession) => void,
  ) {
    const l = deps.limits;
    this.bucket = new TokenBucket(l.messagesPerSecond, l.messageBurst);
    this.layerBucket = new TokenBucket(l.layerMessagesPerSecond, l.layerMessageBurst);
    this.strikeAllowance = new TokenBucket(1000 / l.rateLimitStrikeDecayMs, l.rateLimitStrikes - 1);
    this.chatBucket = new TokenBucket(l.chatPerSecond, l.chatBurst);
    this.sender = new MediaSender(ws, deps.limits, deps.metrics);
    this.layers = new ViewerLayers(deps.registry, deps.limits.maxSourcesPerRoom);
    ws.on('pong', () => {
      this.alive = true;
      this.lastPong = performance.now();
    });
  }

  get room(): string | null {
    return this.joined?.room ?? null;
  }

  /** Sends an `error` event then closes with `code`. */
  fail(code: ViewerErrorCode, message: string, closeCode: number = CloseCode.policyViolation): void {
    log.debug('closing viewer', { viewer: this.id, code, closeCode });
    this.sendJson({ type: 'error', code, message });
    this.close(closeCode, code);
  }

  close(code: number, reason = ''): void {
    if (this.ws.readyState === this.ws.OPEN || this.ws.readyState === this.ws.CONNECTING) this.ws.close(code, reason);
    this.dispose();
  }

  onSourceJoined(room: string, source: SourceInfo): void {
    this.sendJson({ type: 'source-joined', room, source });
  }

  onSourceLeft(room: string, source: string): void {
    this.sender.forget(source);
    this.sendJson({ type: 'source-left', room, source });
  }

  onMedia(frame: MediaFrame): void {
    if (frame.kind === 'video') {
      // Latest-frame-wins per source in the sender; here only the layer this
      // viewer wants passes, and never a participant's own video: it sees
      // itself in the page's local preview, never a round trip (layerOf).
      if (frame.layer === this.layerOf(frame.source)) this.sender.video(frame.source, frame.bytes);
    } else if (frame.kind === 'mixedAudio') {
      // One mix per viewer: its mix-minus when it hears one, the room's mix
      // otherwise; none in `sources` mode, where the page mixes the sources.
      if (this.audioMode === 'mix' && (frame.minusOf ?? null) === this.hearsMinusOf) this.sender.audio(frame.bytes);
    } else if (frame.kind === 'audio') {
      // Reaches only viewers in `sources` mode (hearSources). Never a
      // viewer's own source: a participant's own microphone, or the source
      // whose mix-minus an `as` viewer hears, would come back as an echo.
      if (this.audioMode === 'sources' && frame.source !== this.hearsMinusOf) this.sender.audio(frame.bytes);
    } else {
      this.sender.audio(frame.bytes);
    }
  }

  /**
   * `{"type":"audio"}`: `sources` makes this viewer hear each source's own
   * audio instead of the mix (the page plays each tile at its own volume),
   * `mix` goes back to the single mix. The mode holds across joins; the
   * room's per-source audio is subscribed only while some joined viewer
   * wants it.
   */
  setAudioMode(mode: AudioMode): void {
    if (mode === this.audioMode) return;
    this.audioMode = mode;
    log.debug('viewer audio mode', { viewer: this.id, mode });
    this.applyAudioMode();
  }

  /** Holds the room's per-source audio exactly while joined in `sources` mode. */
  private applyAudioMode(): void {
    const want = this.joined !== null && this.audioMode === 'sources';
    if (want && !this.sourceAudioRelease) {
      this.sourceAudioRelease = this.deps.registry.hearSources(this.joined!.roster, this);
    } else if (!want && this.sourceAudioRelease) {
      this.sourceAudioRelease();
      this.sourceAudioRelease = null;
    }
  }

  /**
   * `{"type":"layer"}`: which layer of `source` this viewer gets from now
   * on; null pauses it. A change sends the new layer's latest frame at once,
   * so a tile shown again (or made larger) does not wait for the next one.
   */
  setLayer(source: string, layer: number | null): void {
    const before = this.joined ? this.layerOf(source) : this.layers.asked(source);
    if (!this.layers.set(source, layer)) {
      this.deps.metrics.reject('client-layer-cap');
      this.sendJson({ type: 'error', code: 'bad-message', message: 'layer: too many sources chosen' });
      return;
    }
    if (!this.joined) return;
    const now = this.layerOf(source);
    if (now === before) return;
    // A frame of the old layer still waiting for the socket must not be sent after the switch.
    this.sender.forget(source);
    if (now === null) return;
    const latest = this.deps.registry.latestVideo(this.joined.room, source, now);
    if (latest) this.sender.video(source, latest.bytes);
  }

  /**
   * The layer this viewer gets of `source` now; null while paused, and
   * always for a participant's own source, whose video never comes back to it.
   */
  private layerOf(source: string): number | null {
    if (source === this.joined?.participant?.id) return null;
    return this.layers.layerOf(source, this.joined?.roster.sources.get(source)?.info);
  }

  /**
   * Counts one control message against the rate limit. False means "ignore
   * it": the session is closed, or the message was over the rate (answered
   * with `rate-limited`, and after too many strikes closed with 1008).
   */
  admit(kind: 'control' | 'layer' = 'control'): boolean {
    if (this.closed) return false;
    if ((kind === 'layer' ? this.layerBucket : this.bucket).take()) return true;
    this.deps.metrics.reject('client-rate-limited');
    if (this.strikeAllowance.take()) {
      this.sendJson({ type: 'error', code: 'rate-limited', message: 'too many messages: this one was ignored' });
    } else {
      this.fail('rate-limited', 'too many messages: closing');
    }
    return false;
  }

  /** A text frame that is not a valid message: counted, answered, closed (1008). */
  rejectInvalid(frame: InvalidFrame): void {
    this.deps.metrics.reject(frame.code === 'bad-room' ? 'client-bad-room' : 'client-bad-message');
    this.fail(frame.code, frame.message);
  }

  /** A text frame over the message cap: counted, answered, closed (1009). */
  rejectTooBig(): void {
    if (this.closed) return;
    this.deps.metrics.reject('client-bad-message');
    this.fail('message-too-big', 'text messages are limited in size', CloseCode.messageTooBig);
  }

  /** The sender name in chat: the name given at join, else a short generated one. */
  get chatName(): string {
    return this.name ?? this.chatId.slice(0, 'viewer-'.length + 4);
  }

  /** Who raises a hand: a participant's source id (so the people list finds its tile), else `chatId`. */
  private get handWho(): string {
    return this.joined?.participant?.id ?? this.chatId;
  }

  onChatHistory(messages: readonly ChatMessage[]): void {
    for (const m of messages) this.sendJson(m);
  }

  onChat(message: ChatMessage): void {
    this.sendJson(message);
  }

  onHand(message: HandMessage): void {
    this.sendJson(message);
  }

  onViewerCount(message: ViewersMessage): void {
    this.sendJson(message);
  }

  /**
   * A chat message: checked (joined, 1–2,000 characters after trimming, the
   * chat rate), then stored. A refusal is an `error` to the sender, nothing
   * is published, and the socket stays open.
   */
  chat(raw: string): void {
    const room = this.room;
    if (room === null) return this.refuseChat('chat-not-joined', 'not-joined', 'join a room before chatting');
    const check = checkChatText(raw);
    if (!check.ok) return this.refuseChat(check.code, check.code, check.message);
    if (!this.chatBucket.take()) {
      return this.refuseChat('chat-rate-limited', 'chat-rate-limited', 'too many chat messages: this one was not sent');
    }
    const from = this.joined?.participant ? 'participant' : 'viewer';
    this.deps.chat.send(room, { name: this.chatName, from }, check.text).catch((err: Error) => {
      this.refuseChat('chat-unavailable', 'chat-unavailable', err.message);
    });
  }

  /** Raises or lowers this viewer's hand for everyone in the room. */
  hand(raised: boolean): void {
    const room = this.room;
    if (room === null) return this.refuseChat('chat-not-joined', 'not-joined', 'join a room before raising a hand');
    this.handRaised = raised;
    this.deps.chat.hand(room, this.handWho, this.chatName, raised);
  }

  private refuseChat(
    reason: 'chat-not-joined' | 'chat-empty' | 'chat-too-long' | 'chat-rate-limited' | 'chat-unavailable',
    code: ViewerErrorCode,
    message: string,
  ): void {
    this.deps.metrics.reject(reason);
    this.sendJson({ type: 'error', code, message });
  }

  /** Leaves the room's chat; a raised hand is lowered for the others. */
  private leaveChat(): void {
    if (this.joined && this.handRaised) this.deps.chat.hand(this.joined.room, this.handWho, this.chatName, false);
    this.handRaised = false;
    this.chatRelease?.();
    this.chatRelease = null;
  }

  /**
   * A binary frame: a participant's media envelope, checked and published
   * (or dropped and counted); from anyone else, counted and closed with 1003.
   */
  onBinary(data: Buffer): void {
    if (this.closed) return;
    const participant = this.joined?.participant;
    if (!participant) {
      this.deps.metrics.reject('client-binary');
      this.fail(
        'binary-not-allowed',
        'only participants send media: join with publish first',
        CloseCode.unsupportedData,
      );
      return;
    }
    if (participant.accept(data) === 'bad-media') {
      this.fail('bad-media', `participants send video and audio envelopes of their own source ${participant.id} only`);
    }
  }

  /**
   * Joins a room (leaving the previous one). Token verification is
   * asynchronous: a later join or leave, or the socket closing, while it
   * runs makes this one moot (`joinSeq`).
   */
  async join(msg: JoinMessage): Promise<void> {
    const { room } = msg;
    const seq = ++this.joinSeq;
    let grants;
    try {
      grants = await this.deps.auth.check(msg.token, room);
    } catch (err) {
      if (!(err instanceof TokenError)) throw err;
      if (this.closed || seq !== this.joinSeq) return;
      this.deps.metrics.reject('client-unauthorized');
      this.fail('unauthorized', `not allowed to watch ${room}: ${err.message}`);
      return;
    }
    if (this.closed || seq !== this.joinSeq) return;
    if (msg.publish && !grants.publish) {
      this.deps.metrics.reject('client-unauthorized');
      this.fail('unauthorized', `the token does not allow joining ${room} with camera and microphone`);
      return;
    }
    this.leave();
    let watched;
    try {
      watched = this.deps.registry.watch(room, this);
    } catch (err) {
      if (!(err instanceof RoomCapError)) throw err;
      this.fail('too-many-rooms', `cannot watch ${room}: ${err.message}`, CloseCode.tryAgainLater);
      return;
    }
    const { room: r, release } = watched;
    let participant: Participant | null = null;
    const releases = [release];
    // The display name: a token's grant first, else the one given at join.
    const given = grants.name ?? msg.name?.trim();
    if (msg.publish) {
      const name = given || 'Guest';
      participant = new Participant(
        { room, name, video: msg.video ?? null, audio: msg.audio ?? null },
        this.deps.bus,
        this.deps.metrics,
        this.deps.limits,
        () => this.pingParticipant(),
      );
    }
    // The name shown in chat: a participant's display name, or a viewer's
    // name, kept from an earlier join when this one gives none.
    if (participant) this.name = given || 'Guest';
    else if (given) this.name = given;
    this.hearsMinusOf = participant?.id ?? msg.as ?? null;
    if (this.hearsMinusOf !== null) releases.push(this.deps.registry.listen(r, this.hearsMinusOf, this));
    participant?.start();
    this.joined = {
      room,
      roster: r,
      participant,
      release: () => {
        participant?.stop();
        for (const f of releases) f();
      },
    };
    this.layers.attach(room);
    this.applyAudioMode();
    log.debug('viewer joined', { viewer: this.id, room, participant: participant?.id, as: msg.as });
    this.sendJson({ type: 'roster', room, sources: r.roster(), ...(participant ? { self: participant.id } : {}) });
    // After the roster, so that a recording in progress is told right after it.
    const unfollow = this.deps.recordings?.follow(room, (m) => this.sendJson(m));
    if (unfollow) releases.push(unfollow);
    // Counted as watching unless it publishes: the people list names participants and counts the rest.
    releases.push(this.deps.viewerCounts.join(room, this, participant === null));
    // A late joiner gets each source's latest picture at once instead of
    // waiting for the next frame.
    for (const s of r.sources.values()) {
      const layer = this.layerOf(s.info.id);
      const latest = layer === null ? null : this.deps.registry.latestVideo(room, s.info.id, layer);
      if (latest) this.sender.video(s.info.id, latest.bytes);
    }
    // After the roster: the room's chat history, then live chat.
    this.chatRelease = this.deps.chat.watch(room, this);
  }

  leave(): void {
    this.joinSeq++;
    if (!this.joined) return;
    this.leaveChat();
    this.layers.detach();
    const joined = this.joined;
    this.joined = null;
    this.applyAudioMode();
    joined.release();
    this.hearsMinusOf = null;
    this.sender.close();
    // A fresh sender for the next room: nothing of the old room may leak in.
    this.sender = new MediaSender(this.ws, this.deps.limits, this.deps.metrics);
  }

  /** Releases the room and the sender; idempotent (the socket closed, or we closed it). */
  dispose(): void {
    if (this.closed) return;
    this.closed = true;
    this.leaveChat();
    this.layers.detach();
    const joined = this.joined;
    this.joined = null;
    this.applyAudioMode();
    joined?.release();
    this.sender.close();
    this.onClosed(this);
  }

  /**
   * Runs with each participant heartbeat: a socket silent past the pong
   * timeout is terminated (its source leaves); otherwise it is pinged.
   */
  private pingParticipant(): boolean {
    if (performance.now() - this.lastPong > PARTICIPANT_PONG_TIMEOUT_MS) {
      log.debug('participant missed its pongs: terminated', { viewer: this.id });
      this.ws.terminate();
      this.dispose();
      return false;
    }
    if (this.ws.readyState === this.ws.OPEN) this.ws.ping();
    return true;
  }

  private sendJson(msg: ServerMessage): void {
    if (this.ws.readyState === this.ws.OPEN) this.ws.send(serverMessage(msg));
  }
}
