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

/** Samples per ScriptProcessorNode callback: 21 ms at 48 kHz, short enough to talk over, long enough not to glitch. */
export const SCRIPT_PROCESSOR_FRAMES = 1024;

export interface PlayoutOutput {
  readonly path: OutputPath;
  /** The node that carries the played audio, for taps. */
  readonly node: AudioNode;
  /** Delay the output path adds after the jitter buffer, in ms (the node's own buffering). */
  readonly nodeLatencyMs: number;
  push(samples: Float32Array): void;
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
  node.port.onmessage = (ev: MessageEvent<JitterStats>) => {
    latest = ev.data;
  };
  return {
    path: 'worklet',
    node,
    nodeLatencyMs: 0,
    push: (samples) => node.port.postMessage(samples, [samples.buffer]),
    stats: () => latest,
    close: () => {
      // The processor runs until told to stop, connected or not.
      node.port.postMessage(null);
      node.disconnect();
    },
  };
}

/** The ScriptProcessorNode path: available in every context. */
export function createScriptProcessorOutput(
  ctx: AudioContext,
  jitter: Partial<JitterBufferOptions> = DEFAULT_JITTER,
): PlayoutOutput {
  const buffer = new JitterBuffer(ctx.sampleRate, jitter);
  const node = ctx.createScriptProcessor(SCRIPT_PROCESSOR_FRAMES, 0, 1);
  node.onaudioprocess = (ev: AudioProcessingEvent) => {
    buffer.pull(ev.outputBuffer.getChannelData(0));
  };
  return {
    path: 'script-processor',
    node,
    nodeLatencyMs: (SCRIPT_PROCESSOR_FRAMES / ctx.sampleRate) * 1000,
    push: (samples) => buffer.push(samples),
    stats: () => buffer.stats(),
    close: () => {
      node.onaudioprocess = null;
      node.disconnect();
    },
  };
}
