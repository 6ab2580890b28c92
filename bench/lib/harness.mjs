// The fixed parts of a media bench: a real nats-server and the publisher
// (4 cameras × 30 fps), started once and shared by every measurement.
import { fileURLToPath } from 'node:url';
import { NatsServer } from '@vidchat/test-support';
import { forkWorker, onCleanup } from './procs.mjs';

const PUBLISHER = fileURLToPath(new URL('./publisher.mjs', import.meta.url));
export const BENCH_ROOM = 'bench';
export const CAMERAS = 4;
export const FPS = 30;

/** Starts nats-server (+ the publisher unless `publish: false`); `stop()` ends both. */
export async function startHarness({ publish = true } = {}) {
  const nats = await NatsServer.start();
  const unregisterNats = onCleanup(() => nats.stop());
  let publisher = null;
  if (publish) {
    publisher = forkWorker(
      PUBLISHER,
      ['--nats', nats.url, '--room', BENCH_ROOM, '--cams', String(CAMERAS), '--fps', String(FPS)],
      { label: 'publisher' },
    );
    await publisher.waitEvent('ready', 30_000);
  }
  return {
    natsUrl: nats.url,
    room: BENCH_ROOM,
    /** Video frames and bytes published so far. */
    async published() {
      if (!publisher) return { video: 0, bytes: 0, skipped: 0 };
      return publisher.request('counts');
    },
    /** Video frames published with a capture time in [fromUs, toUs]. */
    async publishedBetween(fromUs, toUs) {
      if (!publisher) return 0;
      return (await publisher.request('countBetween', { fromUs, toUs })).video;
    },
    async stop() {
      if (publisher) await publisher.stop();
      unregisterNats();
      await nats.stop();
    },
  };
}
