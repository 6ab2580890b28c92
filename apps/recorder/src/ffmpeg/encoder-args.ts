import type { X264Preset } from '../config.js';

/*
 * The encoder's command line. Video comes in as raw RGB frames on fd 3 at a
 * constant rate, audio as 16-bit mono PCM on fd 4: both carry their timing
 * in their sample counts, so the file's audio and video stay in step by
 * construction (the recorder writes exactly one frame's worth of audio per
 * frame). The output is a fragmented MP4: every fragment that reached the
 * disk is playable, so a recorder killed mid-recording still leaves a file.
 */
export const AUDIO_RATE = 48_000;

export interface EncoderSettings {
  width: number;
  height: number;
  fps: number;
  preset: X264Preset;
  crf: number;
  audioBitrate: number;
}

export function encoderArgs(s: EncoderSettings, output: string): string[] {
  return [
    '-hide_banner',
    '-nostdin',
    '-loglevel',
    'warning',
    // Progress lines on stdout tell "producing" from "failed to start" and give size and duration.
    '-progress',
    'pipe:1',
    '-stats_period',
    '1',
    // Raw inputs are fully described by their options: probing them would
    // read seconds of a live stream before encoding starts (5 s by default).
    '-probesize',
    '32',
    '-analyzeduration',
    '0',
    '-f',
    'rawvideo',
    '-pix_fmt',
    'rgb24',
    '-video_size',
    `${s.width}x${s.height}`,
    '-framerate',
    String(s.fps),
    '-thread_queue_size',
    '64',
    '-i',
    'pipe:3',
    '-probesize',
    '32',
    '-analyzeduration',
    '0',
    '-f',
    's16le',
    '-ar',
    String(AUDIO_RATE),
    '-ac',
    '1',
    '-thread_queue_size',
    '1024',
    '-i',
    'pipe:4',
    '-map',
    '0:v',
    '-map',
    '1:a',
    '-c:v',
    'libx264',
    '-preset',
    s.preset,
    // zerolatency drops B-frames and lookahead: less memory and steadier CPU, the right trade for a live source.
    '-tune',
    'zerolatency',
    '-crf',
    String(s.crf),
    '-pix_fmt',
    'yuv420p',
    // A keyframe every 2 s starts a fragment: at most about 2 s are lost when the recorder dies.
    '-g',
    String(s.fps * 2),
    '-c:a',
    'aac',
    '-b:a',
    String(s.audioBitrate),
    // Each fragment goes to the disk when written, not when AVIO's buffer fills: an ffmpeg
    // killed mid-recording leaves every finished fragment readable (without this, a
    // SIGKILLed ffmpeg at a low bitrate could leave a file without even its moov).
    '-flush_packets',
    '1',
    '-f',
    'mp4',
    '-movflags',
    '+frag_keyframe+empty_moov+default_base_moof',
    '-y',
    output,
  ];
}

/**
 * Every stream of the input (opened by `input`, e.g. `['-i', file]`) copied,
 * not re-encoded, into an MP4 with its index at the front (faststart), so
 * that players start before the download ends.
 */
function copyToFaststartMp4(input: readonly string[], output: string): string[] {
  // prettier-ignore
  return [
    '-hide_banner', '-nostdin', '-loglevel', 'error',
    ...input,
    '-map', '0', '-c', 'copy', '-movflags', '+faststart', '-f', 'mp4', '-y', output,
  ];
}

/** The finishing pass: same streams, index moved to the front so players start before the download ends. */
export function remuxArgs(input: string, output: string): string[] {
  return copyToFaststartMp4(['-i', input], output);
}

/**
 * The joining pass when ffmpeg was restarted mid-recording: the concat
 * demuxer reads the segments (each already remuxed to a plain MP4) one after
 * the other from the list file, and they are copied, not re-encoded, into
 * one faststart MP4. Every segment comes from the same encoder settings, so
 * their streams match.
 */
export function concatArgs(listFile: string, output: string): string[] {
  return copyToFaststartMp4(['-f', 'concat', '-safe', '0', '-i', listFile], output);
}

/** A line of a concat list naming `file` (single quotes escaped as the concat demuxer reads them). */
export function concatListLine(file: string): string {
  return `file '${file.replace(/'/g, "'\\''")}'`;
}
