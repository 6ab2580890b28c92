import type { NatsConnection } from '@nats-io/transport-node';
import { encodeEnvelope, encodeLevelsEnvelope, mixAudioSubject, mixLevelsSubject } from '@vidchat/protocol';

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
