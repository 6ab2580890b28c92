import type { AudioEnvelope, MixedAudioEnvelope } from '@vidchat/protocol';
import { ConcealingDecoder, type ConcealmentStats } from './audio-concealment.js';
import { FreshnessFilter } from './audio-freshness.js';
import {
  createScriptProcessorOutput,
  createWorkletOutput,
  type OutputPath,
  type PlayClock,
  type PlayoutOutput,
} from './audio-output.js';
import { DEFAULT_JITTER, type JitterBufferOptions } from './jitter-buffer.js';
import { fetchLibopus } from './libopus.js';
import { AudioHold, heardAtMs, type OutputTimestamp } from './lip-sync.js';

/** The mixer's output rate; the decoder and the AudioContext both run at it. */
export const PLAYBACK_SAMPLE_RATE = 48_000;

/** Weight of each packet in the smoothed capture → heard delay (about a second's worth of packets). */
const HEARD_SMOOTHING = 0.05;
/** Weight of each play clock (about 50 a second) in the measured capture → heard delay. */
const CLOCK_SMOOTHING = 0.2;
/** Weight of each play clock in the audio's path delay without its buffer (about a second). */
const PATH_SMOOTHING = 0.02;

/** Why audio could not start, for the person and for tests. */
export type AudioStartErrorCode = 'no-web-audio' | 'no-wasm' | 'blocked' | 'start-failed';

export class AudioStartError extends Error {
  constructor(
    readonly code: AudioStartErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'AudioStartError';
  }
}

export interface AudioSnapshot {
  enabled: boolean;
  /** Which output plays: the AudioWorklet, or the ScriptProcessorNode fallback; null before Enable audio. */
  path: OutputPath | null;
  /** Why the last start failed, if it did. */
  error: { code: AudioStartErrorCode; message: string } | null;
  packetsReceived: number;
  packetsDecoded: number;
  decodeErrors: number;
  /**
   * Packets missing from the mix's sequence; of those, rebuilt from the next
   * packet's FEC data, and concealed by the decoder (PLC); packets out of order.
   */
  packetsLost: number;
  framesRecoveredFec: number;
  framesConcealed: number;
  packetsLate: number;
  /** Packets dropped on arrival because they were too old to play (the page had been busy). */
  packetsStale: number;
  underruns: number;
  droppedSamples: number;
  skippedSamples: number;
  driftAdjustedSamples: number;
  /** Audio the output path has played, in ms (silence while waiting is not counted). */
  playedMs: number;
  bufferedMs: number;
  /** Packet arrival (decoded) → its first sample leaving the output path, in ms, median and 99th percentile. */
  playoutDelayP50Ms: number;
  playoutDelayP99Ms: number;
  /** What the output node and the AudioContext add after the jitter buffer, in ms (part of the playout delay). */
  outputLatencyMs: number;
  /** RMS of what the output path is playing right now, in dBFS (-Infinity for silence, null before start). */
  outputLevelDbfs: number | null;
  /** Capture → heard delay of the audio (ms, browser clock): what tiles hold their frames back by. */
  lipSyncDelayMs: number | null;
  /** Extra playout delay (ms) holding the audio back for a later picture (lip sync), 0..300. */
  audioHoldMs: number;
  /** The video's capture → ready delay the hold follows (ms; the latest tile with sound), null without one. */
  videoDelayMs: number | null;
  /** The last play clock: audio captured at `captureTimeUs` leaves the sound card at `atMs` (epoch ms). */
  heard: { captureTimeUs: number; atMs: number } | null;
}

interface Running {
  ctx: AudioContext;
  decoder: ConcealingDecoder;
  output: PlayoutOutput;
  analyser: AnalyserNode;
  /** The stream's volume; for the player that owns the context also the bus every hosted stream joins. */
  gain: GainNode;
}

/**
 * Another player's AudioContext and the node to play into: a player built on
 * a host is one more stream of the same output (per-source audio, each at
 * its own volume), not a context of its own.
 */
export interface AudioHost {
  ctx: AudioContext;
  input: AudioNode;
}

const NO_PACKETS: ConcealmentStats = { lost: 0, fecRecovered: 0, concealed: 0, late: 0, decoded: 0, decodeErrors: 0 };

/**
 * Plays the room's mixed audio: Opus packets → libopus (wasm, works on every
 * origin) with FEC recovery and concealment of lost packets → an output with a jitter buffer (the
 * AudioWorklet where it exists, else a ScriptProcessorNode). Packets too old
 * to play are dropped on arrival. It starts only from a user gesture, as
 * browsers' autoplay policy requires; until then packets are counted and
 * ignored.
 */
export class AudioPlayer {
  private running: Running | null = null;
  private starting: Promise<void> | null = null;
  private error: AudioSnapshot['error'] = null;
  private readonly freshness = new FreshnessFilter();
  private packetsReceived = 0;
  private readonly tapBuffer = new Float32Array(2048);
  /** Smoothed capture → heard delay of the audio, ms in the browser's clock (clock offset included); null until known. */
  private heardDelayMs: number | null = null;
  /** The same, measured from the output's play clocks; null until the first. */
  private clockDelayMs: number | null = null;
  /** Capture → heard delay minus the jitter buffer's depth: transit plus output, ms. */
  private pathMs: number | null = null;
  private lastHeard: AudioSnapshot['heard'] = null;
  private readonly hold = new AudioHold();
  private videoDelay: () => number | null = () => null;

  private gainValue = 1;

  constructor(
    private readonly jitter: JitterBufferOptions = DEFAULT_JITTER,
    private readonly now: () => number = () => Date.now(),
    /** Play as one more stream of this host's context (no gesture needed: the host started it). */
    private readonly host: AudioHost | null = null,
  ) {}

  /** Where the picture's delay comes from (the tiles), so that audio waits for a later picture. */
  followVideo(videoDelayMs: () => number | null): void {
    this.videoDelay = videoDelayMs;
  }

  get enabled(): boolean {
    return this.running !== null;
  }

  /** Must run inside a click handler: the AudioContext is created there. Rejects with an AudioStartError. */
  enable(): Promise<void> {
    if (!this.starting) {
      this.starting = this.start().catch((err: unknown) => {
        this.starting = null;
        const e =
          err instanceof AudioStartError
            ? err
            : new AudioStartError('start-failed', err instanceof Error ? err.message : String(err), { cause: err });
        this.error = { code: e.code, message: e.message };
        throw e;
      });
    }
    return this.starting;
  }

  async setMuted(muted: boolean): Promise<void> {
    const ctx = this.running?.ctx;
    if (!ctx || this.host) return;
    if (muted) await ctx.suspend();
    else await ctx.resume();
  }

  /** This stream's volume: 1 as decoded, 0 silent, up to 2. */
  setGain(gain: number): void {
    this.gainValue = gain;
    if (this.running) this.running.gain.gain.value = gain;
  }

  /** Where another player can play as one more stream of this one's output; null until started. */
  get bus(): AudioHost | null {
    const run = this.running;
    return run && !this.host ? { ctx: run.ctx, input: run.gain } : null;
  }

  /** A copy of the last samples the output played (after the gain): what tests analyse. */
  outputSamples(): Float32Array | null {
    const run = this.running;
    if (!run) return null;
    const buf = new Float32Array(run.analyser.fftSize);
    run.analyser.getFloatTimeDomainData(buf);
    return buf;
  }

  /** Stops playing for good: a hosted stream leaves its host's output, an owner closes its context. */
  close(): void {
    const run = this.running;
    this.running = null;
    if (!run) return;
    run.output.close();
    run.gain.disconnect();
    run.decoder.close();
    if (!this.host) void run.ctx.close();
  }

  push(env: MixedAudioEnvelope | AudioEnvelope): void {
    this.packetsReceived++;
    const run = this.running;
    if (!run || env.payload.length === 0) return;
    const verdict = run.decoder.sequence(env.seq);
    if (verdict.kind === 'late') return;
    if (!this.freshness.accept(env.captureTimeUs, this.now())) {
      run.decoder.interrupt();
      return;
    }
    const frames = run.decoder.frames(env.payload, verdict.lost);
    // The packet's own frame is the last; concealed ones before it cover the capture times before.
    let us = env.captureTimeUs;
    for (let i = 0; i < frames.length - 1; i++) us -= ((frames[i]?.length ?? 0) * 1e6) / PLAYBACK_SAMPLE_RATE;
    for (const frame of frames) {
      const n = frame.length;
      run.output.push(frame, us);
      us += (n * 1e6) / PLAYBACK_SAMPLE_RATE;
    }
    const ahead = (run.output.stats().buffered / PLAYBACK_SAMPLE_RATE) * 1000;
    const heard = this.now() - env.captureTimeUs / 1000 + ahead + outputLatency(run);
    this.heardDelayMs =
      this.heardDelayMs === null ? heard : this.heardDelayMs + HEARD_SMOOTHING * (heard - this.heardDelayMs);
  }

  /**
   * How far behind its capture time the audio is heard now, in ms (the
   * packets' transit, clock offset included, plus the playout delay); null
   * while no audio plays. Tiles hold their frames back by it (lip sync).
   */
  lipSyncDelayMs(): number | null {
    return this.running ? (this.clockDelayMs ?? this.heardDelayMs) : null;
  }

  /** What the output plays when: the measured delay, and the hold that keeps up with a later picture. */
  private onClock(run: Running, c: PlayClock): void {
    const ctx = run.ctx;
    const ts: OutputTimestamp | null = typeof ctx.getOutputTimestamp === 'function' ? ctx.getOutputTimestamp() : null;
    const wallNow = this.now();
    const at = heardAtMs(c.contextTime, ts, ctx, wallNow, performance.now());
    const delay = at - c.captureUs / 1000;
    this.lastHeard = { captureTimeUs: c.captureUs, atMs: at };
    this.clockDelayMs =
      this.clockDelayMs === null ? delay : this.clockDelayMs + CLOCK_SMOOTHING * (delay - this.clockDelayMs);
    const path = delay - (c.buffered / PLAYBACK_SAMPLE_RATE) * 1000;
    this.pathMs = this.pathMs === null ? path : this.pathMs + PATH_SMOOTHING * (path - this.pathMs);
    const before = this.hold.holdMs;
    const hold = this.hold.update(this.videoDelay(), this.pathMs + this.jitter.targetMs, wallNow);
    if (hold !== before) run.output.setHoldMs(hold);
  }

  snapshot(): AudioSnapshot {
    const run = this.running;
    const s = run?.output.stats();
    const ms = (samples: number): number => (samples / PLAYBACK_SAMPLE_RATE) * 1000;
    const outputLatencyMs = run ? outputLatency(run) : 0;
    const c = run?.decoder.stats ?? NO_PACKETS;
    return {
      enabled: this.enabled,
      path: run?.output.path ?? null,
      error: this.error,
      packetsReceived: this.packetsReceived,
      packetsDecoded: c.decoded,
      decodeErrors: c.decodeErrors,
      packetsLost: c.lost,
      framesRecoveredFec: c.fecRecovered,
      framesConcealed: c.concealed,
      packetsLate: c.late,
      packetsStale: this.freshness.stale,
      underruns: s?.underruns ?? 0,
      droppedSamples: s?.droppedSamples ?? 0,
      skippedSamples: s?.skippedSamples ?? 0,
      driftAdjustedSamples: s?.driftAdjustedSamples ?? 0,
      playedMs: ms(s?.playedSamples ?? 0),
      bufferedMs: ms(s?.buffered ?? 0),
      playoutDelayP50Ms: s && s.delayCount > 0 ? s.delayP50Ms + outputLatencyMs : 0,
      playoutDelayP99Ms: s && s.delayCount > 0 ? s.delayP99Ms + outputLatencyMs : 0,
      outputLatencyMs,
      outputLevelDbfs: run ? this.tapLevel(run.analyser) : null,
      lipSyncDelayMs: this.lipSyncDelayMs(),
      audioHoldMs: this.hold.holdMs,
      videoDelayMs: this.videoDelay(),
      heard: run ? this.lastHeard : null,
    };
  }

  private async start(): Promise<void> {
    if (typeof AudioContext === 'undefined') {
      throw new AudioStartError('no-web-audio', 'this browser has no Web Audio API');
    }
    if (typeof WebAssembly === 'undefined') {
      throw new AudioStartError('no-wasm', 'this browser does not run WebAssembly, which the audio decoder needs');
    }
    const ctx = this.host?.ctx ?? new AudioContext({ sampleRate: PLAYBACK_SAMPLE_RATE, latencyHint: 'interactive' });
    try {
      const [output, lib] = await Promise.all([this.createOutput(ctx), fetchLibopus()]);
      const decoder = new ConcealingDecoder(lib.decoder(PLAYBACK_SAMPLE_RATE));
      const analyser = ctx.createAnalyser();
      analyser.fftSize = this.tapBuffer.length;
      const gain = ctx.createGain();
      gain.gain.value = this.gainValue;
      output.node.connect(gain);
      gain.connect(this.host?.input ?? ctx.destination);
      gain.connect(analyser);
      // A hosted stream leaves its host's context as it is: suspended while the person muted the page.
      if (!this.host) await ctx.resume();
      if (!this.host && ctx.state !== 'running') {
        output.close();
        decoder.close();
        throw new AudioStartError('blocked', 'the browser kept audio blocked');
      }
      const running: Running = { ctx, decoder, output, analyser, gain };
      output.onClock = (c) => this.onClock(running, c);
      this.running = running;
    } catch (err) {
      if (!this.host) void ctx.close();
      throw err;
    }
  }

  /** The AudioWorklet where the page may use one, else the ScriptProcessorNode that exists everywhere. */
  private async createOutput(ctx: AudioContext): Promise<PlayoutOutput> {
    if (ctx.audioWorklet as AudioWorklet | undefined) {
      try {
        return await createWorkletOutput(ctx, this.jitter);
      } catch {
        // A worklet module that does not load (an old browser, a proxy that strips it) still leaves the fallback.
      }
    }
    return createScriptProcessorOutput(ctx, this.jitter);
  }

  private tapLevel(analyser: AnalyserNode): number {
    const buf = this.tapBuffer;
    analyser.getFloatTimeDomainData(buf);
    let sum = 0;
    for (const v of buf) sum += v * v;
    return 10 * Math.log10(sum / buf.length);
  }
}

function outputLatency(run: Running): number {
  const ctxMs = ((run.ctx.baseLatency || 0) + (run.ctx.outputLatency || 0)) * 1000;
  return run.output.nodeLatencyMs + ctxMs;
}
