import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { decodeEnvelope, encodeEnvelope, videoSubject, type VideoEnvelope } from '@vidchat/protocol';
import { NatsServer, startNatsFixture, type NatsFixture } from '../src/index.js';

let nats: NatsFixture;
let nc: NatsConnection;

before(async () => {
  nats = await startNatsFixture();
  nc = await connect({ servers: nats.url });
});
after(async () => {
  await nc?.close();
  await nats?.stop();
});

test('an envelope published to a real nats-server arrives byte for byte', async () => {
  const subject = videoSubject('fixture', 'cam');
  const sub = nc.subscribe(subject, { max: 1 });
  const env: VideoEnvelope = {
    kind: 'video',
    source: 'cam',
    seq: 7,
    captureTimeUs: Date.now() * 1000,
    width: 640,
    height: 360,
    codec: 'jpeg',
    layer: 0,
    payload: new Uint8Array(20_000).map((_, i) => i & 0xff),
  };
  const bytes = encodeEnvelope(env);
  nc.publish(subject, bytes);
  // The loop ends after one message (max: 1), or never: the count below
  // makes a subscription that closes empty a failure, not a pass.
  let received = 0;
  for await (const msg of sub) {
    received++;
    assert.deepEqual(new Uint8Array(msg.data), bytes);
    const back = decodeEnvelope(msg.data);
    assert.equal(back.kind, 'video');
    assert.equal(back.seq, 7);
    assert.deepEqual(new Uint8Array(back.payload), env.payload);
  }
  assert.equal(received, 1, 'the published envelope never arrived');
});

test('the fixture started a server on a random loopback port (not 4222)', () => {
  if (nats.via === 'nats-server') {
    assert.ok(nats.server);
    assert.notEqual(nats.server.port, 4222);
    assert.match(nats.url, /^nats:\/\/127\.0\.0\.1:\d+$/);
  } else {
    assert.ok(nats.url.length > 0);
  }
});

test('a server started with jetstream answers the JetStream API; the default one does not', async () => {
  const js = await NatsServer.start({ jetstream: true });
  const plain = await NatsServer.start();
  const jsNc = await connect({ servers: js.url });
  const plainNc = await connect({ servers: plain.url });
  try {
    // `$JS.API.INFO` is the account-info request every JetStream client starts with.
    const info = JSON.parse(
      new TextDecoder().decode((await jsNc.request('$JS.API.INFO', '', { timeout: 5_000 })).data),
    ) as {
      type?: string;
    };
    assert.equal(info.type, 'io.nats.jetstream.api.v1.account_info_response');
    await assert.rejects(plainNc.request('$JS.API.INFO', '', { timeout: 1_000 }));
  } finally {
    await jsNc.close();
    await plainNc.close();
    await js.stop();
    await plain.stop();
  }
});
