import { Readable } from 'node:stream';
import { Controller, Get, Headers, HttpCode, Inject, Param, Post, Res } from '@nestjs/common';
import type { Response } from 'express';
import {
  isValidId,
  recordingDownloadPath,
  type RecordingInfo,
  type RecordingListItem,
  type RecordingStartResponse,
  type RecordingStopResponse,
} from '@vidchat/protocol';
import { createLogger } from '@vidchat/service-kit';
import { RoomAuthorizer } from '../auth/room-authorizer.js';
import { TokenError } from '../auth/viewer-token.js';
import { ApiError } from '../http/api-error.js';
import { authorize, RequestToken, ValidIdPipe } from '../http/http-util.js';
import { chunksOf, parseByteRange, sliceStream } from './byte-range.js';
import { RecordingsService } from './recordings.service.js';

/*
 * The recording routes of the design: start, stop, list, download. With a
 * viewer secret, start and stop need a token with the `record` grant (401
 * without a token that opens the room, 403 `forbidden` with one that lacks
 * the grant); list and download need a token that opens the room.
 */

const log = createLogger('gateway.recordings.http');

function listItem(r: RecordingInfo): RecordingListItem {
  return {
    id: r.id,
    state: r.state,
    startedAt: r.startedAt,
    durationMs: r.durationMs,
    bytes: r.bytes,
    url: r.object === null ? null : recordingDownloadPath(r.room, r.id),
  };
}

function notFound(room: string, id: string): ApiError {
  return new ApiError(404, 'not-found', `no stored recording ${id} in room ${room}`);
}

@Controller('api/rooms')
export class RecordingsController {
  constructor(
    @Inject(RecordingsService) private readonly recordings: RecordingsService,
    @Inject(RoomAuthorizer) private readonly auth: RoomAuthorizer,
  ) {}

  @Post(':room/recordings')
  @HttpCode(201)
  async start(
    @Param('room', ValidIdPipe) room: string,
    @RequestToken() token: string | undefined,
  ): Promise<RecordingStartResponse> {
    await this.mayRecord(token, room);
    const r = await this.recordings.start(room);
    return { id: r.id, room: r.room, state: 'recording', startedAt: r.startedAt };
  }

  @Post(':room/recordings/:id/stop')
  @HttpCode(200)
  async stop(
    @Param('room', ValidIdPipe) room: string,
    @Param('id') id: string,
    @RequestToken() token: string | undefined,
  ): Promise<RecordingStopResponse> {
    await this.mayRecord(token, room);
    if (!isValidId(id)) throw new ApiError(404, 'not-found', `no recording ${JSON.stringify(id)} in room ${room}`);
    const r = await this.recordings.stop(room, id);
    return { id: r.id, state: r.state };
  }

  @Get(':room/recordings')
  async list(
    @Param('room', ValidIdPipe) room: string,
    @RequestToken() token: string | undefined,
  ): Promise<RecordingListItem[]> {
    await authorize(this.auth, token, room);
    return (await this.recordings.list(room)).map(listItem);
  }

  /** `GET /api/rooms/:room/recordings/:id.mp4`: the stored MP4, streamed chunk by chunk, with ranges. */
  @Get(':room/recordings/:file')
  async download(
    @Param('room', ValidIdPipe) room: string,
    @Param('file') file: string,
    @RequestToken() token: string | undefined,
    @Headers('range') rangeHeader: string | undefined,
    @Res() res: Response,
  ): Promise<void> {
    await authorize(this.auth, token, room);
    const id = file.endsWith('.mp4') ? file.slice(0, -'.mp4'.length) : '';
    if (!isValidId(id)) throw notFound(room, file);
    const result = await this.recordings.open(room, id);
    if (result === null) throw notFound(room, id);
    const size = result.info.size;
    const range = parseByteRange(rangeHeader, size);
    if (range === 'unsatisfiable') {
      await result.data.cancel();
      throw new ApiError(416, 'bad-range', `range ${rangeHeader ?? ''} is outside the ${size} bytes of ${id}`, {
        'Content-Range': `bytes */${size}`,
      });
    }
    res.set({
      'Content-Type': 'video/mp4',
      'Accept-Ranges': 'bytes',
      'Content-Disposition': `inline; filename="${room}-${id}.mp4"`,
      'Cache-Control': 'private, max-age=0',
    });
    const whole = { start: 0, end: size - 1 };
    if (range === 'whole') {
      res.status(200).set('Content-Length', String(size));
    } else {
      res.status(206).set({
        'Content-Length': String(range.end - range.start + 1),
        'Content-Range': `bytes ${range.start}-${range.end}/${size}`,
      });
    }
    const body = Readable.from(sliceStream(chunksOf(result.data), range === 'whole' ? whole : range), {
      objectMode: false,
    });
    body.on('error', (err) => {
      log.warn('recording download failed', { room, id, error: err.message });
      res.destroy(err);
    });
    // Destroying the readable (client gone) returns the generator, which cancels the object stream.
    res.on('close', () => body.destroy());
    body.pipe(res);
  }

  /** 401 unless the token opens the room, 403 unless it also grants `record`. */
  private async mayRecord(token: string | undefined, room: string): Promise<void> {
    let record: boolean;
    try {
      record = (await this.auth.check(token, room)).record;
    } catch (err) {
      if (!(err instanceof TokenError)) throw err;
      throw new ApiError(401, 'unauthorized', `not allowed to record ${room}: ${err.message}`, {
        'WWW-Authenticate': 'Bearer',
      });
    }
    if (!record) throw new ApiError(403, 'forbidden', `this token does not grant record in room ${room}`);
  }
}
