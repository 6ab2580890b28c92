import type { AudioStartErrorCode } from './audio-player.js';

/**
 * What the page says when audio cannot start: why, and what to do about it.
 * Plain-http LAN addresses play through the fallback output, so a failure
 * there is rare; when it happens the https address is the first thing to try.
 */
export function audioErrorText(code: AudioStartErrorCode, detail: string, secure: boolean, host: string): string {
  const https = secure
    ? ''
    : ` This page is not on a secure address; try the https one (with npm start: https://${host}:8443/ plus this page's ?room=…).`;
  switch (code) {
    case 'no-web-audio':
      return 'No sound: this browser cannot play Web Audio. Use a current Chrome, Edge, Firefox or Safari.';
    case 'no-wasm':
      return 'No sound: this browser does not run WebAssembly (is it turned off?), which the audio decoder needs.';
    case 'blocked':
      return 'No sound yet: the browser kept audio blocked. Click "Enable audio" again, or allow sound for this site.';
    case 'start-failed':
      return `No sound: audio could not start (${detail}).${https}`;
  }
}
