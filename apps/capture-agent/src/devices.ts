import { execFile } from 'node:child_process';
import { readdir, readFile } from 'node:fs/promises';

/*
 * Finding capture devices without extra packages: V4L2 cameras from
 * /dev/video* with the formats ffmpeg reports for them, and ALSA cards from
 * /proc/asound/cards (plus `arecord -l` where alsa-utils is installed).
 * The same format probe decides whether a camera's own JPEGs can be passed
 * through untouched.
 */

/** How long one probe of a device may take. */
export const DEVICE_PROBE_TIMEOUT_MS = 5_000;

export interface V4l2Format {
  compressed: boolean;
  /** ffmpeg's name for the pixel format or codec: `mjpeg`, `yuyv422`, `h264`. */
  codec: string;
  description: string;
  /** Discrete sizes as `WxH`; empty when the device reports a stepwise range. */
  sizes: string[];
}

const FORMAT_LINE = /(Raw|Compressed)\s*:\s*(\S+)\s*:\s*(.*?)\s*:\s*((?:\d+x\d+\s*)*|\{.*\})\s*$/;

/** Parses the stderr of `ffmpeg -f v4l2 -list_formats all -i <device>`. */
export function parseV4l2Formats(text: string): V4l2Format[] {
  const out: V4l2Format[] = [];
  for (const line of text.split('\n')) {
    const m = FORMAT_LINE.exec(line.trim());
    if (!m) continue;
    const sizes = m[4]!.startsWith('{') ? [] : m[4]!.split(/\s+/).filter(Boolean);
    out.push({ compressed: m[1] === 'Compressed', codec: m[2]!, description: m[3]!, sizes });
  }
  return out;
}

/** True when the camera offers MJPEG at exactly `width`x`height`. */
export function offersMjpeg(formats: readonly V4l2Format[], width: number, height: number): boolean {
  return formats.some((f) => f.codec === 'mjpeg' && f.sizes.includes(`${width}x${height}`));
}

function run(cmd: string, args: string[]): Promise<{ stdout: string; stderr: string; failed: boolean }> {
  return new Promise((resolve) => {
    execFile(cmd, args, { timeout: DEVICE_PROBE_TIMEOUT_MS, encoding: 'utf8' }, (err, stdout, stderr) =>
      resolve({ stdout, stderr, failed: err !== null && (err as NodeJS.ErrnoException).code === 'ENOENT' }),
    );
  });
}

/** The formats ffmpeg reports for a V4L2 device (empty when it cannot open it). */
export async function probeV4l2Formats(ffmpegPath: string, device: string): Promise<V4l2Format[]> {
  const r = await run(ffmpegPath, ['-hide_banner', '-nostdin', '-f', 'v4l2', '-list_formats', 'all', '-i', device]);
  return parseV4l2Formats(r.stderr);
}

/** Prints what can be captured here, for `--list-devices`. */
export async function listDevices(ffmpegPath: string, print: (line: string) => void): Promise<void> {
  let videos: string[] = [];
  try {
    videos = (await readdir('/dev'))
      .filter((n) => /^video\d+$/.test(n))
      .sort((a, b) => Number(a.slice(5)) - Number(b.slice(5)))
      .map((n) => `/dev/${n}`);
  } catch {
    // No /dev (not Linux): nothing to list.
  }
  print('Video (V4L2):');
  if (videos.length === 0) {
    print('  none found (no /dev/video*; in a container map the device, e.g. --device /dev/video0)');
  }
  for (const dev of videos) {
    const formats = await probeV4l2Formats(ffmpegPath, dev);
    if (formats.length === 0) {
      print(`  ${dev}: no capture formats (a metadata node, or no permission: is the user in group "video"?)`);
      continue;
    }
    print(`  ${dev}:`);
    for (const f of formats) {
      print(
        `    ${f.codec.padEnd(10)} ${f.compressed ? 'compressed' : 'raw'.padEnd(10)} ${f.sizes.join(' ') || '(stepwise sizes)'}`,
      );
    }
  }
  print('Audio (ALSA):');
  let cards = '';
  try {
    cards = await readFile('/proc/asound/cards', 'utf8');
  } catch {
    // No ALSA in this kernel or container.
  }
  const cardLines = cards
    .split('\n')
    .map((l) => /^\s*(\d+)\s+\[(\S+)\s*\]:\s*(.*)$/.exec(l))
    .filter((m): m is RegExpExecArray => m !== null);
  if (cardLines.length === 0) print('  no ALSA cards (/proc/asound/cards is missing or empty)');
  for (const m of cardLines) print(`  card ${m[1]}: ${m[2]} ${m[3]}  → --audio hw:${m[1]},0 (or plughw:${m[1]},0)`);
  const arecord = await run('arecord', ['-l']);
  if (!arecord.failed && arecord.stdout.trim()) {
    print('  arecord -l:');
    for (const l of arecord.stdout.trim().split('\n')) print(`    ${l}`);
  }
  print(
    'Also: --audio default (ALSA default), --audio pulse:default (PulseAudio/PipeWire), --video test, --audio test.',
  );
}
