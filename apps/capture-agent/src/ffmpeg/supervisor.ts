import type { Logger } from '@vidchat/service-kit';
import { startFfmpeg, type FfmpegProcess, type FfmpegSpec } from './ffmpeg-command.js';
import { classifyFfmpegExit, FfmpegError, tailLines, type FfmpegExit } from './ffmpeg-errors.js';

/*
 * Keeps one ffmpeg running for one track. It tells "failed to start" (ffmpeg
 * exited before its first byte of media: a missing device, bad arguments)
 * from "died" (it ran, then stopped), restarts both with capped exponential
 * back-off, and ignores the exits it caused itself when stopping. A missing
 * ffmpeg binary is fatal: restarting cannot fix it.
 */

/** First restart delay; doubled after each failure up to the cap. */
export const DEFAULT_RESTART_INITIAL_MS = 500;
export const DEFAULT_RESTART_MAX_MS = 10_000;
/** A run that lasted this long resets the back-off to its first delay. */
export const DEFAULT_STABLE_AFTER_MS = 10_000;
/** A running ffmpeg that writes nothing for this long is killed and restarted. */
export const DEFAULT_STALL_TIMEOUT_MS = 10_000;
/** Grace between SIGTERM and SIGKILL when stopping. */
export const STOP_GRACE_MS = 2_000;

export interface SupervisorOptions {
  /** Track name for logs and errors: `video` or `audio`. */
  track: string;
  spec: FfmpegSpec;
  ffmpegPath: string;
  log: Logger;
  /** Called with every chunk of ffmpeg's stdout. */
  onData(chunk: Uint8Array): void;
  /**
   * Called with every chunk of the spec's extra output `index` (fd 3 + index).
   * An extra output is always read, so that ffmpeg never blocks on a full pipe.
   */
  onExtraData?(index: number, chunk: Uint8Array): void;
  /** Called before each new ffmpeg run starts writing (parsers reset here). */
  onLaunch?(): void;
  /** Called once when restarting cannot help (ffmpeg missing). */
  onFatal?(err: FfmpegError): void;
  restartInitialMs?: number;
  restartMaxMs?: number;
  stableAfterMs?: number;
  stallTimeoutMs?: number;
}

export type SupervisorState = 'idle' | 'starting' | 'running' | 'backoff' | 'stopped';

export class FfmpegSupervisor {
  /** Restarts after a failure or death (not counting the first start). */
  restarts = 0;
  /** The error of the last failed run, if any. */
  lastError: FfmpegError | null = null;
  /** The current ffmpeg's pid, when one runs. */
  pid: number | undefined;
  private stateValue: SupervisorState = 'idle';
  private proc: FfmpegProcess | null = null;
  private delay: number;
  private timer: NodeJS.Timeout | null = null;
  private stallTimer: NodeJS.Timeout | null = null;
  private lastDataAt = 0;
  private stalled = false;
  private readonly initialMs: number;
  private readonly maxMs: number;
  private readonly stableMs: number;
  private readonly stallMs: number;

  constructor(private readonly o: SupervisorOptions) {
    this.initialMs = o.restartInitialMs ?? DEFAULT_RESTART_INITIAL_MS;
    this.maxMs = o.restartMaxMs ?? DEFAULT_RESTART_MAX_MS;
    this.stableMs = o.stableAfterMs ?? DEFAULT_STABLE_AFTER_MS;
    this.stallMs = o.stallTimeoutMs ?? DEFAULT_STALL_TIMEOUT_MS;
    this.delay = this.initialMs;
  }

  get state(): SupervisorState {
    return this.stateValue;
  }

  start(): void {
    if (this.stateValue !== 'idle') return;
    this.launch();
  }

  /** Stops ffmpeg and any pending restart. Idempotent; its exit is not reported as a failure. */
  async stop(): Promise<void> {
    if (this.stateValue === 'stopped') return;
    this.stateValue = 'stopped';
    if (this.timer) clearTimeout(this.timer);
    if (this.stallTimer) clearInterval(this.stallTimer);
    const proc = this.proc;
    if (!proc) return;
    proc.kill('SIGTERM');
    const kill = setTimeout(() => proc.kill('SIGKILL'), STOP_GRACE_MS);
    await proc.exited;
    clearTimeout(kill);
  }

  private launch(): void {
    const { track, log } = this.o;
    this.stateValue = 'starting';
    this.o.onLaunch?.();
    const proc = startFfmpeg(this.o.spec, this.o.ffmpegPath);
    this.proc = proc;
    this.pid = undefined;
    this.stalled = false;
    const launchedAt = Date.now();
    let gotMedia = false;

    void proc.started.then((pid) => {
      if (pid === undefined || this.proc !== proc) return;
      this.pid = pid;
      log.info('ffmpeg started', { track, pid, restarts: this.restarts });
      log.debug('ffmpeg command', { track, command: proc.commandLine() });
    });
    proc.stdout.on('data', (chunk: Buffer) => {
      this.lastDataAt = Date.now();
      if (!gotMedia) {
        gotMedia = true;
        if (this.stateValue === 'starting') this.stateValue = 'running';
        log.info('ffmpeg producing media', { track, pid: this.pid, afterMs: Date.now() - launchedAt });
      }
      this.o.onData(chunk);
    });
    proc.extraOutputs.forEach((out, index) => {
      out.on('data', (chunk: Buffer) => this.o.onExtraData?.(index, chunk));
    });
    this.lastDataAt = Date.now();
    this.stallTimer = setInterval(
      () => {
        if (Date.now() - this.lastDataAt > this.stallMs && this.proc === proc) {
          log.warn('ffmpeg wrote nothing for too long: killing it', { track, pid: this.pid, stallMs: this.stallMs });
          this.stalled = true;
          proc.kill('SIGKILL');
        }
      },
      Math.min(1_000, this.stallMs),
    );
    void proc.exited.then((exit) => this.onExit(proc, exit, gotMedia, Date.now() - launchedAt));
  }

  private onExit(proc: FfmpegProcess, exit: FfmpegExit, gotMedia: boolean, ranMs: number): void {
    if (this.proc === proc) this.proc = null;
    if (this.stallTimer) clearInterval(this.stallTimer);
    this.stallTimer = null;
    const { track, log } = this.o;
    if (this.stateValue === 'stopped') {
      log.debug('ffmpeg stopped', { track, exitCode: exit.exitCode, signal: exit.signal });
      return;
    }
    let err = classifyFfmpegExit(track, gotMedia ? 'run' : 'start', exit);
    if (this.stalled) {
      err = new FfmpegError('ERR_FFMPEG_STALLED', `${track} ffmpeg stalled`, err.details);
    }
    this.lastError = err;
    if (err.code === 'ERR_FFMPEG_NOT_FOUND') {
      log.error(err.message, { track, code: err.code });
      this.stateValue = 'stopped';
      this.o.onFatal?.(err);
      return;
    }
    if (ranMs >= this.stableMs) this.delay = this.initialMs;
    const fields = {
      track,
      code: err.code,
      exitCode: exit.exitCode,
      signal: exit.signal,
      ranMs,
      stderr: tailLines(exit.stderrTail),
      restartInMs: this.delay,
    };
    if (gotMedia) log.warn('ffmpeg died: restarting', fields);
    else log.error('ffmpeg failed to start: retrying', fields);
    if (!gotMedia && exit.stderrTail) log.debug('ffmpeg stderr', { track, tail: exit.stderrTail });
    this.stateValue = 'backoff';
    this.timer = setTimeout(() => {
      this.timer = null;
      if (this.stateValue !== 'backoff') return;
      this.restarts++;
      this.launch();
    }, this.delay);
    this.delay = Math.min(this.delay * 2, this.maxMs);
  }
}
