/*
 * The mixer's building blocks, for the bench and for anyone embedding a mix:
 * the DSP functions, the jitter buffer, one room's mix and the service.
 */
export * from './dsp/audio-format.js';
export * from './dsp/mix.js';
export * from './dsp/mix-bus.js';
export * from './dsp/limiter.js';
export * from './dsp/ramp.js';
export * from './dsp/levels.js';
export * from './dsp/sequence.js';
export * from './dsp/jitter-buffer.js';
export * from './dsp/speaker-detector.js';
export * from './codec/opus-encoder.js';
export * from './codec/opus-source-decoder.js';
export * from './room/mixer-stats.js';
export * from './room/room-mix.js';
export * from './room/source-channel.js';
export * from './presence/audio-presence.js';
export * from './clock/mix-clock.js';
export * from './mixer-service.js';
/* Shared with the recorders' room locks. */
export * from './lease/kv-bucket.js';
