import { connect, type NatsConnection } from '@nats-io/transport-node';
import WebSocket from 'ws';
import {
  audioSubject,
  encodeEnvelope,
  parseServerMessage,
  mixAudioSubject,
  type ServerMessage,
} from '@vidchat/protocol';
import { waitFor } from '@vidchat/test-support';

export { makeJpeg } from '@vidchat/test-support';
export { FakeSource } from '@vidchat/test-support';

/** The audio fields and a tiny payload of one 20 ms Opus packet. */
const OPUS_PACKET = {
  codec: 'opus',
  sampleRate: 48000,
  channels: 1,
  durationUs: 20_000,
  payload: new Uint8Array([0xf8, 0xff, 0xfe]),
} as const;

/** Publishes one packet of the room's mix. */
export function mixPacket(nc: NatsConnection, room: string, seq: number): Uint8Array {
  const bytes = encodeEnvelope({
    kind: 'mixedAudio',
    source: '',
    seq,
    captureTimeUs: Date.now() * 1000,
    ...OPUS_PACKET,
  });
  nc.publish(mixAudioSubject(room), bytes);
  return bytes;
}

/** Publishes one packet of a source's own audio. */
export function sourceAudioPacket(nc: NatsConnection, room: string, source: string, seq: number): Uint8Array {
  const bytes = encodeEnvelope({ kind: 'audio', source, seq, captureTimeUs: Date.now() * 1000, ...OPUS_PACKET });
  nc.publish(audioSubject(room, source), bytes);
  return bytes;
}

export async function natsClient(url: string): Promise<NatsConnection> {
  return connect({ servers: url, name: 'gateway-test' });
}

/** A viewer: collects JSON events and binary envelopes. */
export class TestViewer {
  readonly events: ServerMessage[] = [];
  readonly binaries: Buffer[] = [];
  readonly closed: Promise<{ code: number; reason: string }>;
  readonly opened: Promise<void>;

  constructor(readonly ws: WebSocket) {
    ws.on('message', (data, isBinary) => {
      const buf = Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data as ArrayBuffer);
      if (isBinary) this.binaries.push(buf);
      else this.events.push(parseServerMessage(buf.toString('utf8')));
    });
    ws.on('error', () => undefined);
    this.opened = new Promise((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
    });
    this.closed = new Promise((resolve) =>
      ws.once('close', (code, reason) => resolve({ code, reason: reason.toString() })),
    );
  }

  static async open(port: number): Promise<TestViewer> {
    const v = new TestViewer(new WebSocket(`ws://127.0.0.1:${port}/ws`));
    await v.opened;
    return v;
  }

  send(msg: unknown): void {
    this.ws.send(typeof msg === 'string' ? msg : JSON.stringify(msg));
  }

  async join(room: string, token?: string): Promise<Extract<ServerMessage, { type: 'roster' }>> {
    this.send({ type: 'join', room, ...(token ? { token } : {}) });
    return this.waitEvent(
      (e): e is Extract<ServerMessage, { type: 'roster' }> => e.type === 'roster' && e.room === room,
    );
  }

  waitEvent<T extends ServerMessage>(pred: (e: ServerMessage) => e is T, timeoutMs = 10_000): Promise<T> {
    return waitFor(() => this.events.find(pred) ?? null, { timeoutMs, what: 'a viewer event', intervalMs: 10 });
  }

  close(): void {
    this.ws.terminate();
  }
}

/** One metric value from Prometheus text (sum of the series that match the labels). */
export async function metric(port: number, name: string, labels: Record<string, string> = {}): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  let total = 0;
  let found = false;
  for (const line of text.split('\n')) {
    if (!line.startsWith(name)) continue;
    const m = /^([a-z_]+)(\{[^}]*\})? (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const l = m[2] ?? '';
    if (!Object.entries(labels).every(([k, v]) => l.includes(`${k}="${v}"`))) continue;
    total += Number(m[3]);
    found = true;
  }
  return found ? total : 0;
}

export const isType =
  <K extends ServerMessage['type']>(type: K, pred: (e: Extract<ServerMessage, { type: K }>) => boolean = () => true) =>
  (e: ServerMessage): e is Extract<ServerMessage, { type: K }> =>
    e.type === type && pred(e as Extract<ServerMessage, { type: K }>);
