import { connect, type NatsConnection } from '@nats-io/transport-node';
import WebSocket from 'ws';
import {
  audioSubject,
  encodeEnvelope,
  mixAudioSubject,
  parseServerMessage,
  type Envelope,
  type JoinMessage,
  type ServerMessage,
} from '@vidchat/protocol';
import { waitFor } from '@vidchat/test-support';

export { makeJpeg } from '@vidchat/test-support';
export { FakeSource } from '@vidchat/test-support';

/** The audio fields and a tiny payload (`marker` ff fe) of one 20 ms Opus packet. */
function opusPacket(marker = 0xf8) {
  return {
    codec: 'opus',
    sampleRate: 48000,
    channels: 1,
    durationUs: 20_000,
    payload: new Uint8Array([marker, 0xff, 0xfe]),
  } as const;
}

/** Publishes one room-mix packet (payload f8 ff fe) as the mixer would; returns its bytes. */
export function mixPacket(nc: NatsConnection, room: string, seq: number): Uint8Array {
  const bytes = mixedAudio(seq, 0xf8);
  nc.publish(mixAudioSubject(room), bytes);
  return bytes;
}

/** Publishes one packet of a source's own audio. */
export function sourceAudioPacket(nc: NatsConnection, room: string, source: string, seq: number): Uint8Array {
  const bytes = encodeEnvelope({ kind: 'audio', source, seq, captureTimeUs: Date.now() * 1000, ...opusPacket() });
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

/** A participant: a viewer that joined with `publish` and sends envelopes as its `self`. */
export class TestParticipant extends TestViewer {
  self = '';
  private seq = 0;

  static override async open(port: number, opts: { autoPong?: boolean } = {}): Promise<TestParticipant> {
    const p = new TestParticipant(new WebSocket(`ws://127.0.0.1:${port}/ws`, opts));
    await p.opened;
    return p;
  }

  /** Joins `room` with `publish`; resolves with the roster, after which `self` is set. */
  async joinAsParticipant(
    room: string,
    name: string,
    extra: Partial<JoinMessage> = {},
  ): Promise<Extract<ServerMessage, { type: 'roster' }>> {
    this.send({ type: 'join', room, publish: true, name, ...extra });
    const roster = await this.waitEvent(
      (e): e is Extract<ServerMessage, { type: 'roster' }> => e.type === 'roster' && e.room === room,
    );
    if (!roster.self) throw new Error('the roster of a participant join has no self');
    this.self = roster.self;
    return roster;
  }

  /** Encodes and sends one video envelope (as `source`, `self` by default); returns its bytes. */
  sendVideo(jpeg: Uint8Array, source = this.self, width = 64, height = 48, layer = 0): Uint8Array {
    return this.sendEnvelope({
      kind: 'video',
      source,
      seq: this.seq++,
      captureTimeUs: Date.now() * 1000,
      width,
      height,
      codec: 'jpeg',
      layer,
      payload: jpeg,
    });
  }

  /** Encodes and sends one 20 ms Opus envelope; returns its bytes. */
  sendAudio(source = this.self, payload = new Uint8Array([0xf8, 0xff, 0xfe])): Uint8Array {
    return this.sendEnvelope({
      kind: 'audio',
      source,
      seq: this.seq++,
      captureTimeUs: Date.now() * 1000,
      codec: 'opus',
      sampleRate: 48000,
      channels: 1,
      durationUs: 20_000,
      payload,
    });
  }

  sendEnvelope(env: Envelope): Uint8Array {
    const bytes = encodeEnvelope(env);
    this.ws.send(bytes);
    return bytes;
  }
}

/** A mixed-audio envelope with a recognisable payload (its first byte). */
export function mixedAudio(seq: number, marker: number): Uint8Array {
  return encodeEnvelope({
    kind: 'mixedAudio',
    source: '',
    seq,
    captureTimeUs: Date.now() * 1000,
    ...opusPacket(marker),
  });
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
