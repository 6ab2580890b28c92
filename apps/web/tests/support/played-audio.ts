import { execFileSync } from 'node:child_process';
import type { BrowserContext, Page } from 'playwright-core';
import { requireBinary } from '@vidchat/test-support';

/*
 * Records what a page plays: an init script (injected by the test, so the
 * page's CSP does not apply) taps every node the page connects to its
 * AudioContext's destination into a MediaStreamAudioDestinationNode and
 * records that with MediaRecorder (Opus in WebM, encoded off the main
 * thread, so a busy page does not make the recording lose samples). The test
 * takes the file and ffmpeg decodes it to 48 kHz mono float samples.
 */
export async function installPlayedAudioTap(target: BrowserContext | Page): Promise<void> {
  await target.addInitScript(() => {
    const w = window as unknown as { __playedTap?: { chunks: Blob[]; recorder: MediaRecorder | null } };
    const tap = { chunks: [] as Blob[], recorder: null as MediaRecorder | null };
    w.__playedTap = tap;
    const original = AudioNode.prototype.connect;
    AudioNode.prototype.connect = function (this: AudioNode, dest: unknown, ...rest: unknown[]) {
      if (dest instanceof AudioDestinationNode && tap.recorder === null) {
        const ctx = this.context as AudioContext;
        const sink = ctx.createMediaStreamDestination();
        (original as (d: AudioNode) => void).call(this, sink);
        const rec = new MediaRecorder(sink.stream, { mimeType: 'audio/webm;codecs=opus', audioBitsPerSecond: 128_000 });
        rec.ondataavailable = (ev) => tap.chunks.push(ev.data);
        rec.start(250);
        tap.recorder = rec;
      }
      return (original as (...a: unknown[]) => AudioNode).call(this, dest, ...rest);
    } as typeof AudioNode.prototype.connect;
  });
}

/** Stops the page's recording and returns what it played, decoded to 48 kHz mono floats. */
export async function takePlayedAudio(page: Page): Promise<Float32Array> {
  const b64 = await page.evaluate(async () => {
    const w = window as unknown as { __playedTap?: { chunks: Blob[]; recorder: MediaRecorder | null } };
    const tap = w.__playedTap;
    if (!tap?.recorder) return null;
    const rec = tap.recorder;
    await new Promise<void>((resolve) => {
      rec.onstop = () => resolve();
      rec.stop();
    });
    const bytes = new Uint8Array(await new Blob(tap.chunks).arrayBuffer());
    let s = '';
    for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
    return btoa(s);
  });
  if (b64 === null) throw new Error('the page never connected audio to its output: nothing was recorded');
  const pcm = execFileSync(
    requireBinary('ffmpeg'),
    ['-v', 'error', '-i', 'pipe:0', '-f', 'f32le', '-ac', '1', '-ar', '48000', 'pipe:1'],
    { input: Buffer.from(b64, 'base64'), maxBuffer: 256 * 1024 * 1024 },
  );
  return new Float32Array(pcm.buffer, pcm.byteOffset, pcm.byteLength / 4).slice();
}
