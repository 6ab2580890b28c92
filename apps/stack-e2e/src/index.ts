export * from './stack.js';
export * from './viewer-client.js';
export * from './probes.js';
