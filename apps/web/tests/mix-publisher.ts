import type { NatsConnection } from '@nats-io/transport-node';
import {
  audioSubject,
  encodeEnvelope,
  encodeLevelsEnvelope,
  encodePresence,
  mixAudioSubject,
  mixLevelsSubject,
  presenceSubject,
} from '@vidchat/protocol';

/**
 * Publishes a room's mix the way the mixer does: one real Opus packet per
 * 20 ms of wall-clock time (looping over `packets`), stamped with the wall clock, and levels
 * naming `speaker` every fifth packet when given. `skip(seq)` true leaves a
 * packet out, as a lossy network would. Returns a stop function.
 */
export function publishMix(
  nc: NatsConnection,
  room: string,
  packets: readonly Uint8Array[],
  opts: { speaker?: string; skip?: (seq: number) => boolean } = {},
): () => void {
  let seq = 0;
  const start = performance.now();
  // Paced by the clock, not by the timer's count: setInterval runs late, and a
  // mix that arrives slower than real time would underrun every player.
  const tick = (): void => {
    while (seq * 20 <= performance.now() - start) publishOne();
  };
  const publishOne = (): void => {
    const payload = packets[seq % packets.length];
    if (!payload) return;
    const now = Date.now() * 1000;
    if (!opts.skip?.(seq)) {
      nc.publish(
        mixAudioSubject(room),
        encodeEnvelope({
          kind: 'mixedAudio',
          source: '',
          seq,
          captureTimeUs: now,
          codec: 'opus',
          sampleRate: 48_000,
          channels: 1,
          durationUs: 20_000,
          payload,
        }),
      );
    }
    if (opts.speaker && seq % 5 === 0) {
      const levels = { room, sources: [{ source: opts.speaker, dbfs: -12, peakDbfs: -6 }], active: opts.speaker };
      nc.publish(mixLevelsSubject(room), encodeLevelsEnvelope(levels, seq / 5, now));
    }
    seq++;
  };
  const timer = setInterval(tick, 5);
  return () => clearInterval(timer);
}

/**
 * Publishes an audio-only source the way a capture agent does: presence
 * (`join`, then a heartbeat every second, with its audio format) and one real
 * Opus packet per 20 ms of wall-clock time on its own audio subject (looping
 * over `packets`), stamped with the wall clock. The mixer mixes it; a viewer
 * in per-source audio mode gets its packets. Returns a stop function (which
 * says `leave`).
 */
export function publishSourceAudio(
  nc: NatsConnection,
  room: string,
  source: string,
  name: string,
  packets: readonly Uint8Array[],
): () => void {
  const presence = (type: 'join' | 'heartbeat' | 'leave'): void => {
    nc.publish(
      presenceSubject(room, source),
      encodePresence({
        v: 1,
        type,
        room,
        source,
        name,
        ts: Date.now(),
        video: null,
        audio: { codec: 'opus', sampleRate: 48_000, channels: 1, frameDurationMs: 20 },
      }),
    );
  };
  presence('join');
  const heartbeat = setInterval(() => presence('heartbeat'), 1_000);
  let seq = 0;
  const start = performance.now();
  const tick = (): void => {
    while (seq * 20 <= performance.now() - start) {
      const payload = packets[seq % packets.length];
      if (!payload) return;
      nc.publish(
        audioSubject(room, source),
        encodeEnvelope({
          kind: 'audio',
          source,
          seq,
          captureTimeUs: Date.now() * 1000,
          codec: 'opus',
          sampleRate: 48_000,
          channels: 1,
          durationUs: 20_000,
          payload,
        }),
      );
      seq++;
    }
  };
  const timer = setInterval(tick, 5);
  return () => {
    clearInterval(timer);
    clearInterval(heartbeat);
    presence('leave');
  };
}
