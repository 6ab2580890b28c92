import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { jetstream, jetstreamManager, type JetStreamManager } from '@nats-io/jetstream';
import { setLogLevel } from '@vidchat/service-kit';
import {
  chatSubject,
  decodeChatRecord,
  encodeChatRecord,
  type ChatMessage,
  type ServerMessage,
} from '@vidchat/protocol';
import { NatsServer, sleep, waitFor } from '@vidchat/test-support';
import { createGateway, defaultConfig, type RunningGateway } from '../src/index.js';
import { isType, metric, TestViewer } from './helpers.js';

/*
 * Room chat on a real JetStream nats-server: several in-process gateways on
 * one broker, as in a scaled-out deployment.
 */

const chats = (v: TestViewer): ChatMessage[] => v.events.filter((e): e is ChatMessage => e.type === 'chat');
const errorCodes = (v: TestViewer): string[] =>
  v.events.filter((e): e is Extract<ServerMessage, { type: 'error' }> => e.type === 'error').map((e) => e.code);

async function waitChats(v: TestViewer, n: number, timeoutMs = 15_000): Promise<ChatMessage[]> {
  return waitFor(() => (chats(v).length >= n ? chats(v) : null), {
    timeoutMs,
    what: `${n} chat messages`,
    intervalMs: 10,
  });
}

describe('room chat across gateways (real JetStream)', { timeout: 240_000 }, () => {
  let nats: NatsServer;
  let nc: NatsConnection;
  let jsm: JetStreamManager;
  const gateways: RunningGateway[] = [];
  const viewers: TestViewer[] = [];
  const start = async (over: Parameters<typeof defaultConfig>[0] = {}, url = nats.url): Promise<RunningGateway> => {
    const gw = await createGateway(defaultConfig({ nats: url, port: 0, host: '127.0.0.1', ...over }));
    gateways.push(gw);
    await gw.natsReady;
    // Chat is ready once /healthz says so (the stream is set up after NATS connects).
    await waitFor(
      async () => {
        const body = (await (await fetch(`http://127.0.0.1:${gw.port}/healthz`)).json()) as {
          chat?: { state: string };
        };
        return body.chat?.state === 'ready' || (over.chatRetryMs !== undefined && body.chat?.state === 'unavailable')
          ? true
          : null;
      },
      { timeoutMs: 15_000, what: 'chat ready on /healthz' },
    );
    return gw;
  };
  const open = async (gw: RunningGateway): Promise<TestViewer> => {
    const v = await TestViewer.open(gw.port);
    viewers.push(v);
    return v;
  };
  const joined = async (gw: RunningGateway, room: string, name?: string): Promise<TestViewer> => {
    const v = await open(gw);
    v.send({ type: 'join', room, ...(name ? { name } : {}) });
    await v.waitEvent(isType('roster'));
    return v;
  };
  /** Stored messages of a room, read from the stream itself. */
  const stored = async (room: string): Promise<number> => {
    const info = await jsm.streams.info('VIDCHAT_CHAT', { subjects_filter: chatSubject(room) });
    return info.state.subjects?.[chatSubject(room)] ?? 0;
  };

  before(async () => {
    setLogLevel('warn');
    nats = await NatsServer.start({ jetstream: true });
    nc = await connect({ servers: nats.url, name: 'chat-test' });
    jsm = await jetstreamManager(nc);
  });

  after(async () => {
    for (const v of viewers) v.close();
    for (const g of gateways) await g.close();
    await nc?.close();
    await nats?.stop();
  });

  it('creates the stream with the per-room limits at start', async () => {
    await start();
    const info = await jsm.streams.info('VIDCHAT_CHAT');
    assert.deepEqual(info.config.subjects, ['vidchat.chat.*']);
    assert.equal(info.config.max_msgs_per_subject, 100);
    assert.equal(info.config.max_age, 86_400 * 1e9);
  });

  it('a message sent on one gateway reaches viewers on another, stamped with the sender name', async () => {
    const a = await start();
    const b = await start();
    const alice = await joined(a, 'two-gw', 'Alice');
    const bob = await joined(b, 'two-gw');
    alice.send({ type: 'chat', text: '  can you hear me?  ' });
    const [got] = await waitChats(bob, 1);
    assert.equal(got!.text, 'can you hear me?');
    assert.equal(got!.name, 'Alice');
    assert.equal(got!.history, undefined);
    assert.ok(Math.abs(got!.ts - Date.now()) < 60_000);
    // The sender sees its own message too, with the same id.
    assert.equal((await waitChats(alice, 1))[0]!.id, got!.id);
    // A viewer without a name speaks as viewer-xxxx.
    bob.send({ type: 'chat', text: 'yes' });
    const fromBob = (await waitChats(alice, 2))[1]!;
    assert.match(fromBob.name, /^viewer-[0-9a-f]{4}$/);
  });

  it('keeps history across a gateway restart: a new viewer gets it first, oldest first, marked history', async () => {
    const a = await start();
    const v = await joined(a, 'restart', 'Ann');
    for (const text of ['one', 'two', 'three']) v.send({ type: 'chat', text });
    await waitChats(v, 3);
    await a.close();
    const c = await start();
    const late = await joined(c, 'restart');
    const got = await waitChats(late, 3);
    assert.deepEqual(
      got.map((m) => [m.text, m.history]),
      [
        ['one', true],
        ['two', true],
        ['three', true],
      ],
    );
    // Then live messages, not marked.
    const other = await joined(c, 'restart');
    other.send({ type: 'chat', text: 'four' });
    const after = await waitChats(late, 4);
    assert.deepEqual([after[3]!.text, after[3]!.history], ['four', undefined]);
  });

  it('keeps rooms apart', async () => {
    const a = await start();
    const inX = await joined(a, 'iso-x');
    const inY = await joined(a, 'iso-y');
    inX.send({ type: 'chat', text: 'for x only' });
    await waitChats(inX, 1);
    inY.send({ type: 'chat', text: 'for y only' });
    await waitChats(inY, 1);
    await sleep(300);
    assert.deepEqual(
      chats(inX).map((m) => m.text),
      ['for x only'],
    );
    assert.deepEqual(
      chats(inY).map((m) => m.text),
      ['for y only'],
    );
  });

  it('refuses bad chat with an error to the sender, publishes nothing, counts it, keeps the socket', async () => {
    const gw = await start();
    const v = await open(gw);
    v.send({ type: 'chat', text: 'before join' });
    await v.waitEvent(isType('error', (e) => e.code === 'not-joined'));
    v.send({ type: 'join', room: 'edge' });
    await v.waitEvent(isType('roster'));
    v.send({ type: 'chat', text: '   ' });
    await v.waitEvent(isType('error', (e) => e.code === 'chat-empty'));
    v.send({ type: 'chat', text: 'x'.repeat(2_001) });
    await v.waitEvent(isType('error', (e) => e.code === 'chat-too-long'));
    v.send({ type: 'chat', text: 'y'.repeat(2_000) });
    await waitChats(v, 1);
    // Burst 5, one of it spent: four more pass at once, the next ones are refused.
    for (let i = 0; i < 6; i++) v.send({ type: 'chat', text: `burst ${i}` });
    await v.waitEvent(isType('error', (e) => e.code === 'chat-rate-limited'));
    await waitChats(v, 5);
    await sleep(300);
    const n = chats(v).length;
    assert.ok(n >= 5 && n <= 6, `${n} chat messages got through (a refill may add one on a slow machine)`);
    assert.equal(await stored('edge'), n);
    assert.deepEqual(errorCodes(v).slice(0, 3), ['not-joined', 'chat-empty', 'chat-too-long']);
    assert.equal(v.ws.readyState, v.ws.OPEN);
    assert.ok((await metric(gw.port, 'vidchat_gateway_invalid_messages_total', { reason: 'chat-empty' })) >= 1);
    assert.ok((await metric(gw.port, 'vidchat_gateway_invalid_messages_total', { reason: 'chat-too-long' })) >= 1);
    assert.ok((await metric(gw.port, 'vidchat_gateway_invalid_messages_total', { reason: 'chat-rate-limited' })) >= 1);
    assert.ok((await metric(gw.port, 'vidchat_gateway_invalid_messages_total', { reason: 'chat-not-joined' })) >= 1);
  });

  it('delivers every message exactly once, in order, to viewers that join while messages flow (the seam)', async () => {
    const room = 'seam';
    const total = 150;
    const js = jetstream(nc);
    const b = await start();
    const c = await start();
    const publishing = (async () => {
      for (let i = 0; i < total; i++) {
        const id = `m-${i}`;
        const rec = { v: 1 as const, id, room, name: 'bot', from: 'viewer' as const, text: String(i), ts: Date.now() };
        await js.publish(chatSubject(room), encodeChatRecord(rec), { msgID: id });
        if (i % 10 === 0) await sleep(15);
      }
    })();
    const joiners: TestViewer[] = [];
    for (let k = 0; k < 8; k++) {
      joiners.push(await joined(k % 2 === 0 ? b : c, room));
      await sleep(20 + k * 10);
    }
    await publishing;
    for (const v of joiners) {
      const got = await waitFor(() => (chats(v).at(-1)?.text === String(total - 1) ? chats(v) : null), {
        timeoutMs: 20_000,
        what: 'the last message',
      });
      const numbers = got.map((m) => Number(m.text));
      const first = numbers[0]!;
      assert.deepEqual(
        numbers,
        Array.from({ length: total - first }, (_, i) => first + i),
        'consecutive, no duplicate, no gap',
      );
      // History (if any) comes strictly before live.
      const firstLive = got.findIndex((m) => m.history !== true);
      assert.ok(got.slice(firstLive === -1 ? got.length : firstLive).every((m) => m.history !== true));
    }
  });

  it('raises and lowers a hand for the whole room, across gateways, and lowers it when the viewer goes', async () => {
    const a = await start();
    const b = await start();
    const raiser = await joined(a, 'hands', 'Hana');
    const watcher = await joined(b, 'hands');
    raiser.send({ type: 'hand', raised: true });
    const up = await watcher.waitEvent(isType('hand', (e) => e.raised));
    assert.equal(up.name, 'Hana');
    // A later joiner on that gateway learns the raised hand.
    const late = await joined(b, 'hands');
    await late.waitEvent(isType('hand', (e) => e.raised && e.who === up.who));
    raiser.close();
    await watcher.waitEvent(isType('hand', (e) => !e.raised && e.who === up.who));
  });

  it('a participant chats as a participant and raises its hand as its own source id', async () => {
    const gw = await start();
    const p = await open(gw);
    p.send({ type: 'join', room: 'part-chat', publish: true, name: 'Pia' });
    const roster = await p.waitEvent(isType('roster'));
    assert.ok(roster.self, 'a participant gets its source id');
    const watcher = await joined(gw, 'part-chat');
    p.send({ type: 'chat', text: 'from the camera' });
    const [got] = await waitChats(watcher, 1);
    assert.equal(got?.name, 'Pia');
    // The stored record says who sent it: read the room's last message from the stream.
    const last = await jsm.streams.getMessage('VIDCHAT_CHAT', { last_by_subj: chatSubject('part-chat') });
    assert.ok(last, 'the message is stored');
    assert.equal(decodeChatRecord(last.data).from, 'participant');
    p.send({ type: 'hand', raised: true });
    const up = await watcher.waitEvent(isType('hand', (e) => e.raised));
    // The source id, so that the people list and the tile find the participant.
    assert.equal(up.who, roster.self);
    assert.equal(up.name, 'Pia');
  });

  it('enforces the per-room history limit in the stream (last N kept)', async () => {
    // Last: it lowers the shared stream's limit.
    const gw = await start({ chatHistory: 3, chatPerSecond: 100, chatBurst: 100 });
    const v = await joined(gw, 'limit');
    // One at a time: a burst larger than the limit could be trimmed before
    // even the live consumer reads it (see ChatRoomFeed).
    for (let i = 1; i <= 5; i++) {
      v.send({ type: 'chat', text: `m${i}` });
      await waitChats(v, i);
    }
    assert.equal(await stored('limit'), 3);
    v.ws.close();
    await v.closed;
    const late = await joined(gw, 'limit');
    const got = await waitChats(late, 3);
    await sleep(200);
    assert.deepEqual(
      chats(late).map((m) => m.text),
      ['m3', 'm4', 'm5'],
    );
    assert.ok(got.every((m) => m.history === true));
  });
});

describe('chat without JetStream', { timeout: 60_000 }, () => {
  it('serves video, says chat is unavailable on /healthz, and answers chat with chat-unavailable', async () => {
    setLogLevel('error');
    const plain = await NatsServer.start();
    const gw = await createGateway(defaultConfig({ nats: plain.url, port: 0, host: '127.0.0.1', chatRetryMs: 500 }));
    try {
      await gw.natsReady;
      const health = await waitFor(
        async () => {
          const res = await fetch(`http://127.0.0.1:${gw.port}/healthz`);
          const body = (await res.json()) as { status: string; chat: { state: string; reason?: string } };
          return body.chat.state === 'unavailable' ? { status: res.status, body } : null;
        },
        { timeoutMs: 20_000, what: 'chat unavailable on /healthz' },
      );
      assert.equal(health.status, 200);
      assert.equal(health.body.status, 'ok');
      assert.ok(health.body.chat.reason);
      const v = await TestViewer.open(gw.port);
      v.send({ type: 'join', room: 'nojs' });
      await v.waitEvent(isType('roster'));
      v.send({ type: 'chat', text: 'hello?' });
      await v.waitEvent(isType('error', (e) => e.code === 'chat-unavailable'));
      assert.equal(v.ws.readyState, v.ws.OPEN);
      v.close();
    } finally {
      await gw.close();
      await plain.stop();
    }
  });
});
