import { AUDIO_SAMPLE_RATE } from '../ffmpeg/track-args.js';

/*
 * Capture times of Opus packets from ffmpeg's own sample clock rather than
 * the moment the bytes left its pipe.
 *
 * ffmpeg stamps the audio with `asetpts=N/SR/TB+RTCSTART/1000000/TB` (see
 * track-args.ts): sample N of the stream is at the wall-clock time the
 * filter graph started plus N samples. The Ogg muxer writes that timeline
 * into each page's granule position, which is the end of the page's last
 * packet in 48 kHz samples (RFC 7845: the granule counts the encoder's
 * pre-skip too, and ffmpeg's libopus wrapper shifts its output pts back by
 * the same pre-skip, so the two cancel). So a packet's first sample was
 * captured at granule / 48 kHz − its duration: every latency measured from
 * it includes ffmpeg's buffering and encoding, and packets are spaced by
 * exactly their duration, free of the pipe's jitter.
 *
 * A sound card's clock is not the system's: over hours the sample timeline
 * drifts from the wall clock. A stamp in the future, or more than
 * MAX_CAPTURE_LAG_US behind the moment the packet arrived, cannot be a
 * capture time; the clock then re-anchors so that this packet is stamped
 * with its arrival time, and carries on from there (counted as `reanchors`).
 * An ffmpeg whose output has no epoch timeline (granule near zero) ends up
 * on the arrival times the same way.
 */

/** Largest believable delay from capture to arrival through ffmpeg, µs. */
export const MAX_CAPTURE_LAG_US = 1_000_000;

/** µs per 48 kHz sample is 1e6 / 48000 = 125 / 6. */
function samplesToUs(samples: bigint): number {
  return (Number(samples) * 1_000_000) / AUDIO_SAMPLE_RATE;
}

export class AudioCaptureClock {
  private correctionUs = 0;
  private lastGranule: bigint | null = null;
  private lastStampUs: number | null = null;
  private lastDurationUs = 0;
  /** Times the timeline was moved to the arrival time. */
  reanchors = 0;

  /** Forgets the timeline: ffmpeg was restarted and starts a new one. */
  reset(): void {
    this.correctionUs = 0;
    this.lastGranule = null;
    this.lastStampUs = null;
    this.lastDurationUs = 0;
  }

  /** The capture time (µs since the epoch) of a packet of `durationUs` that ended an Ogg page at `granule`, arriving at `nowUs`. */
  stamp(granule: bigint, durationUs: number, nowUs: number): number {
    let stamp: number;
    if (this.lastStampUs !== null && granule === this.lastGranule) {
      // Several packets on one page share its granule: continue from the previous packet.
      stamp = this.lastStampUs + this.lastDurationUs;
    } else {
      stamp = Math.round(samplesToUs(granule) - durationUs + this.correctionUs);
    }
    if (stamp > nowUs || nowUs - stamp > MAX_CAPTURE_LAG_US) {
      this.correctionUs += nowUs - stamp;
      stamp = nowUs;
      this.reanchors++;
    }
    // Never backwards, whatever the re-anchoring did.
    if (this.lastStampUs !== null && stamp <= this.lastStampUs) stamp = this.lastStampUs + 1;
    this.lastGranule = granule;
    this.lastStampUs = stamp;
    this.lastDurationUs = durationUs;
    return stamp;
  }
}
