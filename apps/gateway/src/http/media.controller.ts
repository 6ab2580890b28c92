import { Controller, Get, Inject, Param, Req, Res } from '@nestjs/common';
import type { Request, Response } from 'express';
import type { SourceInfo } from '@vidchat/protocol';
import { GatewayContext } from '../gateway-context.js';
import type { MediaFrame, RoomWatcher } from '../rooms/room-watcher.js';
import { authorized, pathIds, sendError } from './http-util.js';
import { MjpegClient } from './mjpeg-client.js';

/** Snapshot and MJPEG routes of one source. Both count as interest in the room. */
@Controller('api/rooms/:room/sources/:source')
export class MediaController {
  constructor(@Inject(GatewayContext) private readonly ctx: GatewayContext) {}

  @Get('snapshot.jpg')
  async snapshot(
    @Param('room') room: string,
    @Param('source') source: string,
    @Req() req: Request,
    @Res() res: Response,
  ): Promise<void> {
    const ids = pathIds(res, room, source);
    if (!ids || !authorized(this.ctx.auth, req, res, ids.room)) return;
    const jpeg = await this.latestJpeg(ids.room, ids.source);
    if (!jpeg) {
      sendError(res, 404, 'no-frame', `no frame from source ${ids.source} in room ${ids.room}`);
      return;
    }
    res.setHeader('Content-Type', 'image/jpeg');
    res.setHeader('Cache-Control', 'no-store');
    res.end(Buffer.from(jpeg.buffer, jpeg.byteOffset, jpeg.length));
  }

  @Get('stream.mjpeg')
  stream(
    @Param('room') room: string,
    @Param('source') source: string,
    @Req() req: Request,
    @Res() res: Response,
  ): void {
    const ids = pathIds(res, room, source);
    if (!ids || !authorized(this.ctx.auth, req, res, ids.room)) return;
    if (this.ctx.mjpegClients.size >= this.ctx.config.maxMjpegClients) {
      res.setHeader('Retry-After', '5');
      sendError(res, 503, 'too-many-streams', `at most ${this.ctx.config.maxMjpegClients} MJPEG streams at once`);
      return;
    }
    const client = new MjpegClient(res, ids.source, this.ctx.metrics);
    const { room: r, release } = this.ctx.registry.watch(ids.room, client);
    this.ctx.mjpegClients.add(client);
    this.ctx.metrics.mjpegClients.set(this.ctx.mjpegClients.size);
    res.on('close', () => {
      release();
      this.ctx.mjpegClients.delete(client);
      this.ctx.metrics.mjpegClients.set(this.ctx.mjpegClients.size);
    });
    client.start();
    const latest = r.sources.get(ids.source)?.latestVideo;
    if (latest) client.jpeg(latest.payload);
  }

  /** The newest JPEG, waiting briefly (while holding interest) when none is known yet. */
  private latestJpeg(room: string, source: string): Promise<Uint8Array | null> {
    return new Promise((resolve) => {
      let timer: NodeJS.Timeout | undefined = undefined;
      let settled = false;
      const watcher: RoomWatcher = {
        onSourceJoined: (_r: string, _s: SourceInfo) => undefined,
        onSourceLeft: () => undefined,
        onMedia: (frame: MediaFrame) => {
          if (frame.kind === 'video' && frame.source === source) done(frame.payload);
        },
      };
      const { room: r, release } = this.ctx.registry.watch(room, watcher);
      const done = (jpeg: Uint8Array | null): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        release();
        resolve(jpeg);
      };
      const latest = r.sources.get(source)?.latestVideo;
      if (latest) return done(latest.payload);
      timer = setTimeout(() => done(null), this.ctx.config.snapshotWaitMs);
    });
  }
}
