import { spawn, type ChildProcess } from 'node:child_process';
import type { Writable } from 'node:stream';
import type { Logger } from '@vidchat/service-kit';
import { encoderArgs, type EncoderSettings } from './encoder-args.js';
import { EncoderError, tailLines } from './encoder-errors.js';

/*
 * One supervised ffmpeg per recording. Like the capture agent's supervisor it
 * tells "failed to start" (ffmpeg exited before its first encoded frame) from
 * "died" (it encoded, then stopped), kills an ffmpeg that reports no progress
 * for `stallTimeoutMs`, and ignores the exit it caused itself when stopping.
 * Unlike the agent it does not restart: a new ffmpeg would start a new file,
 * so a death ends the recording (as `failed`, keeping what was written).
 */
export const DEFAULT_ENCODER_STALL_MS = 15_000;
/** Time ffmpeg gets to flush and close the file after its inputs end. */
export const ENCODER_FINISH_GRACE_MS = 10_000;
/**
 * Raw video queued towards ffmpeg at most, bytes; beyond that a frame (and
 * its audio) is dropped. 64 MiB ride out a stall of ffmpeg of about 1.5 s at
 * 1280x720 and 6 s at 640x360 on a busy machine without growing further.
 */
export const MAX_QUEUED_VIDEO_BYTES = 64 * 1024 * 1024;
const STDERR_TAIL_CHARS = 4_000;

export interface EncoderProgress {
  frames: number;
  /** Encoded duration, µs. */
  outTimeUs: number;
  /** Bytes written to the output so far. */
  totalSize: number;
}

export interface EncoderProcessOptions {
  settings: EncoderSettings;
  output: string;
  ffmpegPath: string;
  log: Logger;
  stallTimeoutMs?: number;
  /** Called once if ffmpeg ends without being asked to (failed to start, died, stalled). */
  onFailure(err: EncoderError): void;
}

export class EncoderProcess {
  readonly progress: EncoderProgress = { frames: 0, outTimeUs: 0, totalSize: 0 };
  droppedFrames = 0;
  private readonly child: ChildProcess;
  private readonly video: Writable;
  private readonly audio: Writable;
  private stderrTail = '';
  private stopping = false;
  private stalled = false;
  private lastProgressAt = Date.now();
  private readonly stallTimer: NodeJS.Timeout;
  private readonly frameBytes: number;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;

  constructor(private readonly o: EncoderProcessOptions) {
    const s = o.settings;
    this.frameBytes = s.width * s.height * 3;
    this.child = spawn(o.ffmpegPath, encoderArgs(s, o.output), { stdio: ['ignore', 'pipe', 'pipe', 'pipe', 'pipe'] });
    this.video = this.child.stdio[3] as Writable;
    this.audio = this.child.stdio[4] as Writable;
    // A write after ffmpeg is gone raises EPIPE on the pipe; the exit handler reports why it went.
    this.video.on('error', () => undefined);
    this.audio.on('error', () => undefined);
    let spawnError: Error | null = null;
    this.child.once('error', (err) => {
      spawnError = err;
    });
    this.child.stderr!.on('data', (d: Buffer) => {
      this.stderrTail = (this.stderrTail + d.toString()).slice(-STDERR_TAIL_CHARS);
    });
    let pending = '';
    this.child.stdout!.on('data', (d: Buffer) => {
      pending += d.toString();
      const lines = pending.split('\n');
      pending = lines.pop() ?? '';
      for (const line of lines) this.onProgressLine(line.trim());
    });
    const stallMs = o.stallTimeoutMs ?? DEFAULT_ENCODER_STALL_MS;
    this.stallTimer = setInterval(() => {
      if (!this.stopping && Date.now() - this.lastProgressAt > stallMs) {
        o.log.warn('ffmpeg reported no progress for too long: killing it', { pid: this.child.pid, stallMs });
        this.stalled = true;
        this.child.kill('SIGKILL');
      }
    }, 1_000);
    this.exited = new Promise((resolve) => {
      this.child.once('close', (code, signal) => {
        clearInterval(this.stallTimer);
        resolve({ code, signal });
        if (this.stopping && !this.stalled) return;
        o.onFailure(this.classify(code, signal, spawnError));
      });
    });
    o.log.info('ffmpeg started', { pid: this.child.pid, output: o.output });
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  private onProgressLine(line: string): void {
    const eq = line.indexOf('=');
    if (eq < 0) return;
    const key = line.slice(0, eq);
    const value = Number(line.slice(eq + 1));
    if (!Number.isFinite(value)) return;
    if (key === 'frame') {
      if (value > this.progress.frames) this.lastProgressAt = Date.now();
      if (this.progress.frames === 0 && value > 0) this.o.log.info('ffmpeg encoding', { pid: this.child.pid });
      this.progress.frames = value;
    } else if (key === 'out_time_us') this.progress.outTimeUs = Math.max(0, value);
    else if (key === 'total_size') this.progress.totalSize = Math.max(0, value);
  }

  private classify(code: number | null, signal: NodeJS.Signals | null, spawnError: Error | null): EncoderError {
    const how = signal ? `killed by ${signal}` : `exit code ${code ?? '?'}`;
    if (spawnError) {
      return new EncoderError(
        'ERR_FFMPEG_NOT_FOUND',
        `ffmpeg cannot run (${spawnError.message}): install it or pass --ffmpeg <path>`,
        '',
        {
          cause: spawnError,
        },
      );
    }
    if (this.stalled) return new EncoderError('ERR_FFMPEG_STALLED', `ffmpeg stalled (${how})`, this.stderrTail);
    if (this.progress.frames === 0) {
      return new EncoderError(
        'ERR_FFMPEG_START_FAILED',
        `ffmpeg failed to start (${how}): ${tailLines(this.stderrTail)}`,
        this.stderrTail,
      );
    }
    return new EncoderError('ERR_FFMPEG_DIED', `ffmpeg died (${how}): ${tailLines(this.stderrTail)}`, this.stderrTail);
  }

  /**
   * Queues one frame and the audio that goes with it. When ffmpeg falls
   * behind by more than MAX_QUEUED_VIDEO_BYTES, both are dropped together, so
   * the file gets shorter but audio and video stay aligned.
   */
  write(frame: Buffer, pcm: Buffer): boolean {
    if (this.stopping || this.video.destroyed) return false;
    if (this.video.writableLength + this.frameBytes > MAX_QUEUED_VIDEO_BYTES) {
      this.droppedFrames++;
      return false;
    }
    // The canvas is drawn into again for the next frame: ffmpeg gets a copy.
    this.video.write(Buffer.from(frame));
    this.audio.write(pcm);
    return true;
  }

  /** Ends both inputs and waits for ffmpeg to close the file; kills it after a grace. Idempotent. */
  async finish(): Promise<void> {
    if (!this.stopping) {
      this.stopping = true;
      this.video.end();
      this.audio.end();
    }
    const kill = setTimeout(() => this.child.kill('SIGKILL'), ENCODER_FINISH_GRACE_MS);
    await this.exited;
    clearTimeout(kill);
  }
}
