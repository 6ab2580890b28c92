import { FRAME_SAMPLES } from './audio-format.js';
import { limitInPlace } from './limiter.js';
import { addInto, floatToInt16, mixMinusInto } from './mix.js';

/*
 * One tick of a room's mix bus: every source summed once, then, for each
 * output, the limiter and the int16 conversion. The room mix is the whole
 * sum; a listener's mix-minus is the sum without that listener's own frame,
 * taken out BEFORE the limiter: the limiter bends a loud sum, so subtracting
 * after it would leave a residue of the listener's own voice (and take the
 * wrong amount out of everyone else's).
 *
 * Pure and allocation-free per tick: the caller (RoomMix) owns the sources
 * and the encoders.
 */
export class MixBus {
  private readonly sum: Float32Array;
  private readonly work: Float32Array;
  private readonly pcm: Int16Array;
  /** This tick's frame of each source, gain already applied; views the caller keeps valid until the next tick. */
  private readonly own = new Map<string, Float32Array>();

  constructor(readonly length: number = FRAME_SAMPLES) {
    this.sum = new Float32Array(length);
    this.work = new Float32Array(length);
    this.pcm = new Int16Array(length);
  }

  /** Starts a tick: an empty sum. */
  begin(): void {
    this.sum.fill(0);
    this.own.clear();
  }

  /** Adds one source's frame (gain and ramps applied) to this tick's sum. */
  add(source: string, frame: Float32Array): void {
    addInto(this.sum, frame);
    this.own.set(source, frame);
  }

  /** The room mix of this tick, limited, as int16; the buffer is reused by the next `mix` or `minus` call. */
  mix(): Int16Array {
    return this.finish(mixMinusInto(this.work, this.sum, null));
  }

  /**
   * The mix-minus of `listener`, limited, as int16: the full mix when the
   * listener added no frame this tick (a listener without a microphone, or
   * one refused for capacity, hears everyone). The buffer is reused by the
   * next `mix` or `minus` call.
   */
  minus(listener: string): Int16Array {
    return this.finish(mixMinusInto(this.work, this.sum, this.own.get(listener) ?? null));
  }

  private finish(frame: Float32Array): Int16Array {
    return floatToInt16(limitInPlace(frame), this.pcm);
  }
}
