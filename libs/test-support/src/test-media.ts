import { execFileSync } from 'node:child_process';
import { requireBinary } from './binaries.js';

/*
 * Real media made by the real ffmpeg at test time, so that no binaries are
 * committed: JPEGs of a test pattern, and Ogg/Opus of a sine tone muxed as
 * the capture agent asks ffmpeg to (20 ms packets, one per page).
 */

function ffmpegBytes(args: string[]): Buffer {
  return execFileSync(requireBinary('ffmpeg'), ['-hide_banner', '-nostdin', '-loglevel', 'error', ...args, 'pipe:1'], {
    maxBuffer: 64 << 20,
  });
}

/** `frames` JPEGs of testsrc2 at `size` (like 64x48), concatenated as ffmpeg's mjpeg muxer writes them. */
export function mjpegStream(size: string, frames: number, quality = 5): Buffer {
  return ffmpegBytes([
    ...['-f', 'lavfi', '-i', `testsrc2=size=${size}:rate=10`, '-frames:v', String(frames)],
    ...['-c:v', 'mjpeg', '-q:v', String(quality), '-f', 'mjpeg'],
  ]);
}

/** One real JPEG of a test pattern. */
export function makeJpeg(size = '64x48', quality = 5): Buffer {
  return mjpegStream(size, 1, quality);
}

/** Ogg/Opus (48 kHz mono, 20 ms packets, one per page) of a `hz` sine lasting `seconds`. */
export function oggOpusTone(hz: number, seconds: number): Buffer {
  return ffmpegBytes([
    ...['-f', 'lavfi', '-i', `sine=frequency=${hz}:sample_rate=48000:duration=${seconds}`, '-ac', '1'],
    ...['-c:a', 'libopus', '-application', 'lowdelay', '-frame_duration', '20', '-page_duration', '20000'],
    ...['-f', 'ogg'],
  ]);
}

/** 20 ms Opus packets (48 kHz mono) of a sine tone, encoded by ffmpeg's libopus. */
export async function makeOpusTonePackets(hz: number, seconds: number): Promise<Uint8Array[]> {
  // The first two packets are the OpusHead and OpusTags headers.
  return demuxOggPackets(oggOpusTone(hz, seconds)).slice(2);
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
