/*
 * Capture timestamps: µs since the Unix epoch, from the monotonic clock
 * anchored to the wall clock at process start, so that two frames are never
 * stamped out of order when NTP steps the wall clock.
 */
export function nowUs(): number {
  return Math.floor((performance.timeOrigin + performance.now()) * 1000);
}
