/*
 * What the agent captures, as parsed from --video, --audio and the
 * --ffmpeg-*-input flags. Pure values: config.ts builds them, the track
 * argument builders read them.
 */
export type VideoSource =
  | { kind: 'none' }
  | { kind: 'test' }
  /** A V4L2 device such as /dev/video0. */
  | { kind: 'v4l2'; device: string }
  /** Raw ffmpeg input arguments (avfoundation, dshow, a file, a URL). */
  | { kind: 'custom'; inputOptions: string[]; input: string };

export type AudioSource =
  | { kind: 'none' }
  | { kind: 'test' }
  | { kind: 'alsa'; device: string }
  | { kind: 'pulse'; device: string }
  | { kind: 'custom'; inputOptions: string[]; input: string };

export function describeVideo(s: VideoSource): string {
  switch (s.kind) {
    case 'none':
    case 'test':
      return s.kind;
    case 'v4l2':
      return s.device;
    case 'custom':
      return `custom ${s.input}`;
  }
}

export function describeAudio(s: AudioSource): string {
  switch (s.kind) {
    case 'none':
    case 'test':
      return s.kind;
    case 'alsa':
      return `alsa:${s.device}`;
    case 'pulse':
      return `pulse:${s.device}`;
    case 'custom':
      return `custom ${s.input}`;
  }
}

/**
 * Splits a command-line fragment like a POSIX shell would for words and
 * quotes (no variables, no globbing), so that
 * `-f dshow -i video="Integrated Camera"` keeps the device name whole.
 */
export function splitArgs(text: string): string[] {
  const out: string[] = [];
  let cur = '';
  let inWord = false;
  let quote: '"' | "'" | null = null;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quote) {
      if (c === quote) quote = null;
      else if (c === '\\' && quote === '"' && i + 1 < text.length) cur += text[++i];
      else cur += c;
    } else if (c === '"' || c === "'") {
      quote = c;
      inWord = true;
    } else if (c === '\\' && i + 1 < text.length) {
      cur += text[++i];
      inWord = true;
    } else if (/\s/.test(c)) {
      if (inWord) out.push(cur);
      cur = '';
      inWord = false;
    } else {
      cur += c;
      inWord = true;
    }
  }
  if (quote) throw new Error(`unclosed ${quote} quote in ${JSON.stringify(text)}`);
  if (inWord) out.push(cur);
  return out;
}

/** Splits `--ffmpeg-input` text into options and the `-i` value (the last `-i`). */
export function parseFfmpegInput(text: string): { inputOptions: string[]; input: string } {
  const args = splitArgs(text);
  const at = args.lastIndexOf('-i');
  const input = at === -1 ? undefined : args[at + 1];
  if (input === undefined) {
    throw new Error(`expected ffmpeg input options ending with -i <input>, got ${JSON.stringify(text)}`);
  }
  if (at + 2 !== args.length) {
    throw new Error(`expected -i <input> to be last (output options are the agent's), got ${JSON.stringify(text)}`);
  }
  return { inputOptions: args.slice(0, at), input };
}
