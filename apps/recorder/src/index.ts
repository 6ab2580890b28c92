/*
 * The recorder's building blocks, for the bench and the tests: layout,
 * audio timeline, compositor, encoder, store and the service.
 */
export * from './compose/grid-layout.js';
export * from './compose/canvas.js';
export * from './compose/tile-images.js';
export * from './compose/compositor.js';
export * from './audio/audio-timeline.js';
export * from './ffmpeg/encoder-args.js';
export * from './ffmpeg/encoder-errors.js';
export * from './ffmpeg/encoder-process.js';
export * from './storage/recording-store.js';
export * from './session/room-recording.js';
export * from './recorder-service.js';
