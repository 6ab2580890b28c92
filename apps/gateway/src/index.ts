export { createGateway, PortInUseError, type RunningGateway } from './gateway.js';
export { defaultConfig, DEFAULTS, type GatewayConfig } from './config.js';
export { mintViewerToken, checkViewerToken, TokenError } from './auth/viewer-token.js';
