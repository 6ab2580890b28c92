/*
 * The AudioWorklet side of the player, bundled on its own into
 * dist/public/audio-worklet.js: a same-origin module, as the gateway's CSP
 * (`script-src 'self'`) requires. It receives decoded 48 kHz mono samples
 * over its port and plays them through a jitter buffer; `null` stops it for
 * good (a per-source stream that left), so that it no longer runs.
 */
import { PROCESSOR_NAME } from './audio-worklet-name.js';
import type { WorkletCommand, WorkletReport } from './audio-output.js';
import { JitterBuffer, type JitterBufferOptions } from './jitter-buffer.js';

/** How often the processor reports its counters, in render quanta (128 samples): about 0.27 s. */
const REPORT_EVERY_QUANTA = 100;
/** How often it says what it plays when (lip sync), in render quanta: about 21 ms. */
const CLOCK_EVERY_QUANTA = 8;

// The worklet global scope is not part of TypeScript's DOM lib.
declare const sampleRate: number;
declare const currentTime: number;
declare function registerProcessor(name: string, ctor: new (options: AudioWorkletNodeOptions) => object): void;
declare class AudioWorkletProcessor {
  readonly port: MessagePort;
}

class PlayerProcessor extends AudioWorkletProcessor {
  private readonly buffer: JitterBuffer;
  private quanta = 0;
  private stopped = false;

  constructor(options: AudioWorkletNodeOptions) {
    super();
    const opts = options.processorOptions as Partial<JitterBufferOptions> | undefined;
    this.buffer = new JitterBuffer(sampleRate, opts);
    this.port.onmessage = (ev: MessageEvent<WorkletCommand | null>) => {
      const cmd = ev.data;
      if (cmd === null) this.stopped = true;
      else if ('holdMs' in cmd) this.buffer.setHoldMs(cmd.holdMs);
      else this.buffer.push(cmd.samples, cmd.captureUs);
    };
  }

  process(_inputs: Float32Array[][], outputs: Float32Array[][]): boolean {
    const out = outputs[0];
    const first = out?.[0];
    if (out && first) {
      this.buffer.pull(first);
      for (let c = 1; c < out.length; c++) out[c]?.set(first);
    }
    this.quanta++;
    const captureUs = this.buffer.lastPullCaptureUs;
    if (captureUs !== null && this.quanta % CLOCK_EVERY_QUANTA === 0) {
      // currentTime: when this render quantum is rendered, in context time.
      const clock: WorkletReport = { clock: true, captureUs, contextTime: currentTime, buffered: this.buffer.buffered };
      this.port.postMessage(clock);
    }
    if (this.quanta % REPORT_EVERY_QUANTA === 0) this.port.postMessage(this.buffer.stats() satisfies WorkletReport);
    return !this.stopped;
  }
}

registerProcessor(PROCESSOR_NAME, PlayerProcessor);
