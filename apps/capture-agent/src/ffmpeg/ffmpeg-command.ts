import { spawn, type ChildProcess } from 'node:child_process';
import type { Readable } from 'node:stream';
import type { FfmpegExit } from './ffmpeg-errors.js';

/*
 * The one module that knows how ffmpeg is launched. It spawns ffmpeg with
 * `child_process.spawn` rather than fluent-ffmpeg (archived in 2025-05):
 * the camera track writes two outputs from one process (the full-size layer
 * on stdout, the half-width layer on fd 3), and fluent-ffmpeg neither pipes
 * more than one output nor lets its caller add stdio descriptors (it builds
 * the spawn options itself). The interface stayed as small as it was, so
 * the supervisor and the tracks did not change.
 */

/** An ffmpeg invocation with one input and one or more outputs, each to a pipe. */
export interface FfmpegSpec {
  /** Options before `-i` (format, size, rate, `-re`). */
  inputOptions: string[];
  /** The `-i` value: a device, a lavfi graph, a file. */
  input: string;
  /** Options of the first output, ending with the muxer (`-f mjpeg`); it is written to stdout. */
  outputOptions: string[];
  /**
   * Options of further outputs, each ending with its muxer; output N (from 0
   * here) is written to file descriptor 3 + N and read from `extraOutputs[N]`.
   */
  extraOutputs?: string[][];
}

export interface FfmpegProcess {
  /** ffmpeg's stdout: the first output's muxed media. */
  readonly stdout: Readable;
  /** The further outputs' pipes, in `spec.extraOutputs` order. */
  readonly extraOutputs: readonly Readable[];
  /** The pid, once ffmpeg has been spawned. */
  readonly started: Promise<number | undefined>;
  /** Resolves once ffmpeg is gone, however it ended. Never rejects. */
  readonly exited: Promise<FfmpegExit>;
  /** Sends a signal to ffmpeg (no-op once it is gone). */
  kill(signal: NodeJS.Signals): void;
  /** The full command line, for logs. */
  commandLine(): string;
}

/** How many stderr lines are kept for error messages. */
export const STDERR_TAIL_LINES = 20;

/** Global options every run gets: no banner, no stdin (it would eat the terminal), warnings only. */
const GLOBAL_INPUT_OPTIONS = ['-hide_banner', '-nostdin', '-loglevel', 'warning'];

/** The first file descriptor of the extra outputs (0-2 are stdin, stdout, stderr). */
const FIRST_EXTRA_FD = 3;

/** ffmpeg's argument list for `spec` (pure: tests read it). */
export function ffmpegArgs(spec: FfmpegSpec): string[] {
  const extra = spec.extraOutputs ?? [];
  return [
    ...GLOBAL_INPUT_OPTIONS,
    ...spec.inputOptions,
    '-i',
    spec.input,
    ...spec.outputOptions,
    'pipe:1',
    ...extra.flatMap((opts, i) => [...opts, `pipe:${FIRST_EXTRA_FD + i}`]),
  ];
}

export function startFfmpeg(spec: FfmpegSpec, ffmpegPath: string): FfmpegProcess {
  const args = ffmpegArgs(spec);
  const extraCount = spec.extraOutputs?.length ?? 0;
  const line = [ffmpegPath, ...args].join(' ');
  const tail: string[] = [];
  const child: ChildProcess = spawn(ffmpegPath, args, {
    stdio: ['ignore', 'pipe', 'pipe', ...Array<'pipe'>(extraCount).fill('pipe')],
    windowsHide: true,
  });
  const stdout = child.stdout!;
  const extraOutputs = Array.from({ length: extraCount }, (_, i) => child.stdio[FIRST_EXTRA_FD + i] as Readable);

  let partial = '';
  child.stderr!.setEncoding('utf8');
  child.stderr!.on('data', (text: string) => {
    const lines = (partial + text).split(/\r?\n|\r/);
    partial = lines.pop() ?? '';
    for (const l of lines) {
      if (l === '') continue;
      tail.push(l);
      if (tail.length > STDERR_TAIL_LINES) tail.shift();
    }
  });

  let launchError: Error | undefined;
  const started = new Promise<number | undefined>((resolve) => {
    child.once('spawn', () => resolve(child.pid));
    child.once('error', (err) => {
      launchError ??= err;
      resolve(undefined);
    });
  });
  const exited = new Promise<FfmpegExit>((resolve) => {
    const finish = (exitCode: number | null, signal: NodeJS.Signals | null): void => {
      if (partial !== '') tail.push(partial);
      partial = '';
      const exit: FfmpegExit = { exitCode, signal, stderrTail: tail.slice(-STDERR_TAIL_LINES).join('\n') };
      if (launchError && child.pid === undefined) exit.launchError = launchError;
      resolve(exit);
    };
    // 'close' comes after the process exited and every pipe was drained, so
    // that no media chunk arrives after the exit is reported.
    child.once('close', finish);
    // A binary that cannot be spawned may never reach 'close'.
    child.once('error', () => {
      if (child.pid === undefined) finish(null, null);
    });
  });

  return {
    stdout,
    extraOutputs,
    started,
    exited,
    kill(signal) {
      if (child.exitCode === null && child.signalCode === null && child.pid !== undefined) child.kill(signal);
    },
    commandLine: () => line,
  };
}
