import { execFileSync } from 'node:child_process';
import { requireBinary } from '@vidchat/test-support';
import type { Rect } from '../../src/index.js';

/*
 * What the tests read back from a recording, with the real ffprobe and
 * ffmpeg: streams and duration, one decoded frame as RGB, the audio as PCM.
 */
export interface Probe {
  codecs: string[];
  durationS: number;
  width: number;
  height: number;
}

export function probe(file: string): Probe {
  const out = execFileSync(
    requireBinary('ffprobe'),
    ['-v', 'error', '-show_entries', 'stream=codec_name,width,height:format=duration', '-of', 'json', file],
    { encoding: 'utf8' },
  );
  const j = JSON.parse(out) as {
    streams: { codec_name: string; width?: number; height?: number }[];
    format: { duration: string };
  };
  const video = j.streams.find((s) => s.width !== undefined);
  return {
    codecs: j.streams.map((s) => s.codec_name),
    durationS: Number(j.format.duration),
    width: video?.width ?? 0,
    height: video?.height ?? 0,
  };
}

/** The frame shown at `atS` seconds, as packed RGB. */
export function frameAt(file: string, atS: number, width: number, height: number): Buffer {
  const rgb = execFileSync(
    requireBinary('ffmpeg'),
    ['-v', 'error', '-ss', String(atS), '-i', file, '-frames:v', '1', '-f', 'rawvideo', '-pix_fmt', 'rgb24', 'pipe:1'],
    { maxBuffer: 64 * 1024 * 1024 },
  );
  if (rgb.length !== width * height * 3) throw new Error(`frame at ${atS}s has ${rgb.length} bytes`);
  return rgb;
}

/** Mean and variance of the luma-ish (R+G+B)/3 values inside `rect`. */
export function regionStats(rgb: Buffer, width: number, rect: Rect): { mean: number; variance: number } {
  let sum = 0;
  let sum2 = 0;
  let n = 0;
  for (let y = rect.y; y < rect.y + rect.height; y += 2) {
    for (let x = rect.x; x < rect.x + rect.width; x += 2) {
      const i = (y * width + x) * 3;
      const v = (rgb[i]! + rgb[i + 1]! + rgb[i + 2]!) / 3;
      sum += v;
      sum2 += v * v;
      n++;
    }
  }
  const mean = sum / n;
  return { mean, variance: sum2 / n - mean * mean };
}

/** The audio from `fromS` for `lengthS` seconds, 48 kHz mono float. */
export function audioPcm(file: string, fromS: number, lengthS: number): Float32Array {
  const raw = execFileSync(
    requireBinary('ffmpeg'),
    [
      '-v',
      'error',
      '-ss',
      String(fromS),
      '-t',
      String(lengthS),
      '-i',
      file,
      '-vn',
      '-f',
      'f32le',
      '-ac',
      '1',
      '-ar',
      '48000',
      'pipe:1',
    ],
    { maxBuffer: 64 * 1024 * 1024 },
  );
  return new Float32Array(raw.buffer, raw.byteOffset, Math.floor(raw.length / 4));
}
