import { Controller, Get, Header, Inject, Param, Res, StreamableFile } from '@nestjs/common';
import type { Response } from 'express';
import { RoomAuthorizer } from '../auth/room-authorizer.js';
import { GATEWAY_CONFIG, type GatewayConfig } from '../config.js';
import { RoomRegistry } from '../rooms/room-registry.js';
import type { MediaFrame, RoomWatcher } from '../rooms/room-watcher.js';
import { ApiError } from './api-error.js';
import { authorize, RequestToken, ValidIdPipe, watchOrRefuse } from './http-util.js';
import { MjpegClients } from './mjpeg-clients.js';

/** Snapshot and MJPEG routes of one source. Both count as interest in the room. */
@Controller('api/rooms/:room/sources/:source')
export class MediaController {
  constructor(
    @Inject(GATEWAY_CONFIG) private readonly config: GatewayConfig,
    @Inject(RoomRegistry) private readonly registry: RoomRegistry,
    @Inject(RoomAuthorizer) private readonly auth: RoomAuthorizer,
    @Inject(MjpegClients) private readonly mjpeg: MjpegClients,
  ) {}

  @Get('snapshot.jpg')
  @Header('Cache-Control', 'no-store')
  async snapshot(
    @Param('room', ValidIdPipe) room: string,
    @Param('source', ValidIdPipe) source: string,
    @RequestToken() token: string | undefined,
  ): Promise<StreamableFile> {
    await authorize(this.auth, token, room);
    const jpeg = await this.latestJpeg(room, source);
    if (!jpeg) throw new ApiError(404, 'no-frame', `no frame from source ${source} in room ${room}`);
    return new StreamableFile(jpeg, { type: 'image/jpeg', length: jpeg.length });
  }

  /** `@Res()` here: the response stays open, written frame by frame, until the client leaves. */
  @Get('stream.mjpeg')
  async stream(
    @Param('room', ValidIdPipe) room: string,
    @Param('source', ValidIdPipe) source: string,
    @RequestToken() token: string | undefined,
    @Res() res: Response,
  ): Promise<void> {
    await authorize(this.auth, token, room);
    this.mjpeg.open(res, room, source);
  }

  /** The newest JPEG, waiting briefly (while holding interest) when none is known yet. */
  private latestJpeg(room: string, source: string): Promise<Uint8Array | null> {
    return new Promise((resolve) => {
      let timer: NodeJS.Timeout | undefined = undefined;
      let settled = false;
      const watcher: RoomWatcher = {
        onSourceJoined: () => undefined,
        onSourceLeft: () => undefined,
        onMedia: (frame: MediaFrame) => {
          if (frame.kind === 'video' && frame.source === source) done(frame.payload);
        },
      };
      // Transient: one snapshot's subscribe and unsubscribe are debug lines.
      const { room: r, release } = watchOrRefuse(this.registry, room, watcher, { transient: true });
      const done = (jpeg: Uint8Array | null): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        release();
        resolve(jpeg);
      };
      const latest = r.sources.get(source)?.latestVideo;
      if (latest) return done(latest.payload);
      timer = setTimeout(() => done(null), this.config.snapshotWaitMs);
    });
  }
}
