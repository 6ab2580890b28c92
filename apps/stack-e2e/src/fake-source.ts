import type { NatsConnection } from '@nats-io/transport-node';
import { encodeEnvelope, encodePresence, presenceSubject, videoSubject } from '@vidchat/protocol';

/*
 * A source published from the test process with a raw NATS client: valid
 * presence and video envelopes whose payload the test chooses (the gateway
 * forwards bytes, it does not decode JPEG), at a rate no ffmpeg on two cores
 * could sustain. Used to load the gateway, not to stand in for an agent.
 */
export class FakeSource {
  private seq = 0;
  private timers: NodeJS.Timeout[] = [];
  /** Video envelopes published so far. */
  sent = 0;

  constructor(
    private readonly nc: NatsConnection,
    readonly room: string,
    readonly id: string,
  ) {}

  presence(type: 'join' | 'heartbeat' | 'leave'): void {
    this.nc.publish(
      presenceSubject(this.room, this.id),
      encodePresence({
        v: 1,
        type,
        room: this.room,
        source: this.id,
        name: this.id,
        ts: Date.now(),
        video: { codec: 'jpeg', width: 640, height: 360, fps: 20 },
        audio: null,
      }),
    );
  }

  video(payload: Uint8Array): void {
    this.nc.publish(
      videoSubject(this.room, this.id),
      encodeEnvelope({
        kind: 'video',
        source: this.id,
        seq: this.seq++ >>> 0,
        captureTimeUs: Date.now() * 1_000,
        width: 640,
        height: 360,
        codec: 'jpeg',
        layer: 0,
        payload,
      }),
    );
    this.sent++;
  }

  /** Joins, then heartbeats every second and publishes `payload` at `fps` until `stop()`. */
  start(payload: Uint8Array, fps: number): void {
    this.presence('join');
    this.timers.push(setInterval(() => this.presence('heartbeat'), 1_000));
    this.timers.push(setInterval(() => this.video(payload), Math.round(1_000 / fps)));
  }

  stop(): void {
    for (const t of this.timers) clearInterval(t);
    this.timers = [];
    this.presence('leave');
  }
}
