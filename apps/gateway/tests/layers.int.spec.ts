import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { NatsConnection } from '@nats-io/transport-node';
import { decodeEnvelope } from '@vidchat/protocol';
import { NatsServer, sleep, startApp, waitFor, type RunningProcess } from '@vidchat/test-support';
import { FakeSource, makeJpeg, metric, natsClient, TestViewer } from './helpers.js';

/*
 * Video layers through the gateway (child process, real NATS, `ws` viewers):
 * a viewer gets layer 0 by default, `{"type":"layer"}` switches or pauses
 * one source for that viewer alone, a layer above 0 is subscribed only while
 * someone wants it, and snapshot / MJPEG take `?layer=`.
 */

const LAYERS = [
  { layer: 0, width: 64, height: 48, fps: 10 },
  { layer: 1, width: 32, height: 24, fps: 10 },
];

/** The (source, layer) of each video envelope a viewer received, in order. */
function videos(v: TestViewer): { source: string; layer: number; bytes: Buffer }[] {
  return v.binaries.flatMap((bytes) => {
    const env = decodeEnvelope(bytes);
    return env.kind === 'video' ? [{ source: env.source, layer: env.layer, bytes }] : [];
  });
}

describe('gateway video layers', { timeout: 120_000 }, () => {
  let nats: NatsServer;
  let proc: RunningProcess;
  let port = 0;
  let nc: NatsConnection;
  let camA: FakeSource;
  let camB: FakeSource;
  const big = makeJpeg('64x48');
  const small = makeJpeg('32x24');
  const viewers: TestViewer[] = [];
  const layerSubs = (): Promise<number> => metric(port, 'vidchat_gateway_layer_subscriptions');

  /** Publishes both layers of both sources once; returns the envelopes by `source/layer`. */
  const publishAll = (): Map<string, Buffer> => {
    const out = new Map<string, Buffer>();
    for (const cam of [camA, camB]) {
      out.set(`${cam.id}/0`, Buffer.from(cam.videoLayer(0, big, 64, 48)));
      out.set(`${cam.id}/1`, Buffer.from(cam.videoLayer(1, small, 32, 24)));
    }
    return out;
  };

  before(async () => {
    nats = await NatsServer.start();
    proc = startApp('gateway', ['--nats', nats.url, '--port', '0', '--host', '127.0.0.1']);
    port = Number((await proc.waitForOutput(/viewer at http:\/\/[^\s]+:(\d+)\//))[1]);
    nc = await natsClient(nats.url);
    camA = new FakeSource(nc, 'lay', 'camA', { layers: LAYERS });
    camB = new FakeSource(nc, 'lay', 'camB', { layers: LAYERS });
    camA.startHeartbeats();
    camB.startHeartbeats();
    await waitFor(
      async () => {
        const body = (await (await fetch(`http://127.0.0.1:${port}/api/rooms/lay/sources`)).json()) as {
          sources: { layers?: unknown }[];
        };
        return body.sources.length === 2 && body.sources.every((s) => Array.isArray(s.layers));
      },
      { what: 'both sources with their layers' },
    );
  });

  after(async () => {
    camA?.stopHeartbeats();
    camB?.stopHeartbeats();
    for (const v of viewers) v.close();
    await nc?.close();
    await proc?.stop();
    await nats?.stop();
  });

  it('lists each source’s layers in the roster', async () => {
    const v = await TestViewer.open(port);
    viewers.push(v);
    const roster = await v.join('lay');
    for (const s of roster.sources) assert.deepEqual(s.layers, LAYERS);
    v.close();
  });

  it('switches and pauses exactly one source for one viewer', async () => {
    const a = await TestViewer.open(port);
    const b = await TestViewer.open(port);
    viewers.push(a, b);
    await a.join('lay');
    await b.join('lay');

    // Default: layer 0 of everything, and layer 1 is not even subscribed.
    assert.equal(await layerSubs(), 0);
    let sent = publishAll();
    await waitFor(() => videos(a).length >= 2 && videos(b).length >= 2, { what: 'layer 0 to both viewers' });
    await sleep(300);
    for (const v of [a, b]) {
      assert.deepEqual(
        videos(v)
          .map((f) => `${f.source}/${f.layer}`)
          .sort(),
        ['camA/0', 'camB/0'],
      );
    }

    // A asks camA's layer 1: subscribed, and only A's camA changes.
    a.send({ type: 'layer', source: 'camA', layer: 1 });
    await waitFor(async () => (await layerSubs()) === 1, { what: 'layer 1 subscribed' });
    a.binaries.length = 0;
    b.binaries.length = 0;
    sent = publishAll();
    await waitFor(() => videos(a).length >= 2 && videos(b).length >= 2, { what: 'frames after the switch' });
    await sleep(300);
    assert.deepEqual(
      videos(a)
        .map((f) => `${f.source}/${f.layer}`)
        .sort(),
      ['camA/1', 'camB/0'],
    );
    assert.deepEqual(
      videos(b)
        .map((f) => `${f.source}/${f.layer}`)
        .sort(),
      ['camA/0', 'camB/0'],
    );
    assert.ok(
      videos(a)
        .find((f) => f.source === 'camA')!
        .bytes.equals(sent.get('camA/1')!),
      'bytes forwarded as is',
    );

    // Back to layer 0: the latest layer-0 frame comes at once, without a new publish.
    a.binaries.length = 0;
    a.send({ type: 'layer', source: 'camA', layer: 0 });
    await waitFor(() => videos(a).length >= 1, { what: 'the latest layer-0 frame at once' });
    assert.ok(videos(a)[0]!.bytes.equals(sent.get('camA/0')!));
    await waitFor(async () => (await layerSubs()) === 0, { what: 'layer 1 unsubscribed when nobody wants it' });

    // A pauses camA: A gets camB only, B still gets both.
    a.send({ type: 'layer', source: 'camA', layer: null });
    await sleep(300);
    a.binaries.length = 0;
    b.binaries.length = 0;
    for (let i = 0; i < 3; i++) {
      sent = publishAll();
      await sleep(50);
    }
    await waitFor(() => videos(b).length >= 6 && videos(a).length >= 3, { what: 'frames while paused' });
    await sleep(300);
    assert.deepEqual([...new Set(videos(a).map((f) => `${f.source}/${f.layer}`))], ['camB/0']);
    assert.deepEqual([...new Set(videos(b).map((f) => `${f.source}/${f.layer}`))].sort(), ['camA/0', 'camB/0']);

    // Shown again: the latest frame at once.
    a.binaries.length = 0;
    a.send({ type: 'layer', source: 'camA', layer: 0 });
    await waitFor(() => videos(a).some((f) => f.source === 'camA'), { what: 'camA again' });
    assert.ok(
      videos(a)
        .find((f) => f.source === 'camA')!
        .bytes.equals(sent.get('camA/0')!),
    );
    a.close();
    b.close();
  });

  it('drops a viewer’s layer interest when it leaves, and rejects a bad layer', async () => {
    const a = await TestViewer.open(port);
    viewers.push(a);
    await a.join('lay');
    a.send({ type: 'layer', source: 'camB', layer: 1 });
    await waitFor(async () => (await layerSubs()) === 1, { what: 'layer 1 subscribed' });
    a.send({ type: 'leave' });
    await waitFor(async () => (await layerSubs()) === 0, { what: 'layer 1 released on leave' });
    a.send({ type: 'layer', source: 'camB', layer: 2 });
    const closed = await a.closed;
    assert.equal(closed.code, 1008);
  });

  it('serves snapshots and MJPEG of the layer `?layer=` names', async () => {
    const base = `http://127.0.0.1:${port}/api/rooms/lay/sources/camA`;
    const bad = await fetch(`${base}/snapshot.jpg?layer=7`);
    assert.equal(bad.status, 400);
    assert.equal(((await bad.json()) as { error: string }).error, 'bad-layer');
    // A snapshot of layer 1 waits (holding interest in the layer) for its next frame.
    const pending = fetch(`${base}/snapshot.jpg?layer=1`);
    await waitFor(async () => (await layerSubs()) === 1, { what: 'layer 1 subscribed for the snapshot' });
    camA.videoLayer(1, small, 32, 24);
    const snap = await pending;
    assert.equal(snap.status, 200);
    assert.ok(Buffer.from(await snap.arrayBuffer()).equals(Buffer.from(small)));
    await waitFor(async () => (await layerSubs()) === 0, { what: 'snapshot let go of layer 1' });

    const ac = new AbortController();
    const res = await fetch(`${base}/stream.mjpeg?layer=1`, { signal: ac.signal });
    assert.equal(res.status, 200);
    await waitFor(async () => (await layerSubs()) === 1, { what: 'layer 1 subscribed for MJPEG' });
    const reader = res.body!.getReader();
    let text = Buffer.alloc(0);
    const pump = (async () => {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) return;
        text = Buffer.concat([text, Buffer.from(value)]);
      }
    })().catch(() => undefined);
    for (let i = 0; i < 3; i++) {
      camA.videoLayer(0, big, 64, 48);
      camA.videoLayer(1, small, 32, 24);
      await sleep(50);
    }
    await waitFor(() => text.includes(Buffer.from(small)), { what: 'a layer-1 JPEG in the MJPEG stream' });
    assert.ok(!text.includes(Buffer.from(big)), 'no layer-0 JPEG in a layer-1 stream');
    ac.abort();
    await pump;
    await waitFor(async () => (await layerSubs()) === 0, { what: 'MJPEG let go of layer 1' });
  });
});
