import { PassThrough, type Readable } from 'node:stream';
import type { ChildProcess } from 'node:child_process';
import ffmpeg from 'fluent-ffmpeg';
import type { FfmpegExit } from './ffmpeg-errors.js';

/*
 * The one module that knows how ffmpeg is launched. It uses fluent-ffmpeg
 * (whose repository was archived in 2025-05), kept behind this small
 * interface so that it can be swapped for a plain `child_process.spawn`
 * without touching the supervisor or the tracks.
 */

/** An ffmpeg invocation with one input and one output, written to stdout. */
export interface FfmpegSpec {
  /** Options before `-i` (format, size, rate, `-re`). */
  inputOptions: string[];
  /** The `-i` value: a device, a lavfi graph, a file. */
  input: string;
  /** Options after the input, ending with the muxer (`-f mjpeg`); the output is always stdout. */
  outputOptions: string[];
}

export interface FfmpegProcess {
  /** ffmpeg's stdout: the muxed media. */
  readonly stdout: Readable;
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

/**
 * fluent-ffmpeg splits a lone "a b" option string in two, which would break a
 * filter graph with one space; given several arguments it never splits. So
 * options always go in as two or more arguments; a short list is padded with
 * `-nostats`, which changes nothing here.
 */
function unsplit(opts: string[]): [string, string, ...string[]] {
  const [first = '-nostats', second = '-nostats', ...rest] = opts;
  return [first, second, ...rest];
}

export function startFfmpeg(spec: FfmpegSpec, ffmpegPath: string): FfmpegProcess {
  const command = ffmpeg({ stdoutLines: STDERR_TAIL_LINES });
  command.setFfmpegPath(ffmpegPath);
  command.input(spec.input);
  command.inputOptions(...unsplit([...GLOBAL_INPUT_OPTIONS, ...spec.inputOptions]));
  command.outputOptions(...unsplit(spec.outputOptions));

  const tail: string[] = [];
  let child: ChildProcess | undefined;
  let line = 'ffmpeg';
  const stdout = new PassThrough({ highWaterMark: 256 * 1024 });

  const started = new Promise<number | undefined>((resolve) => {
    command.once('start', (cmdline: string) => {
      line = cmdline;
      // fluent-ffmpeg exposes its child only as this undocumented field.
      child = (command as unknown as { ffmpegProc?: ChildProcess }).ffmpegProc;
      resolve(child?.pid);
    });
    command.once('error', () => resolve(undefined));
  });
  command.on('stderr', (l: string) => {
    tail.push(l);
    if (tail.length > STDERR_TAIL_LINES) tail.shift();
  });
  const exited = new Promise<FfmpegExit>((resolve) => {
    const finish = (launchError?: Error): void => {
      const exit: FfmpegExit = {
        exitCode: child?.exitCode ?? null,
        signal: child?.signalCode ?? null,
        stderrTail: tail.join('\n'),
      };
      if (launchError && !child) exit.launchError = launchError;
      if (!stdout.writableEnded) stdout.end();
      resolve(exit);
    };
    command.once('end', () => finish());
    command.once('error', (err: Error) => finish(err));
  });
  command.pipe(stdout, { end: true });

  return {
    stdout,
    started,
    exited,
    kill(signal) {
      if (child && child.exitCode === null && child.signalCode === null) child.kill(signal);
    },
    commandLine: () => line,
  };
}
