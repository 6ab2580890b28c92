import { Inject, Injectable } from '@nestjs/common';
import { jetstream } from '@nats-io/jetstream';
import { Objm, type ObjectResult, type ObjectStore } from '@nats-io/obj';
import { errors } from '@nats-io/transport-node';
import {
  decodeRecordingReply,
  encodeRecordingRequest,
  recordingObjectName,
  recSubject,
  type RecordingErrorCode,
  type RecordingInfo,
  type RecordingReply,
  type RecordingRequest,
} from '@vidchat/protocol';
import { createLogger } from '@vidchat/service-kit';
import { GATEWAY_CONFIG, type GatewayConfig } from '../config.js';
import { ApiError } from '../http/api-error.js';
import { NatsBus } from '../nats/nats-bus.js';

/*
 * The gateway's side of recording: requests to the recorder over NATS
 * (`vidchat.rec.<room>.{start,stop,list}`), and reads of finished MP4s from
 * the JetStream object store bucket the recorders write, so that any gateway
 * serves any recording. Recorder errors become `ApiError`s here, once.
 */

/** `stop` is answered only once the file is remuxed and stored: a long wait is normal. */
export const RECORDER_REQUEST_TIMEOUT_MS = 60_000;

const log = createLogger('gateway.recordings');

/** HTTP status and code of each recorder error code. */
const STATUS_OF: Record<RecordingErrorCode, [number, ConstructorParameters<typeof ApiError>[1]]> = {
  'bad-room': [400, 'bad-id'],
  'bad-request': [400, 'bad-id'],
  'not-found': [404, 'not-found'],
  'already-recording': [409, 'already-recording'],
  'not-recording': [409, 'not-recording'],
  'too-many-recordings': [503, 'too-many-recordings'],
  internal: [500, 'recorder-failed'],
};

@Injectable()
export class RecordingsService {
  private store: Promise<ObjectStore> | null = null;

  constructor(
    @Inject(NatsBus) private readonly bus: NatsBus,
    @Inject(GATEWAY_CONFIG) private readonly config: GatewayConfig,
  ) {}

  async start(room: string): Promise<RecordingInfo> {
    const reply = await this.request(room, { action: 'start' });
    if (!('recording' in reply)) throw this.nonsense(room, 'start');
    return reply.recording;
  }

  async stop(room: string, id: string): Promise<RecordingInfo> {
    const reply = await this.request(room, { action: 'stop', id });
    if (!('recording' in reply)) throw this.nonsense(room, 'stop');
    return reply.recording;
  }

  async list(room: string): Promise<RecordingInfo[]> {
    const reply = await this.request(room, { action: 'list' });
    if (!('recordings' in reply)) throw this.nonsense(room, 'list');
    return reply.recordings;
  }

  /** The stored MP4 of a recording, as a stream from its first chunk; null when there is none. */
  async open(room: string, id: string): Promise<ObjectResult | null> {
    const store = await this.bucket();
    const result = await store.get(recordingObjectName(room, id));
    if (result === null || result.info.deleted) return null;
    return result;
  }

  private async bucket(): Promise<ObjectStore> {
    const nc = this.bus.connection;
    if (nc === null || nc.isClosed()) throw unavailable('the gateway is not connected to NATS');
    const bucket = this.config.recordingsBucket;
    // Opened with its check: a missing bucket means no recorder ever stored anything.
    this.store ??= new Objm(jetstream(nc, { timeout: RECORDER_REQUEST_TIMEOUT_MS }))
      .open(bucket)
      .catch((err: unknown) => {
        this.store = null;
        log.debug('recordings bucket not open', { error: (err as Error).message });
        throw new ApiError(404, 'not-found', `no recordings are stored (bucket ${bucket} missing)`);
      });
    return this.store;
  }

  private async request(room: string, req: RecordingRequest): Promise<RecordingReply & { ok: true }> {
    const nc = this.bus.connection;
    if (nc === null || nc.isClosed()) throw unavailable('the gateway is not connected to NATS');
    let data: Uint8Array;
    try {
      const msg = await nc.request(recSubject(room, req.action), encodeRecordingRequest(req), {
        timeout: RECORDER_REQUEST_TIMEOUT_MS,
      });
      data = msg.data;
    } catch (err) {
      if (err instanceof errors.RequestError && err.isNoResponders()) {
        throw unavailable('no recorder is running (start vidchat-recorder on the same NATS)');
      }
      if (err instanceof errors.TimeoutError || err instanceof errors.RequestError) {
        throw unavailable(`the recorder did not answer ${req.action} within ${RECORDER_REQUEST_TIMEOUT_MS} ms`);
      }
      throw err;
    }
    let reply: RecordingReply;
    try {
      reply = decodeRecordingReply(data);
    } catch (err) {
      log.warn('bad recorder reply', { room, action: req.action, error: (err as Error).message });
      throw this.nonsense(room, req.action);
    }
    if (!reply.ok) {
      const [status, code] = STATUS_OF[reply.error.code];
      throw new ApiError(status, code, reply.error.message);
    }
    return reply;
  }

  private nonsense(room: string, action: string): ApiError {
    return new ApiError(500, 'recorder-failed', `the recorder answered ${action} of ${room} with an unexpected reply`);
  }
}

function unavailable(message: string): ApiError {
  return new ApiError(503, 'recorder-unavailable', message, { 'Retry-After': '5' });
}
