import WebSocket from 'ws';
import {
  decodeEnvelope,
  decodeLevelsPayload,
  parseServerMessage,
  type Envelope,
  type LevelsMessage,
  type ServerMessage,
} from '@vidchat/protocol';
import { waitFor } from '@vidchat/test-support';

/*
 * A viewer as the stack tests need one: a real WebSocket on the gateway's
 * `/ws`, joined to one room, that counts the media envelopes it receives per
 * source and kind and keeps every control message with its arrival time.
 * It does not reconnect: tests that need a reconnecting viewer use the real
 * browser page.
 */

export interface ReceivedEvent {
  at: number;
  msg: ServerMessage;
}

export class ViewerClient {
  /** Video envelopes per source. */
  readonly video = new Map<string, number>();
  /** Arrival time (ms) of the latest video envelope per source. */
  readonly lastVideoAt = new Map<string, number>();
  mixedAudio = 0;
  levels = 0;
  /** Binary messages that were not a valid envelope: the gateway must never forward one. */
  garbage = 0;
  /** Levels envelopes whose JSON did not validate. */
  badLevels = 0;
  /** The latest levels message, with its arrival time. */
  lastLevels: { at: number; levels: LevelsMessage } | null = null;
  readonly events: ReceivedEvent[] = [];
  closed: { code: number; reason: string } | null = null;

  private constructor(readonly ws: WebSocket) {
    ws.on('message', (data, isBinary) => {
      const now = Date.now();
      if (isBinary) {
        const bytes = data instanceof Buffer ? data : Buffer.concat(data as Buffer[]);
        this.onBinary(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength), now);
      } else {
        this.events.push({ at: now, msg: parseServerMessage(String(data)) });
      }
    });
    ws.on('close', (code, reason) => {
      this.closed = { code, reason: reason.toString() };
    });
    // Errors end in a close; the test sees `closed`.
    ws.on('error', () => undefined);
  }

  /** The participant's source id, after a join with `publish` (see `join`'s `extra`). */
  self: string | null = null;

  /**
   * Opens `/ws` on the gateway, joins `room` and waits for the roster.
   * `extra` adds join fields, e.g. `{publish: true, name}` for a participant.
   */
  static async join(
    port: number,
    room: string,
    opts: { timeoutMs?: number; extra?: Record<string, unknown> } = {},
  ): Promise<ViewerClient> {
    const ws = new WebSocket(`ws://127.0.0.1:${port}/ws`);
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
    });
    const client = new ViewerClient(ws);
    ws.send(JSON.stringify({ type: 'join', room, ...opts.extra }));
    const roster = await client.waitForEvent((m) => m.type === 'roster', opts.timeoutMs ?? 10_000, 'the roster');
    if (roster.msg.type === 'roster') client.self = roster.msg.self ?? null;
    return client;
  }

  private onBinary(bytes: Uint8Array, now: number): void {
    let env: Envelope;
    try {
      env = decodeEnvelope(bytes);
    } catch {
      this.garbage++;
      return;
    }
    if (env.kind === 'video') {
      this.video.set(env.source, (this.video.get(env.source) ?? 0) + 1);
      this.lastVideoAt.set(env.source, now);
    } else if (env.kind === 'mixedAudio') {
      this.mixedAudio++;
    } else if (env.kind === 'levels') {
      this.levels++;
      try {
        this.lastLevels = { at: now, levels: decodeLevelsPayload(env.payload) };
      } catch {
        this.badLevels++;
      }
    }
  }

  videoCount(source: string): number {
    return this.video.get(source) ?? 0;
  }

  /** Waits until `n` more video envelopes of `source` arrived than when called; returns when. */
  async waitForMoreVideo(source: string, n: number, timeoutMs: number): Promise<number> {
    const from = this.videoCount(source);
    await waitFor(() => this.videoCount(source) >= from + n, {
      timeoutMs,
      intervalMs: 10,
      what: `${n} more video frames of ${source} (had ${from})`,
    });
    return Date.now();
  }

  /** Waits until `n` more mixed-audio envelopes arrived than when called. */
  async waitForMoreMix(n: number, timeoutMs: number): Promise<number> {
    const from = this.mixedAudio;
    await waitFor(() => this.mixedAudio >= from + n, {
      timeoutMs,
      intervalMs: 10,
      what: `${n} more mixed-audio packets (had ${from})`,
    });
    return Date.now();
  }

  /** Waits for a control message matching `pred` (also one that already came after `since`). */
  async waitForEvent(
    pred: (m: ServerMessage) => boolean,
    timeoutMs: number,
    what: string,
    since = 0,
  ): Promise<ReceivedEvent> {
    return waitFor(() => this.events.find((e) => e.at >= since && pred(e.msg)) ?? null, {
      timeoutMs,
      intervalMs: 10,
      what,
    });
  }

  close(): void {
    if (this.ws.readyState === WebSocket.OPEN || this.ws.readyState === WebSocket.CONNECTING) this.ws.close();
  }
}
