import { PROCESSOR_NAME, WORKLET_URL } from './audio-worklet-name.js';
import { DEFAULT_JITTER, JitterBuffer, type JitterBufferOptions, type JitterStats } from './jitter-buffer.js';

/*
 * The two ways the player gets decoded samples to the sound card. Both put
 * the same jitter buffer (jitter-buffer.ts) between the network and the
 * audio clock, so they behave alike; they differ in where it runs.
 *
 * - `worklet`: an AudioWorklet, on the audio rendering thread. A busy page
 *   cannot starve it. It exists only in secure contexts (https, localhost).
 * - `script-processor`: a ScriptProcessorNode, deprecated but present in
 *   every context, so the page plays on a plain-http LAN address too. Its
 *   callback runs on the main thread, a buffer of `SCRIPT_PROCESSOR_FRAMES`
 *   at a time, which adds that much latency; scheduled AudioBufferSourceNodes
 *   would need their own drift and gap handling on top of the AudioContext
 *   clock, which the shared jitter buffer already does.
 */

export type OutputPath = 'worklet' | 'script-processor';

/**
 * What the output plays when: the capture time (µs) of the first sample of
 * a block, the AudioContext time at which that block is rendered, and the
 * jitter buffer's depth then (samples). Lip sync maps the context time to
 * the wall clock (AudioContext.getOutputTimestamp) to know how late after
 * capture the sound is heard.
 */
export interface PlayClock {
  captureUs: number;
  contextTime: number;
  buffered: number;
}

/** A message from the worklet: its jitter stats, or a play clock. */
export type WorkletReport = JitterStats | ({ clock: true } & PlayClock);

/** Messages to the worklet: samples (with their capture time), or a new hold. */
export type WorkletCommand = { samples: Float32Array; captureUs?: number } | { holdMs: number };

/** Samples per ScriptProcessorNode callback: 21 ms at 48 kHz, short enough to talk over, long enough not to glitch. */
export const SCRIPT_PROCESSOR_FRAMES = 1024;

export interface PlayoutOutput {
  readonly path: OutputPath;
  /** The node that carries the played audio, for taps. */
  readonly node: AudioNode;
  /** Delay the output path adds after the jitter buffer, in ms (the node's own buffering). */
  readonly nodeLatencyMs: number;
  /** `captureUs`: capture time of the first sample, when known. */
  push(samples: Float32Array, captureUs?: number): void;
  /** Extra playout delay for lip sync, ms (see JitterBuffer.setHoldMs). */
  setHoldMs(ms: number): void;
  /** Called with what plays when, a few times per 100 ms while audio plays. */
  onClock: ((c: PlayClock) => void) | null;
  stats(): JitterStats;
  close(): void;
}

const EMPTY_STATS: JitterStats = new JitterBuffer(48_000).stats();

/** The AudioWorklet path; rejects where `audioWorklet` is missing or its module does not load. */
export async function createWorkletOutput(
  ctx: AudioContext,
  jitter: Partial<JitterBufferOptions> = DEFAULT_JITTER,
): Promise<PlayoutOutput> {
  // Typed as always present, but undefined outside a secure context.
  const worklet = ctx.audioWorklet as AudioWorklet | undefined;
  if (!worklet || typeof AudioWorkletNode === 'undefined') throw new Error('AudioWorklet is not available here');
  await worklet.addModule(WORKLET_URL);
  const node = new AudioWorkletNode(ctx, PROCESSOR_NAME, {
    numberOfInputs: 0,
    numberOfOutputs: 1,
    outputChannelCount: [1],
    processorOptions: jitter,
  });
  let latest = EMPTY_STATS;
  const out: PlayoutOutput = {
    path: 'worklet',
    node,
    nodeLatencyMs: 0,
    onClock: null,
    push: (samples, captureUs) => {
      const cmd: WorkletCommand = captureUs === undefined ? { samples } : { samples, captureUs };
      node.port.postMessage(cmd, [samples.buffer]);
    },
    setHoldMs: (holdMs) => node.port.postMessage({ holdMs } satisfies WorkletCommand),
    stats: () => latest,
    close: () => {
      // The processor runs until told to stop, connected or not.
      node.port.postMessage(null);
      node.disconnect();
    },
  };
  node.port.onmessage = (ev: MessageEvent<WorkletReport>) => {
    if ('clock' in ev.data) out.onClock?.(ev.data);
    else latest = ev.data;
  };
  return out;
}

/** The ScriptProcessorNode path: available in every context. */
export function createScriptProcessorOutput(
  ctx: AudioContext,
  jitter: Partial<JitterBufferOptions> = DEFAULT_JITTER,
): PlayoutOutput {
  const buffer = new JitterBuffer(ctx.sampleRate, jitter);
  const node = ctx.createScriptProcessor(SCRIPT_PROCESSOR_FRAMES, 0, 1);
  const out: PlayoutOutput = {
    path: 'script-processor',
    node,
    nodeLatencyMs: (SCRIPT_PROCESSOR_FRAMES / ctx.sampleRate) * 1000,
    onClock: null,
    push: (samples, captureUs) => buffer.push(samples, captureUs),
    setHoldMs: (ms) => buffer.setHoldMs(ms),
    stats: () => buffer.stats(),
    close: () => {
      node.onaudioprocess = null;
      node.disconnect();
    },
  };
  node.onaudioprocess = (ev: AudioProcessingEvent) => {
    buffer.pull(ev.outputBuffer.getChannelData(0));
    const captureUs = buffer.lastPullCaptureUs;
    // playbackTime: when this output buffer is rendered, in context time.
    if (captureUs !== null) out.onClock?.({ captureUs, contextTime: ev.playbackTime, buffered: buffer.buffered });
  };
  return out;
}
