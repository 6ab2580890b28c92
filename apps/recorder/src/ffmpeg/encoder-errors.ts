/*
 * The encoder's failures as typed errors with stable codes, decided once
 * from how ffmpeg ended; nobody else reads ffmpeg's messages.
 */
export type EncoderErrorCode =
  /** The ffmpeg binary is missing or cannot run. */
  | 'ERR_FFMPEG_NOT_FOUND'
  /** ffmpeg exited before it encoded its first frame (bad arguments, missing encoder, disk). */
  | 'ERR_FFMPEG_START_FAILED'
  /** ffmpeg encoded frames, then exited on its own or was killed. */
  | 'ERR_FFMPEG_DIED'
  /** ffmpeg reported no progress for too long; the recorder killed it. */
  | 'ERR_FFMPEG_STALLED'
  /** The faststart remux at the end failed. */
  | 'ERR_REMUX_FAILED';

export class EncoderError extends Error {
  constructor(
    readonly code: EncoderErrorCode,
    message: string,
    readonly stderrTail = '',
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'EncoderError';
  }
}

/** The last `n` non-empty stderr lines joined with " | ", for one log line. */
export function tailLines(tail: string, n = 3): string {
  return tail
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '')
    .slice(-n)
    .join(' | ');
}
