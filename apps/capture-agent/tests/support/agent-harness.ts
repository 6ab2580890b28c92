import { connect, type NatsConnection, type Subscription } from '@nats-io/transport-node';
import {
  decodeEnvelope,
  decodePresence,
  tryParseSubject,
  wildcards,
  type Envelope,
  type PresenceMessage,
} from '@vidchat/protocol';
import { startApp, startNatsFixture, type NatsFixture, type RunningProcess } from '@vidchat/test-support';

/*
 * Runs the built agent against a real broker and records what it publishes,
 * with the time each message arrived here.
 */

export interface Received<T> {
  at: number;
  msg: T;
}

export class RoomRecorder {
  readonly video: Received<Envelope>[] = [];
  /** Video envelopes received on a layer-1 subject (`.video1`). */
  readonly video1: Received<Envelope>[] = [];
  readonly audio: Received<Envelope>[] = [];
  readonly presence: Received<PresenceMessage>[] = [];
  readonly errors: string[] = [];
  private sub: Subscription | null = null;

  private constructor(readonly nc: NatsConnection) {}

  static async start(url: string, room: string): Promise<RoomRecorder> {
    const nc = await connect({ servers: url, maxReconnectAttempts: -1, reconnectTimeWait: 200 });
    const r = new RoomRecorder(nc);
    r.sub = nc.subscribe(wildcards.roomSources(room));
    void (async () => {
      for await (const m of r.sub!) {
        const at = Date.now();
        try {
          if (m.subject.endsWith('.presence')) r.presence.push({ at, msg: decodePresence(m.data) });
          else {
            // Copy: msg.data is a view into the client's read buffer.
            const env = decodeEnvelope(new Uint8Array(m.data));
            const parsed = tryParseSubject(m.subject);
            const layer = parsed?.scope === 'src' ? (parsed.layer ?? 0) : 0;
            (env.kind === 'video' ? (layer === 1 ? r.video1 : r.video) : r.audio).push({ at, msg: env });
          }
        } catch (err) {
          r.errors.push(`${m.subject}: ${(err as Error).message}`);
        }
      }
    })();
    await nc.flush();
    return r;
  }

  async stop(): Promise<void> {
    await this.nc.close();
  }
}

export function startAgent(url: string, room: string, source: string, extra: string[]): RunningProcess {
  return startApp('capture-agent', [
    '--nats',
    url,
    '--room',
    room,
    '--source',
    source,
    '--status-interval',
    '1000',
    ...extra,
  ]);
}

/** Width and height from a JPEG's SOF, read independently of the agent's splitter. */
export function jpegSize(jpeg: Uint8Array): { width: number; height: number } | null {
  let p = 2;
  while (p + 4 <= jpeg.length) {
    if (jpeg[p] !== 0xff) return null;
    const code = jpeg[p + 1]!;
    const len = (jpeg[p + 2]! << 8) | jpeg[p + 3]!;
    if (code >= 0xc0 && code <= 0xc3) {
      return { height: (jpeg[p + 5]! << 8) | jpeg[p + 6]!, width: (jpeg[p + 7]! << 8) | jpeg[p + 8]! };
    }
    p += 2 + len;
  }
  return null;
}

/**
 * What most of the agent's integration tests start: a broker, a
 * RoomRecorder of `room` on it, and one agent publishing into the room as
 * `source` with `extra` flags. `stop()` ends the three.
 */
export class AgentRun {
  private constructor(
    readonly nats: NatsFixture,
    readonly recorder: RoomRecorder,
    readonly agent: RunningProcess,
  ) {}

  static async start(room: string, source: string, extra: string[]): Promise<AgentRun> {
    const nats = await startNatsFixture();
    let recorder: RoomRecorder | null = null;
    try {
      recorder = await RoomRecorder.start(nats.url, room);
      return new AgentRun(nats, recorder, startAgent(nats.url, room, source, extra));
    } catch (err) {
      await recorder?.stop();
      await nats.stop();
      throw err;
    }
  }

  async stop(): Promise<void> {
    await this.agent.stop();
    await this.recorder.stop();
    await this.nats.stop();
  }
}
