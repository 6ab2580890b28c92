/*
 * Whether this page can use the camera and the microphone, and where to go
 * when it cannot. Browsers expose `getUserMedia` only in a secure context:
 * https, or http on localhost / 127.0.0.1. A page opened as
 * http://<lan-address>:8080 from another machine is not one, so the Join
 * control says why and links the same page on the gateway's https port.
 */

/** The gateway's https port in `npm start` (DESIGN.md: HTTPS with a self-signed certificate on 8443). */
export const DEFAULT_HTTPS_PORT = 8443;

export type CaptureSupport =
  | { ok: true }
  /** Plain http from another machine: the https address of this same page. */
  | { ok: false; reason: 'insecure'; httpsUrl: string }
  /** A secure page in a browser without `navigator.mediaDevices` (very old, or locked down). */
  | { ok: false; reason: 'unsupported' };

export interface CaptureEnvironment {
  href: string;
  isSecureContext: boolean;
  hasGetUserMedia: boolean;
}

export function captureSupport(env: CaptureEnvironment, httpsPort: number = DEFAULT_HTTPS_PORT): CaptureSupport {
  if (env.isSecureContext) return env.hasGetUserMedia ? { ok: true } : { ok: false, reason: 'unsupported' };
  return { ok: false, reason: 'insecure', httpsUrl: httpsHref(env.href, httpsPort) };
}

/** The same page (path, query, hash) over https on `port`, same host name. */
export function httpsHref(href: string, port: number): string {
  const url = new URL(href);
  url.protocol = 'https:';
  url.port = String(port);
  return url.href;
}
