export * from './stack.js';
export * from './viewer-client.js';
export * from './probes.js';
export * from './stalled-viewer.js';
export * from './mixer-status.js';
export * from './secured-nats.js';
