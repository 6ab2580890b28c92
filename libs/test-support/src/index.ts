export * from './binaries.js';
export * from './nats-server.js';
export * from './nats-fixture.js';
export * from './processes.js';
export * from './wait.js';
export * from './chromium.js';
export * from './test-media.js';
export * from './fake-source.js';
