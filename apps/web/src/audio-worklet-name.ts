/** Shared by the worklet module and the page that loads it. */
export const PROCESSOR_NAME = 'vidchat-player';
/** Bundled next to app.js by scripts/build-viewer.mjs. */
export const WORKLET_URL = 'audio-worklet.js';
