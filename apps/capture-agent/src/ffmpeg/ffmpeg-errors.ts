/*
 * ffmpeg failures as typed errors with stable codes. An exit of ffmpeg is
 * turned into one of these here, once, from its exit status and the tail of
 * its stderr; the rest of the agent switches on `code`, never on text.
 */
export type FfmpegErrorCode =
  /** The ffmpeg binary is missing: restarting cannot help. */
  | 'ERR_FFMPEG_NOT_FOUND'
  /** The device named by --video/--audio does not exist. */
  | 'ERR_DEVICE_NOT_FOUND'
  /** The device exists but the user may not open it (video/audio groups). */
  | 'ERR_DEVICE_PERMISSION'
  /** Another program holds the device. */
  | 'ERR_DEVICE_BUSY'
  /** ffmpeg rejected its arguments (a bad --ffmpeg-input, an unsupported size). */
  | 'ERR_FFMPEG_BAD_ARGUMENTS'
  /** ffmpeg exited before producing any media, for another reason. */
  | 'ERR_FFMPEG_START_FAILED'
  /** ffmpeg ran and produced media, then exited or was killed. */
  | 'ERR_FFMPEG_DIED'
  /** ffmpeg runs but has produced nothing for too long; the agent killed it. */
  | 'ERR_FFMPEG_STALLED';

export type FfmpegPhase = 'start' | 'run';

export class FfmpegError extends Error {
  constructor(
    readonly code: FfmpegErrorCode,
    message: string,
    readonly details: {
      track: string;
      phase: FfmpegPhase;
      exitCode: number | null;
      signal: string | null;
      /** Last lines ffmpeg wrote on stderr, newest last. */
      stderrTail: string;
    },
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'FfmpegError';
  }
}

export interface FfmpegExit {
  exitCode: number | null;
  signal: string | null;
  stderrTail: string;
  /** An error raised before ffmpeg ran (spawn failure, capability check). */
  launchError?: Error;
}

const PATTERNS: readonly [RegExp, FfmpegErrorCode][] = [
  [
    /No such file or directory|No such device|Cannot open video device|cannot open audio device|Audio device not found/i,
    'ERR_DEVICE_NOT_FOUND',
  ],
  [/Permission denied|Operation not permitted/i, 'ERR_DEVICE_PERMISSION'],
  [/Device or resource busy/i, 'ERR_DEVICE_BUSY'],
  [
    /Unrecognized option|Invalid argument|Option not found|Error splitting the argument list|Unknown input format|not available|No such filter|Error initializing filter|Invalid data found/i,
    'ERR_FFMPEG_BAD_ARGUMENTS',
  ],
];

/** Converts how an ffmpeg run ended into one typed error. */
export function classifyFfmpegExit(track: string, phase: FfmpegPhase, exit: FfmpegExit): FfmpegError {
  const details = { track, phase, exitCode: exit.exitCode, signal: exit.signal, stderrTail: exit.stderrTail };
  const launch = exit.launchError;
  if (launch && /ENOENT|Cannot find ffmpeg|EACCES/.test(launch.message)) {
    return new FfmpegError(
      'ERR_FFMPEG_NOT_FOUND',
      `ffmpeg not found: install it (apt-get install ffmpeg) or pass --ffmpeg <path>`,
      details,
      {
        cause: launch,
      },
    );
  }
  const text = `${launch?.message ?? ''}\n${exit.stderrTail}`;
  const how = exit.signal ? `killed by ${exit.signal}` : `exit code ${exit.exitCode ?? '?'}`;
  if (phase === 'start') {
    for (const [re, code] of PATTERNS) {
      if (re.test(text))
        return new FfmpegError(code, `${track} ffmpeg failed to start (${how})`, details, { cause: launch });
    }
    return new FfmpegError('ERR_FFMPEG_START_FAILED', `${track} ffmpeg failed to start (${how})`, details, {
      cause: launch,
    });
  }
  return new FfmpegError('ERR_FFMPEG_DIED', `${track} ffmpeg died (${how})`, details);
}

/** The last `n` non-empty lines of a stderr tail joined with " | ", for one-line log messages. */
export function tailLines(tail: string, n = 3): string {
  return tail
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '')
    .slice(-n)
    .join(' | ');
}
