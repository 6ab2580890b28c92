import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import type { Browser, Page } from 'playwright-core';
import {
  decodeEnvelope,
  decodePresence,
  mixAudioSubject,
  presenceSubject,
  tryParseSubject,
  videoLayerSubject,
  wildcards,
  type PresenceMessage,
} from '@vidchat/protocol';
import {
  launchChromium,
  REPO_ROOT,
  sleep,
  startApp,
  startNatsFixture,
  toneAmplitude,
  waitFor,
  writeToneWav,
  type NatsFixture,
  type RunningProcess,
} from '@vidchat/test-support';
import { loadLibopus } from './support/libopus-node.js';
import { hooks, watchConsole, type Hooks, type ParticipantView } from './support/page-hooks.js';

/*
 * Joining from the browser, end to end: headless Chromium with a fake camera
 * and a fake microphone playing a known tone (a WAV made by ffmpeg), the real
 * gateway, the real mixer and a real nats-server. The mixes are checked where
 * the mixer publishes them: this process subscribes to the room mix and to
 * every mix-minus and decodes the Opus with the page's libopus; Goertzel says
 * which participant's tone is in which stream.
 */

const ROOM = 'joins';
const ARTIFACTS = join(REPO_ROOT, 'test-artifacts');
/** Alice's and Bob's tones: far apart and not harmonics of each other. */
const ALICE_HZ = 880;
const BOB_HZ = 1_320;
/** A host name for this machine that is not localhost (mapped in the test browser). */
const LAN_HOST = 'lan.test';
/** A tone counts as present above this amplitude (full scale 1; the fake microphones play ~0.25 after processing). */
const PRESENT = 0.02;

/** Chromium with a fake camera, and a fake microphone playing `wav` in a loop. */
function launchWithFakeDevices(wav: string, extra: string[] = []): Promise<Browser> {
  return launchChromium({
    args: [
      '--use-fake-device-for-media-stream',
      '--use-fake-ui-for-media-stream',
      `--use-file-for-fake-audio-capture=${wav}`,
      ...extra,
    ],
  });
}

interface Received {
  at: number;
  packet: Uint8Array;
}

/** Every mixedAudio packet the mixer publishes for the room: the mix, and each mix-minus by listener. */
class MixRecorder {
  readonly room: Received[] = [];
  readonly minus = new Map<string, Received[]>();

  constructor(nc: NatsConnection) {
    nc.subscribe(mixAudioSubject(ROOM), { callback: (_e, msg) => this.record(this.room, msg.data) });
    nc.subscribe(wildcards.roomMinus(ROOM), {
      callback: (_e, msg) => {
        const parsed = tryParseSubject(msg.subject);
        if (!parsed || parsed.scope !== 'mix' || parsed.track !== 'minus') return;
        const list = this.minus.get(parsed.source) ?? [];
        this.minus.set(parsed.source, list);
        this.record(list, msg.data);
      },
    });
  }

  private record(list: Received[], data: Uint8Array): void {
    const env = decodeEnvelope(data);
    if (env.kind !== 'mixedAudio' || env.payload.length === 0) return;
    list.push({ at: Date.now(), packet: env.payload.slice() });
    if (list.length > 3_000) list.splice(0, 1_000);
  }

  /**
   * Amplitudes of `tones` in each stream (the room mix, then each listener's
   * mix-minus) over the same last `ms`: one window for all, so that a gap in
   * a source (the mixer conceals it in every stream alike) cannot pass for
   * a tone missing from one stream only.
   */
  async window(ms: number, tones: number[], listeners: string[]): Promise<{ room: number[]; minus: number[][] }> {
    const from = Date.now() - ms;
    const room = await amplitudes('the room mix', this.room, from, ms, tones);
    const minus = await Promise.all(
      listeners.map((l) => amplitudes(`the mix-minus of ${l}`, this.minus.get(l) ?? [], from, ms, tones)),
    );
    return { room, minus };
  }
}

/** Decodes the packets received since `from` and measures `tones` in them. */
async function amplitudes(
  what: string,
  list: Received[],
  from: number,
  ms: number,
  tones: number[],
): Promise<number[]> {
  const picked = list.filter((r) => r.at >= from);
  assert.ok(picked.length >= (ms / 20) * 0.4, `only ${picked.length} packets of ${what} in the last ${ms} ms`);
  const decoder = (await loadLibopus()).decoder();
  const parts = picked.map((r) => decoder.decode(r.packet) ?? new Float32Array());
  decoder.close();
  const pcm = new Float32Array(parts.reduce((n, p) => n + p.length, 0));
  let off = 0;
  for (const p of parts) {
    pcm.set(p, off);
    off += p.length;
  }
  return tones.map((hz) => toneAmplitude(pcm, 48_000, hz));
}

/** What a tile says about its layer (src/tile.ts). */
interface TileLayerView {
  framesDrawn: number;
  layer: number | null;
  layerAsked: number | null;
  width: number;
}

async function participant(page: Page): Promise<ParticipantView | null> {
  return (await hooks(page))?.participant ?? null;
}

/** Waits until the page is a participant that sends video and audio; returns its hooks. */
function joined(page: Page, what: string): Promise<ParticipantView> {
  return waitFor(
    async () => {
      const p = await participant(page);
      return p?.state === 'joined' && p.self && (p.framesSent ?? 0) > 5 && (p.audioPacketsSent ?? 0) > 25 ? p : null;
    },
    { timeoutMs: 30_000, what },
  );
}

/** Time until `page` no longer has a tile for `source`, ms (fails after 3 s). */
async function timeUntilTileGone(page: Page, source: string, since: number): Promise<number> {
  await waitFor(async () => ((await hooks(page))?.tiles[source] === undefined ? true : null), {
    timeoutMs: 3_000,
    intervalMs: 50,
    what: `the tile of ${source} to go`,
  });
  return Date.now() - since;
}

/** The participant's source id now ('' when it has none). */
async function selfOf(page: Page): Promise<string> {
  return (await participant(page))?.self ?? '';
}

/**
 * Waits until `page` draws frames of `source`: an id, or a participant's page,
 * whose current id is read at each look (a participant that lost its socket
 * re-joins under a new id: the gateway ends a source with its socket).
 */
function liveTile(page: Page, source: string | Page, what: string): Promise<Hooks> {
  return waitFor(
    async () => {
      const id = typeof source === 'string' ? source : (await participant(source))?.self;
      const h = await hooks(page);
      return id && (h?.tiles[id]?.framesDrawn ?? 0) > 5 ? h : null;
    },
    { timeoutMs: 40_000, what },
  );
}

describe(
  'joining with camera and microphone (Chromium fake devices, real gateway, mixer, NATS)',
  { timeout: 300_000 },
  () => {
    let nats: NatsFixture;
    let gateway: RunningProcess;
    let mixer: RunningProcess;
    let nc: NatsConnection;
    let mixes: MixRecorder;
    let aliceBrowser: Browser;
    let bobBrowser: Browser;
    let baseUrl: string;
    let dir: string;

    before(async () => {
      mkdirSync(ARTIFACTS, { recursive: true });
      dir = mkdtempSync(join(tmpdir(), 'vidchat-join-'));
      writeToneWav(join(dir, 'alice.wav'), ALICE_HZ);
      writeToneWav(join(dir, 'bob.wav'), BOB_HZ);
      nats = await startNatsFixture();
      nc = await connect({ servers: nats.url });
      mixes = new MixRecorder(nc);
      await nc.flush();
      mixer = startApp('mixer', ['--nats', nats.url, '--status-interval-ms', '0']);
      await mixer.waitForOutput(/mixer started/, 30_000);
      gateway = startApp('gateway', ['--nats', nats.url, '--port', '0']);
      const m = await gateway.waitForOutput(/viewer at https?:\/\/\S+?:(\d+)/, 30_000);
      baseUrl = `http://127.0.0.1:${m[1]}`;
      // Alice's browser also resolves lan.test to this machine: a name that is not localhost, so not a secure context on http.
      aliceBrowser = await launchWithFakeDevices(join(dir, 'alice.wav'), [
        `--host-resolver-rules=MAP ${LAN_HOST} 127.0.0.1`,
        '--ignore-certificate-errors',
      ]);
      bobBrowser = await launchWithFakeDevices(join(dir, 'bob.wav'));
    });

    after(async () => {
      await aliceBrowser?.close();
      await bobBrowser?.close();
      await nc?.drain();
      await gateway?.stop();
      await mixer?.stop();
      await nats?.stop();
      if (dir) rmSync(dir, { recursive: true, force: true });
    });

    it(
      'a participant is seen live, heard in the mix but not in its own mix-minus, and silent when muted',
      { timeout: 150_000 },
      async () => {
        const viewer = await bobBrowser.newPage({ viewport: { width: 1280, height: 720 } });
        const viewerProblems = watchConsole(viewer);
        await viewer.goto(`${baseUrl}/?room=${ROOM}`);
        await waitFor(async () => (await hooks(viewer))?.state === 'live', { what: 'the viewer to be live' });

        const alice = await aliceBrowser.newPage({ viewport: { width: 1280, height: 720 } });
        const aliceProblems = watchConsole(alice);
        await alice.goto(`${baseUrl}/?room=${ROOM}&join=1&name=Alice`);
        const a = await joined(alice, 'Alice to join and send');
        const selfA = a.self ?? '';
        assert.equal(a.name, 'Alice');
        assert.equal(a.videoWidth, 640);
        assert.equal(a.videoHeight, 360);
        assert.equal(a.audioProblem, null);
        assert.match(a.statusText, /You are live as Alice/);

        // Another viewer sees Alice's live tile, named.
        const seen = await liveTile(viewer, alice, "Alice's tile on the viewer");
        const tileA = seen.tiles[await selfOf(alice)];
        assert.equal(tileA?.name, 'Alice');
        assert.ok((tileA?.latencyMs ?? Infinity) < 5_000, 'capture times are on the epoch');
        // Alice sees herself in the local preview only, never as a remote tile.
        const ah = await hooks(alice);
        assert.equal(ah?.tiles[await selfOf(alice)], undefined);
        assert.equal(await alice.locator('.local-tile').count(), 1);
        await waitFor(
          async () => alice.locator('.local-tile video').evaluate((v) => (v as HTMLVideoElement).readyState >= 2),
          { what: 'the local preview to play' },
        );
        await alice.screenshot({ path: join(ARTIFACTS, 'participant-alice.png') });

        const bob = await bobBrowser.newPage({ viewport: { width: 1280, height: 720 } });
        const bobProblems = watchConsole(bob);
        await bob.goto(`${baseUrl}/?room=${ROOM}&join=1&name=Bob`);
        const selfB = (await joined(bob, 'Bob to join and send')).self ?? '';
        assert.notEqual(selfB, selfA);
        await liveTile(bob, alice, "Alice's tile on Bob's page");
        await liveTile(alice, bob, "Bob's tile on Alice's page");

        // Both mix-minus streams flow; then two seconds of every stream are analysed.
        await waitFor(
          async () =>
            (mixes.minus.get(await selfOf(alice))?.length ?? 0) > 150 &&
            (mixes.minus.get(await selfOf(bob))?.length ?? 0) > 150,
          {
            timeoutMs: 20_000,
            what: 'the mix-minus of both participants',
          },
        );
        // On a loaded machine a participant's packets can arrive in bursts and the
        // mixer conceals the gaps: wait for a window in which every tone that
        // should be there is, then check in that same window that the others are not.
        const TONES = [ALICE_HZ, BOB_HZ];
        const heard = await waitFor(
          async () => {
            // The ids as they are now: on a starved machine the gateway may have dropped a
            // socket that missed its pings, and the page then re-joined under a new id.
            const w = await mixes.window(3_000, TONES, [await selfOf(alice), await selfOf(bob)]);
            const [roomA = 0, roomB = 0] = w.room;
            const [, minusAb = 0] = w.minus[0] ?? [];
            const [minusBa = 0] = w.minus[1] ?? [];
            return roomA > PRESENT && roomB > PRESENT && minusAb > PRESENT && minusBa > PRESENT ? w : null;
          },
          {
            timeoutMs: 30_000,
            intervalMs: 500,
            what: "both tones in the room mix, Bob's in Alice's minus, Alice's in Bob's",
          },
        ).catch(async (err: unknown) => {
          // What the streams did, to tell a starved mixer from a page that re-joined.
          const now = Date.now();
          const streams = [...mixes.minus].map(
            ([id, l]) => `${id}: ${l.length} packets, last ${now - (l.at(-1)?.at ?? 0)} ms ago`,
          );
          throw new Error(
            `${String(err)}; Alice is ${await selfOf(alice)}, Bob ${await selfOf(bob)}; room mix last ${now - (mixes.room.at(-1)?.at ?? 0)} ms ago; ${streams.join('; ')}\n${gateway
              .output()
              .split('\n')
              .filter((l) => /participant|left|joined/i.test(l))
              .slice(-10)
              .join('\n')}`,
            { cause: err },
          );
        });
        const [roomA = 0, roomB = 0] = heard.room;
        const [minusAa = 0] = heard.minus[0] ?? [];
        const [, minusBb = 0] = heard.minus[1] ?? [];
        const levels = JSON.stringify(heard);
        assert.ok(minusAa < roomA * 0.1, `Alice's tone is absent from her own mix-minus: ${levels}`);
        assert.ok(minusBb < roomB * 0.1, `Bob's tone is absent from his own mix-minus: ${levels}`);

        // Mute: Alice's tone leaves the room mix while Bob's stays; her packets keep flowing (silence).
        const before = (await participant(alice))?.audioPacketsSent ?? 0;
        await alice.getByRole('button', { name: 'Mute mic' }).click();
        assert.equal((await participant(alice))?.micMuted, true);
        assert.equal(await alice.locator('.local-tile .tile-mic-off').isVisible(), true);
        await sleep(1_000);
        await waitFor(
          async () => {
            const [mutedA = 1, stillB = 0] = (await mixes.window(2_000, TONES, [])).room;
            return mutedA < roomA * 0.05 && stillB > PRESENT;
          },
          { timeoutMs: 10_000, intervalMs: 500, what: "Alice's tone to leave the room mix when muted" },
        );
        assert.ok(
          ((await participant(alice))?.audioPacketsSent ?? 0) > before + 25,
          'a muted microphone still sends silence',
        );
        await alice.getByRole('button', { name: 'Unmute mic' }).click();
        assert.equal((await participant(alice))?.micMuted, false);

        // Camera off: the preview shows the name, frames stop, the tile stays.
        await alice.getByRole('button', { name: 'Camera off' }).click();
        await waitFor(async () => (await participant(alice))?.cameraOff === true, { what: 'camera off' });
        assert.equal((await alice.locator('.local-tile .local-placeholder').textContent()) ?? '', 'Alice');
        const sentOff = (await participant(alice))?.framesSent ?? 0;
        await sleep(1_000);
        assert.equal((await participant(alice))?.framesSent, sentOff, 'no frames are sent with the camera off');
        assert.ok((await hooks(viewer))?.tiles[await selfOf(alice)], "Alice's tile stays while her camera is off");
        await alice.screenshot({ path: join(ARTIFACTS, 'participant-camera-off.png') });
        await alice.getByRole('button', { name: 'Camera on' }).click();
        await waitFor(async () => ((await participant(alice))?.framesSent ?? 0) > sentOff + 5, {
          timeoutMs: 15_000,
          what: 'frames again with the camera on',
        });

        // Another microphone from the picker: the packets go on from it.
        const micIds = await alice
          .locator('#mic-select option')
          .evaluateAll((options) => options.map((o) => (o as HTMLOptionElement).value));
        const current = (await participant(alice))?.microphoneId;
        const other = micIds.find((id) => id !== current && id !== 'default');
        assert.ok(other, `another fake microphone among ${JSON.stringify(micIds)}`);
        await alice.selectOption('#mic-select', other);
        await waitFor(async () => (await participant(alice))?.microphoneId === other, { what: 'the other microphone' });
        const sentBefore = (await participant(alice))?.audioPacketsSent ?? 0;
        await waitFor(async () => ((await participant(alice))?.audioPacketsSent ?? 0) > sentBefore + 25, {
          timeoutMs: 15_000,
          what: 'packets from the other microphone',
        });

        await bob.close();
        assert.deepEqual([...viewerProblems, ...aliceProblems, ...bobProblems], []);
        await viewer.close();
        await alice.close();
      },
    );

    it(
      'a participant publishes layer 0 and a half-size layer 1 from one camera; a small tile draws layer 1, a large one layer 0',
      { timeout: 120_000 },
      async () => {
        // A room of its own: the tiles' sizes depend on how many sources the room has.
        const LROOM = 'joins-layers';
        const alice = await aliceBrowser.newPage({ viewport: { width: 1280, height: 720 } });
        await alice.goto(`${baseUrl}/?room=${LROOM}&join=1&name=Alice`);
        await joined(alice, 'Alice to join and send');
        const p = await waitFor(
          async () => {
            const v = await participant(alice);
            return v?.self && (v.layer1FramesSent ?? 0) > 5 ? v : null;
          },
          { timeoutMs: 30_000, what: 'Alice to send layer 1' },
        );
        assert.equal(p.videoWidth, 640);
        assert.equal(p.layer1Width, 320);
        assert.equal(p.layer1Height, 180);

        // Both layers on NATS, each on its own subject, at its size, with the layer byte of its subject.
        const self = p.self ?? '';
        const layers = [0, 1].map((layer) => {
          const got: { width: number; height: number; layer: number; captureTimeUs: number }[] = [];
          const sub = nc.subscribe(videoLayerSubject(LROOM, self, layer), {
            callback: (_e, msg) => {
              const env = decodeEnvelope(msg.data);
              if (env.kind === 'video') got.push(env);
            },
          });
          return { got, sub };
        });
        const presences: PresenceMessage[] = [];
        const psub = nc.subscribe(presenceSubject(LROOM, self), {
          callback: (_e, msg) => {
            presences.push(decodePresence(msg.data));
          },
        });
        try {
          await waitFor(() => layers.every((l) => l.got.length >= 20) && presences.length > 0, {
            timeoutMs: 30_000,
            what: "20 frames of each of Alice's layers on NATS, and her presence",
          });
        } finally {
          for (const l of layers) l.sub.unsubscribe();
          psub.unsubscribe();
        }
        const [l0, l1] = layers.map((l) => l.got);
        assert.ok(
          l0!.every((e) => e.layer === 0 && e.width === 640 && e.height === 360),
          'layer 0: 640x360',
        );
        assert.ok(
          l1!.every((e) => e.layer === 1 && e.width === 320 && e.height === 180),
          'layer 1: 320x180',
        );
        // Layer 1 is cut from the same camera frames: its capture times are layer 0's.
        const times0 = new Set(l0!.map((e) => e.captureTimeUs));
        const shared = l1!.filter((e) => times0.has(e.captureTimeUs)).length;
        assert.ok(shared >= l1!.length / 2, `only ${shared} of ${l1!.length} layer 1 frames share a layer 0 capture`);
        // At most 15 fps by the frames' own capture times (a little slack for rounding of the pacer).
        const span = (l1!.at(-1)!.captureTimeUs - l1![0]!.captureTimeUs) / 1e6;
        assert.ok((l1!.length - 1) / span <= 16, `layer 1 at ${((l1!.length - 1) / span).toFixed(1)} fps`);
        assert.deepEqual(presences.at(-1)?.layers, [
          { layer: 0, width: 640, height: 360, fps: 15 },
          { layer: 1, width: 320, height: 180, fps: 15 },
        ]);

        // A viewer whose tile is small (a 400x300 window: 2/3 of the tile is below 320 px) draws layer 1;
        // one with a large tile draws layer 0.
        const small = await bobBrowser.newPage({ viewport: { width: 400, height: 300 } });
        const large = await bobBrowser.newPage({ viewport: { width: 1280, height: 720 } });
        await small.goto(`${baseUrl}/?room=${LROOM}`);
        await large.goto(`${baseUrl}/?room=${LROOM}`);
        const drawsLayer = (page: Page, layer: number, width: number, what: string): Promise<TileLayerView> =>
          waitFor(
            async () => {
              const id = await selfOf(alice);
              const t = (await hooks(page))?.tiles[id] as TileLayerView | undefined;
              return t && t.layer === layer && t.width === width && t.framesDrawn > 3 ? t : null;
            },
            { timeoutMs: 40_000, what },
          );
        const s = await drawsLayer(small, 1, 320, "Alice's layer 1 in a small tile");
        assert.equal(s.layerAsked, 1);
        const l = await drawsLayer(large, 0, 640, "Alice's layer 0 in a large tile");
        assert.equal(l.layerAsked, 0);
        await small.close();
        await large.close();
        await alice.close();
      },
    );

    it('Leave and a closed tab remove the tile within 3 s', { timeout: 120_000 }, async () => {
      const viewer = await bobBrowser.newPage();
      await viewer.goto(`${baseUrl}/?room=${ROOM}`);
      await waitFor(async () => (await hooks(viewer))?.state === 'live', { what: 'the viewer to be live' });

      // A fresh browser context: no name is remembered, so Join asks for one.
      const alice = await aliceBrowser.newPage();
      const problems = watchConsole(alice);
      await alice.goto(`${baseUrl}/?room=${ROOM}`);
      await waitFor(async () => (await hooks(alice))?.state === 'live', { what: 'Alice watching' });
      await alice.getByRole('button', { name: 'Join', exact: true }).click();
      assert.equal((await participant(alice))?.state, 'naming');
      await alice.getByRole('button', { name: 'Join with camera' }).click();
      assert.equal((await participant(alice))?.state, 'naming', 'an empty name is refused');
      await alice.getByLabel('Your name').fill('  Alice  ');
      await alice.getByRole('button', { name: 'Join with camera' }).click();
      await joined(alice, 'Alice to join from the button');
      assert.equal((await participant(alice))?.name, 'Alice');
      await liveTile(viewer, alice, "Alice's tile");

      // A raised hand shows on Alice's own tile (her local preview), on her tile
      // on the viewer's page, and in both people lists; lowered, it goes from all.
      const raisedOn = async (page: Page, selector: string): Promise<boolean> =>
        page
          .locator(selector)
          .evaluate((t) => t.classList.contains('hand-raised') && (t as HTMLElement).dataset['hand'] === 'raised');
      const ownTile = '#grid .local-tile';
      const hers = `#grid .tile[data-source="${await selfOf(alice)}"]`;
      assert.equal(await raisedOn(alice, ownTile), false);
      await alice.click('#hand-button');
      await waitFor(async () => ((await raisedOn(alice, ownTile)) ? true : null), {
        timeoutMs: 10_000,
        what: "the hand on Alice's own tile",
      });
      await waitFor(async () => ((await raisedOn(viewer, hers)) ? true : null), {
        timeoutMs: 10_000,
        what: "the hand on Alice's tile on the viewer's page",
      });
      assert.equal(await alice.locator('#people .person-hand').count(), 1);
      assert.equal(await viewer.locator('#people .person-hand').count(), 1);
      await alice.screenshot({ path: join(ARTIFACTS, 'participant-hand.png') });
      await alice.click('#hand-button');
      await waitFor(async () => ((await raisedOn(alice, ownTile)) ? null : true), {
        timeoutMs: 10_000,
        what: "the hand to leave Alice's own tile",
      });
      await waitFor(async () => ((await raisedOn(viewer, hers)) ? null : true), {
        timeoutMs: 10_000,
        what: "the hand to leave Alice's tile on the viewer's page",
      });

      const first = await selfOf(alice);
      const left = Date.now();
      await alice.getByRole('button', { name: 'Leave' }).click();
      const leaveMs = await timeUntilTileGone(viewer, first, left);
      const after = await participant(alice);
      assert.equal(after?.state, 'watching');
      assert.equal(after?.self, null);
      assert.equal(await alice.locator('.local-tile').count(), 0);
      assert.equal(await alice.getByRole('button', { name: 'Join', exact: true }).isVisible(), true);
      await waitFor(async () => (await hooks(alice))?.state === 'live', { what: 'Alice watching again' });

      // The name is remembered now: Join asks nothing.
      await alice.getByRole('button', { name: 'Join', exact: true }).click();
      await joined(alice, 'Alice to join again');
      await liveTile(viewer, alice, "Alice's new tile");
      const second = await selfOf(alice);
      assert.deepEqual(problems, []);
      const closed = Date.now();
      await alice.close();
      const closeMs = await timeUntilTileGone(viewer, second, closed);
      assert.ok(leaveMs <= 3_000 && closeMs <= 3_000, `leave ${leaveMs} ms, closed tab ${closeMs} ms`);
      await viewer.close();
    });

    it(
      'on plain http from another machine, Join is disabled, says why and links the https page',
      { timeout: 60_000 },
      async () => {
        const port = new URL(baseUrl).port;
        const page = await aliceBrowser.newPage();
        const problems = watchConsole(page);
        await page.goto(`http://${LAN_HOST}:${port}/?room=${ROOM}&join=1&name=Lan`);
        await waitFor(async () => (await hooks(page))?.state === 'live', { what: 'watching over plain http' });
        assert.equal(await page.evaluate(() => window.isSecureContext), false);
        const joinButton = page.getByRole('button', { name: 'Join', exact: true });
        assert.equal(await joinButton.isDisabled(), true);
        const p = await participant(page);
        assert.equal(p?.state, 'unavailable', 'a join=1 link does not try on an insecure page');
        assert.match(p?.statusText ?? '', /https/);
        assert.match(p?.statusText ?? '', /certificate/);
        assert.equal(
          await page.locator('#https-link').getAttribute('href'),
          `https://${LAN_HOST}:8443/?room=${ROOM}&join=1&name=Lan`,
        );
        await page.screenshot({ path: join(ARTIFACTS, 'participant-insecure.png') });
        // The gateway's https port when it is not the default: ?https-port= makes the link exact.
        await page.goto(`http://${LAN_HOST}:${port}/?room=${ROOM}&https-port=9443`);
        await waitFor(async () => (await participant(page))?.state === 'unavailable', { what: 'the notice again' });
        assert.equal(
          await page.locator('#https-link').getAttribute('href'),
          `https://${LAN_HOST}:9443/?room=${ROOM}&https-port=9443`,
        );
        assert.deepEqual(problems, []);
        await page.close();
      },
    );

    it(
      'joins over https with the self-signed certificate from a name that is not localhost',
      { timeout: 90_000 },
      async () => {
        const secure = startApp('gateway', [
          '--nats',
          nats.url,
          '--port',
          '0',
          '--tls',
          'self-signed',
          '--tls-port',
          '0',
        ]);
        try {
          const m = await secure.waitForOutput(/secure viewer at https:\/\/\S+?:(\d+)/, 30_000);
          const page = await aliceBrowser.newPage();
          const problems = watchConsole(page);
          await page.goto(`https://${LAN_HOST}:${m[1]}/?room=${ROOM}&join=1&name=Secure`);
          assert.equal(await page.evaluate(() => window.isSecureContext), true);
          const p = await joined(page, 'a participant over https and wss');
          assert.equal(p.audioProblem, null, 'WebCodecs AudioEncoder exists on the https page');
          const viewer = await bobBrowser.newPage();
          await viewer.goto(`${baseUrl}/?room=${ROOM}`);
          await liveTile(viewer, page, 'the https participant on a viewer of the other gateway');
          assert.deepEqual(problems, []);
          await page.close();
          await viewer.close();
        } finally {
          await secure.stop();
        }
      },
    );

    it('says what to do when camera and microphone are refused, or absent', { timeout: 60_000 }, async () => {
      // Fake devices without the fake prompt: headless Chromium refuses the permission.
      // No fake devices at all: this machine has no camera and no microphone.
      const cases = [
        { args: ['--use-fake-device-for-media-stream'], state: 'denied', text: /blocked.*Allow them/ },
        { args: [], state: 'no-device', text: /No camera or microphone was found/ },
      ];
      for (const c of cases) {
        const browser = await launchChromium({ args: c.args });
        try {
          const page = await browser.newPage();
          const problems = watchConsole(page);
          await page.goto(`${baseUrl}/?room=${ROOM}&join=1&name=Nobody`);
          const p = await waitFor(
            async () => {
              const now = await participant(page);
              return now?.state === c.state ? now : null;
            },
            { timeoutMs: 20_000, what: `the ${c.state} state` },
          );
          assert.match(p.statusText, c.text);
          assert.equal(p.self, null);
          assert.equal(await page.locator('.local-tile').count(), 0);
          // Still watching, and Join can be tried again.
          assert.equal((await hooks(page))?.state, 'live');
          assert.equal(await page.getByRole('button', { name: 'Join', exact: true }).isEnabled(), true);
          await page.screenshot({ path: join(ARTIFACTS, `participant-${c.state}.png`) });
          assert.deepEqual(problems, []);
        } finally {
          await browser.close();
        }
      }
    });

    it('a browser without AudioEncoder joins with video only and says so', { timeout: 60_000 }, async () => {
      const page = await aliceBrowser.newPage();
      const problems = watchConsole(page);
      await page.addInitScript(() => {
        delete (window as { AudioEncoder?: unknown }).AudioEncoder;
      });
      await page.goto(`${baseUrl}/?room=${ROOM}&join=1&name=Silent`);
      const p = await waitFor(
        async () => {
          const now = await participant(page);
          return now?.state === 'joined' && (now.framesSent ?? 0) > 5 ? now : null;
        },
        { timeoutMs: 30_000, what: 'a video-only participant' },
      );
      assert.match(p.audioProblem ?? '', /AudioEncoder/);
      assert.match(p.statusText, /Video only/);
      assert.equal(p.audioPacketsSent, 0);
      assert.deepEqual(problems, []);
      await page.close();
    });

    it(
      'a token without the publish grant watches but cannot join; one with it joins',
      { timeout: 90_000 },
      async () => {
        const secret = 'e2e-participant-secret-0123456789abcdef';
        const guarded = startApp('gateway', ['--nats', nats.url, '--port', '0', '--viewer-secret', secret]);
        const mint = async (...grants: string[]): Promise<string> => {
          const p = startApp('gateway', ['token', '--room', ROOM, '--ttl', '1h', '--viewer-secret', secret, ...grants]);
          await p.exited;
          return p.output().trim().split('\n').pop() ?? '';
        };
        try {
          const port = (await guarded.waitForOutput(/viewer at https?:\/\/\S+?:(\d+)/, 30_000))[1];
          const page = await aliceBrowser.newPage();
          // The refused participant socket is logged by the browser itself.
          const problems = watchConsole(page, /WebSocket/);
          await page.goto(`http://127.0.0.1:${port}/?room=${ROOM}&token=${await mint()}&join=1&name=Guest`);
          const refused = await waitFor(
            async () => {
              const now = await participant(page);
              return now?.state === 'failed' ? now : null;
            },
            { timeoutMs: 30_000, what: 'the join to be refused' },
          );
          assert.match(refused.statusText, /Could not join/);
          assert.equal(await page.locator('.local-tile').count(), 0);
          await waitFor(async () => (await hooks(page))?.state === 'live', {
            what: 'watching again with the same token',
          });

          await page.goto(`http://127.0.0.1:${port}/?room=${ROOM}&token=${await mint('--publish')}&join=1&name=Guest`);
          await joined(page, 'a participant with the publish grant');
          assert.deepEqual(problems, []);
          await page.close();
        } finally {
          await guarded.stop();
        }
      },
    );

    it(
      '?as=<source> joins as that listening source: the page asks for its mix-minus',
      { timeout: 60_000 },
      async () => {
        const agent = startApp('capture-agent', [
          ...['--nats', nats.url, '--room', ROOM, '--source', 'desk', '--name', 'Desk'],
          ...['--video', 'none', '--audio', 'test', '--tone', '440', '--listen'],
        ]);
        try {
          await waitFor(() => (mixes.minus.get('desk')?.length ?? 0) > 10, {
            timeoutMs: 20_000,
            what: "the listening agent's mix-minus",
          });
          const page = await bobBrowser.newPage();
          const problems = watchConsole(page);
          const sent: string[] = [];
          page.on('websocket', (ws) =>
            ws.on('framesent', (f) => void (typeof f.payload === 'string' && sent.push(f.payload))),
          );
          await page.goto(`${baseUrl}/?room=${ROOM}&as=desk`);
          await waitFor(async () => (await hooks(page))?.state === 'live', { what: 'live as desk' });
          const joinMsg = JSON.parse(sent.find((t) => t.includes('"join"')) ?? '{}') as Record<string, unknown>;
          assert.equal(joinMsg['as'], 'desk');
          assert.equal(joinMsg['publish'], undefined);
          await waitFor(async () => ((await hooks(page))?.audio?.packetsReceived ?? 0) > 25, {
            timeoutMs: 15_000,
            what: 'mixed audio for the page',
          });
          assert.deepEqual(problems, []);
          await page.close();
        } finally {
          await agent.stop();
        }
      },
    );
  },
);
