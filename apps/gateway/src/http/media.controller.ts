import { Controller, Get, Header, Inject, Param, Query, Res, StreamableFile } from '@nestjs/common';
import { MAX_VIDEO_LAYER } from '@vidchat/protocol';
import type { Response } from 'express';
import { RoomAuthorizer } from '../auth/room-authorizer.js';
import { GATEWAY_CONFIG, type GatewayConfig } from '../config.js';
import { RoomRegistry } from '../rooms/room-registry.js';
import type { MediaFrame, RoomWatcher } from '../rooms/room-watcher.js';
import { ApiError } from './api-error.js';
import { authorize, RequestToken, ValidIdPipe, watchOrRefuse } from './http-util.js';
import { MjpegClients } from './mjpeg-clients.js';

/** `?layer=`: absent is layer 0; otherwise 0 .. MAX_VIDEO_LAYER. */
export function parseLayerQuery(raw: unknown): number {
  if (raw === undefined) return 0;
  const layer = typeof raw === 'string' && /^\d$/.test(raw) ? Number(raw) : NaN;
  if (!(layer >= 0 && layer <= MAX_VIDEO_LAYER)) {
    throw new ApiError(400, 'bad-layer', `layer must be 0 to ${MAX_VIDEO_LAYER}, got ${JSON.stringify(raw)}`);
  }
  return layer;
}

/**
 * Snapshot and MJPEG routes of one source, of layer 0 or of the layer that
 * `?layer=` names. Both count as interest in the room and in that layer.
 */
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
    @Query('layer') layerRaw: unknown,
  ): Promise<StreamableFile> {
    const layer = parseLayerQuery(layerRaw);
    await authorize(this.auth, token, room);
    const jpeg = await this.latestJpeg(room, source, layer);
    if (!jpeg) throw new ApiError(404, 'no-frame', `no frame from source ${source} in room ${room}`);
    return new StreamableFile(jpeg, { type: 'image/jpeg', length: jpeg.length });
  }

  /** `@Res()` here: the response stays open, written frame by frame, until the client leaves. */
  @Get('stream.mjpeg')
  async stream(
    @Param('room', ValidIdPipe) room: string,
    @Param('source', ValidIdPipe) source: string,
    @RequestToken() token: string | undefined,
    @Query('layer') layerRaw: unknown,
    @Res() res: Response,
  ): Promise<void> {
    const layer = parseLayerQuery(layerRaw);
    await authorize(this.auth, token, room);
    this.mjpeg.open(res, room, source, layer);
  }

  /** The newest JPEG, waiting briefly (while holding interest) when none is known yet. */
  private latestJpeg(room: string, source: string, layer: number): Promise<Uint8Array | null> {
    return new Promise((resolve) => {
      let timer: NodeJS.Timeout | undefined = undefined;
      let settled = false;
      const watcher: RoomWatcher = {
        onSourceJoined: () => undefined,
        onSourceLeft: () => undefined,
        onMedia: (frame: MediaFrame) => {
          if (frame.kind === 'video' && frame.source === source && frame.layer === layer) done(frame.payload);
        },
      };
      // Transient: one snapshot's subscribe and unsubscribe are debug lines.
      const { release } = watchOrRefuse(this.registry, room, watcher, { transient: true });
      const releaseLayer = this.registry.wantLayer(room, source, layer);
      const done = (jpeg: Uint8Array | null): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        releaseLayer();
        release();
        resolve(jpeg);
      };
      const latest = this.registry.latestVideo(room, source, layer);
      if (latest) return done(latest.payload);
      timer = setTimeout(() => done(null), this.config.snapshotWaitMs);
    });
  }
}
