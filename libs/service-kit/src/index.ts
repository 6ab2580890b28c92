export * from './cli.js';
export * from './logger.js';
export * from './nats.js';
export * from './shutdown.js';
