import type { Response } from 'express';
import type { SourceInfo } from '@vidchat/protocol';
import type { GatewayMetrics } from '../metrics/gateway-metrics.js';
import type { MediaFrame, RoomWatcher } from '../rooms/room-watcher.js';

export const MJPEG_BOUNDARY = 'vidchatframe';

/**
 * One `multipart/x-mixed-replace` response. Latest-frame-wins like a viewer
 * socket, with `res.write`'s own backpressure: while a write is not drained,
 * only the newest JPEG waits and the ones it replaces are counted as dropped.
 */
export class MjpegClient implements RoomWatcher {
  private draining = false;
  private pending: Uint8Array | null = null;
  private ended = false;

  constructor(
    private readonly res: Response,
    private readonly source: string,
    private readonly layer: number,
    private readonly metrics: GatewayMetrics,
  ) {
    res.on('drain', () => {
      this.draining = false;
      const next = this.pending;
      this.pending = null;
      if (next) this.write(next);
    });
  }

  start(): void {
    this.res.writeHead(200, {
      'Content-Type': `multipart/x-mixed-replace; boundary=${MJPEG_BOUNDARY}`,
      'Cache-Control': 'no-store, no-cache, must-revalidate',
      Pragma: 'no-cache',
      Connection: 'close',
    });
    // Headers go out now: a client must see the stream start before the first frame.
    this.res.flushHeaders();
  }

  onSourceJoined(_room: string, _source: SourceInfo): void {}
  onSourceLeft(_room: string, _source: string): void {}

  onMedia(frame: MediaFrame): void {
    if (frame.kind !== 'video' || frame.source !== this.source || frame.layer !== this.layer) return;
    this.jpeg(frame.payload);
  }

  jpeg(payload: Uint8Array): void {
    if (this.ended) return;
    if (this.draining) {
      if (this.pending) this.metrics.drop('mjpeg-superseded');
      this.pending = payload;
      return;
    }
    this.write(payload);
  }

  end(): void {
    if (this.ended) return;
    this.ended = true;
    this.pending = null;
    this.res.end();
  }

  private write(payload: Uint8Array): void {
    const head = `--${MJPEG_BOUNDARY}\r\nContent-Type: image/jpeg\r\nContent-Length: ${payload.length}\r\n\r\n`;
    this.res.write(head);
    this.res.write(payload);
    const ok = this.res.write('\r\n');
    this.metrics.sent(payload.length);
    if (!ok) this.draining = true;
  }
}
