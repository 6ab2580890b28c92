import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { MediaSender, WS_OPEN, type SenderSocket } from '../src/viewers/media-sender.js';
import type { DropReason } from '../src/metrics/gateway-metrics.js';

/** A socket whose buffer the test fills and drains by hand. */
class TestSocket implements SenderSocket {
  bufferedAmount = 0;
  readyState = WS_OPEN;
  readonly sent: Uint8Array[] = [];
  send(data: Uint8Array): void {
    this.sent.push(data);
    this.bufferedAmount += data.length;
  }
}

function setup(limits: Partial<ConstructorParameters<typeof MediaSender>[1]> = {}) {
  const socket = new TestSocket();
  const drops: DropReason[] = [];
  let bytes = 0;
  const clock = { ms: 0 };
  const sender = new MediaSender(
    socket,
    {
      videoHighWaterBytes: 100,
      audioHighWaterBytes: 1000,
      audioQueuePackets: 3,
      audioMaxAgeMs: 300,
      drainPollMs: 1_000,
      ...limits,
    },
    { sent: (n) => (bytes += n), drop: (r, n = 1) => drops.push(...Array<DropReason>(n).fill(r)) },
    () => clock.ms,
  );
  return { socket, drops, sender, clock, bytes: () => bytes };
}

const frame = (tag: number, size = 60): Uint8Array => new Uint8Array(size).fill(tag);

describe('MediaSender', () => {
  it('sends at once while the socket is below the high-water mark, sharing the caller buffer', () => {
    const { socket, sender, bytes } = setup();
    const f = frame(1);
    sender.video('a', f);
    assert.equal(socket.sent[0], f);
    assert.equal(bytes(), 60);
  });

  it('keeps only the newest frame per source while the socket is full, counting the rest', () => {
    const { socket, sender, drops } = setup();
    sender.video('a', frame(1)); // buffered 60
    sender.video('a', frame(2)); // buffered 120 > 100 after this one
    sender.video('a', frame(3)); // waits
    sender.video('b', frame(10)); // waits
    sender.video('a', frame(4)); // replaces 3
    sender.video('a', frame(5)); // replaces 4
    assert.deepEqual(
      socket.sent.map((s) => s[0]),
      [1, 2],
    );
    assert.deepEqual(drops, ['video-superseded', 'video-superseded']);
    assert.equal(sender.pending, 2);
    socket.bufferedAmount = 0;
    sender.flush();
    // Oldest waiting source first; both fit after a full drain (60 + 60 > 100 stops after the second).
    assert.deepEqual(
      socket.sent.map((s) => s[0]),
      [1, 2, 10, 5],
    );
    assert.equal(sender.pending, 0);
    sender.close();
  });

  it('queues audio past its larger mark and drops the oldest only when the queue is full', () => {
    const { socket, sender, drops } = setup();
    socket.bufferedAmount = 5_000;
    for (let i = 1; i <= 5; i++) sender.audio(frame(i, 10));
    assert.deepEqual(drops, ['audio-overflow', 'audio-overflow']);
    assert.equal(socket.sent.length, 0);
    socket.bufferedAmount = 0;
    sender.flush();
    assert.deepEqual(
      socket.sent.map((s) => s[0]),
      [3, 4, 5],
    );
    sender.close();
  });

  it('keeps audio flowing while video is held back', () => {
    const { socket, sender } = setup();
    socket.bufferedAmount = 500; // above video's mark, below audio's
    sender.video('a', frame(1));
    sender.audio(frame(2, 10));
    assert.deepEqual(
      socket.sent.map((s) => s[0]),
      [2],
    );
    sender.close();
  });

  it('bounds what a stalled viewer holds, however many frames arrive', () => {
    const { socket, sender, drops } = setup();
    socket.bufferedAmount = 1e9;
    for (let i = 0; i < 10_000; i++) {
      sender.video(`s${i % 4}`, frame(i % 256));
      sender.audio(frame(0, 10));
    }
    assert.equal(sender.pending, 4 + 3);
    assert.equal(drops.length, 10_000 - 4 + 10_000 - 3);
    sender.close();
    assert.equal(sender.pending, 0);
  });

  it('drains on its own timer once the socket empties', async () => {
    const { socket, sender } = setup({ drainPollMs: 5 });
    socket.bufferedAmount = 1e9;
    sender.video('a', frame(7));
    socket.bufferedAmount = 0;
    await new Promise((r) => setTimeout(r, 50));
    assert.deepEqual(
      socket.sent.map((s) => s[0]),
      [7],
    );
    sender.close();
  });

  it('knows the age of the oldest byte still buffered from its write log', () => {
    const { socket, sender, clock } = setup({ videoHighWaterBytes: 10_000 });
    sender.video('a', frame(1, 100)); // bytes 0…99 at t=0
    clock.ms = 100;
    sender.video('b', frame(2, 100)); // bytes 100…199 at t=100
    clock.ms = 250;
    assert.equal(sender.backlogAgeMs(), 250, 'all 200 bytes buffered: the oldest was written at 0');
    socket.bufferedAmount = 150; // 50 bytes left: the first write is still partly buffered
    assert.equal(sender.backlogAgeMs(), 250);
    socket.bufferedAmount = 100; // exactly the second write is left
    assert.equal(sender.backlogAgeMs(), 150);
    socket.bufferedAmount = 0;
    assert.equal(sender.backlogAgeMs(), 0);
    sender.close();
  });

  it('holds audio while the backlog is older than the limit, drops waiting audio past it, sends the newest', () => {
    const { socket, sender, clock, drops } = setup({ videoHighWaterBytes: 10_000, audioQueuePackets: 100 });
    sender.video('a', frame(1, 500)); // t=0: a big frame the viewer does not read
    // Audio every 20 ms: it goes out while the backlog is at most 300 ms old.
    for (let t = 20; t <= 400; t += 20) {
      clock.ms = t;
      sender.audio(frame(t / 20, 10));
    }
    // t=20…300 went out (15 packets); t=320…400 (5 packets) wait behind the 320-ms-old backlog.
    assert.equal(socket.sent.length, 1 + 15);
    assert.equal(sender.pending, 5);
    // The viewer reads everything up to the t=300 packet 240 ms later; what waited since 320 is now 220 ms old.
    clock.ms = 540;
    socket.bufferedAmount = 0;
    sender.flush();
    assert.deepEqual(drops, []);
    assert.deepEqual(
      socket.sent.slice(16).map((s) => s[0]),
      [16, 17, 18, 19, 20],
    );
    // Stalled again from t=540 on: the socket never drains, so what went out at 540 stays the oldest byte.
    for (let t = 560; t <= 1_000; t += 20) {
      clock.ms = t;
      sender.audio(frame(t / 20, 10));
    }
    // 560…840 went out (the backlog at most 300 ms old); 860…1000 (8 packets) wait.
    assert.equal(socket.sent.length, 16 + 5 + 15);
    assert.equal(sender.pending, 8);
    clock.ms = 1_200;
    sender.flush();
    assert.deepEqual(drops, ['audio-stale', 'audio-stale'], '860 and 880 are over 300 ms old; 900 is exactly 300');
    assert.equal(sender.pending, 6);
    assert.equal(socket.sent.length, 36, 'and nothing more went into the stale backlog');
    sender.close();
  });

  it('holds video while the backlog is older than the audio limit, so audio stays first', () => {
    const { socket, sender, clock } = setup({ videoHighWaterBytes: 10_000 });
    sender.video('a', frame(1, 50)); // t=0, unread
    clock.ms = 301;
    sender.video('a', frame(2, 50)); // the backlog is 301 ms old: this frame waits, latest-frame-wins
    assert.equal(socket.sent.length, 1);
    assert.equal(sender.pending, 1);
    socket.bufferedAmount = 0;
    sender.flush();
    assert.deepEqual(
      socket.sent.map((s) => s[0]),
      [1, 2],
    );
    sender.close();
  });

  it('sends nothing on a socket that is not open, and counts it', () => {
    const { socket, sender, drops } = setup();
    socket.readyState = 3;
    sender.video('a', frame(1));
    sender.audio(frame(1));
    assert.equal(socket.sent.length, 0);
    assert.deepEqual(drops, ['not-open', 'not-open']);
  });
});
