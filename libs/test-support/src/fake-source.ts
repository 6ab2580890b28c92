import type { NatsConnection } from '@nats-io/transport-node';
import {
  encodeEnvelope,
  encodePresence,
  presenceSubject,
  videoLayerSubject,
  type VideoLayerInfo,
} from '@vidchat/protocol';

export interface FakeSourceOptions {
  /** Label in presence; default `cam <id>`. */
  name?: string;
  /** Size announced in presence and stamped on video envelopes; default 64x48. */
  width?: number;
  height?: number;
  /** Frame rate announced in presence; default 10. */
  fps?: number;
  /** Video layers announced in presence; default none (layer 0 only). */
  layers?: VideoLayerInfo[];
}

/*
 * A source published from the test process with a raw NATS client: valid
 * presence and video envelopes whose JPEG payload the test chooses. The
 * gateway forwards bytes and never decodes a JPEG, so this loads or drives
 * the gateway at rates and timings no ffmpeg on two cores could; tests of
 * capture itself use the real agent instead.
 */
export class FakeSource {
  private seq = 0;
  private timers: NodeJS.Timeout[] = [];
  private heartbeat: NodeJS.Timeout | null = null;
  private readonly name: string;
  private readonly width: number;
  private readonly height: number;
  private readonly fps: number;
  private readonly layers: VideoLayerInfo[] | undefined;
  private readonly layerSeq = new Map<number, number>();
  /** Video envelopes published so far. */
  sent = 0;

  constructor(
    private readonly nc: NatsConnection,
    readonly room: string,
    readonly id: string,
    opts: FakeSourceOptions = {},
  ) {
    this.name = opts.name ?? `cam ${id}`;
    this.width = opts.width ?? 64;
    this.height = opts.height ?? 48;
    this.fps = opts.fps ?? 10;
    this.layers = opts.layers;
  }

  presence(type: 'join' | 'heartbeat' | 'leave'): void {
    this.nc.publish(
      presenceSubject(this.room, this.id),
      encodePresence({
        v: 1,
        type,
        room: this.room,
        source: this.id,
        name: this.name,
        ts: Date.now(),
        video: { codec: 'jpeg', width: this.width, height: this.height, fps: this.fps },
        audio: null,
        ...(this.layers ? { layers: this.layers } : {}),
      }),
    );
  }

  /** `join` now, then a heartbeat every `intervalMs` until `stopHeartbeats()`. */
  startHeartbeats(intervalMs = 500): void {
    this.presence('join');
    this.heartbeat = setInterval(() => this.presence('heartbeat'), intervalMs);
  }

  stopHeartbeats(): void {
    if (this.heartbeat) clearInterval(this.heartbeat);
    this.heartbeat = null;
  }

  /** Publishes one video envelope; returns the bytes it published. */
  video(payload: Uint8Array, width = this.width, height = this.height): Uint8Array {
    return this.videoLayer(0, payload, width, height);
  }

  /** Publishes one video envelope of `layer` on that layer's subject; returns its bytes. */
  videoLayer(layer: number, payload: Uint8Array, width = this.width, height = this.height): Uint8Array {
    const seq = layer === 0 ? this.seq++ : (this.layerSeq.get(layer) ?? 0);
    if (layer !== 0) this.layerSeq.set(layer, seq + 1);
    const bytes = encodeEnvelope({
      kind: 'video',
      source: this.id,
      seq: seq >>> 0,
      captureTimeUs: Date.now() * 1_000,
      width,
      height,
      codec: 'jpeg',
      layer,
      payload,
    });
    this.nc.publish(videoLayerSubject(this.room, this.id, layer), bytes);
    this.sent++;
    return bytes;
  }

  /** Joins, then heartbeats every second and publishes `payload` at `fps` until `stop()`. */
  start(payload: Uint8Array, fps: number): void {
    this.startHeartbeats(1_000);
    this.timers.push(setInterval(() => this.video(payload), Math.round(1_000 / fps)));
  }

  /** Stops everything it publishes and says `leave`. */
  stop(): void {
    this.stopHeartbeats();
    for (const t of this.timers) clearInterval(t);
    this.timers = [];
    this.presence('leave');
  }
}
