import { spawn } from 'node:child_process';
import { requireBinary } from './binaries.js';

/*
 * Real media made by the real ffmpeg, for tests that need Opus packets
 * without a capture agent or a mixer: the packets of a sine tone, demuxed
 * from Ogg.
 */

function runFfmpeg(args: string[]): Promise<Buffer> {
  const ffmpeg = requireBinary('ffmpeg');
  return new Promise((resolve, reject) => {
    const child = spawn(ffmpeg, ['-hide_banner', '-loglevel', 'error', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    let err = '';
    child.stdout.on('data', (d: Buffer) => out.push(d));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.once('error', reject);
    child.once('exit', (code) =>
      code === 0 ? resolve(Buffer.concat(out)) : reject(new Error(`ffmpeg exited with ${code}: ${err.slice(-2000)}`)),
    );
  });
}

/** 20 ms Opus packets (48 kHz mono) of a sine tone, encoded by ffmpeg's libopus. */
export async function makeOpusTonePackets(hz: number, seconds: number): Promise<Uint8Array[]> {
  const ogg = await runFfmpeg([
    '-f',
    'lavfi',
    '-i',
    `sine=frequency=${hz}:sample_rate=48000:duration=${seconds}`,
    '-ac',
    '1',
    '-c:a',
    'libopus',
    '-application',
    'lowdelay',
    '-frame_duration',
    '20',
    '-page_duration',
    '20000',
    '-f',
    'ogg',
    'pipe:1',
  ]);
  // The first two packets are the OpusHead and OpusTags headers.
  return demuxOggPackets(ogg).slice(2);
}

/** Splits an Ogg stream (one logical stream) into its packets, following lacing. */
export function demuxOggPackets(ogg: Uint8Array): Uint8Array[] {
  const packets: Uint8Array[] = [];
  let partial: Uint8Array[] = [];
  let p = 0;
  while (p + 27 <= ogg.length) {
    if (ogg[p] !== 0x4f || ogg[p + 1] !== 0x67 || ogg[p + 2] !== 0x67 || ogg[p + 3] !== 0x53) {
      throw new Error(`no Ogg page at byte ${p}`);
    }
    const segments = ogg[p + 26] ?? 0;
    let body = p + 27 + segments;
    for (let i = 0; i < segments; i++) {
      const lace = ogg[p + 27 + i] ?? 0;
      partial.push(ogg.subarray(body, body + lace));
      body += lace;
      if (lace < 255) {
        packets.push(Buffer.concat(partial));
        partial = [];
      }
    }
    p = body;
  }
  return packets;
}
