import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { NatsConnection } from '@nats-io/transport-node';
import { jetstream } from '@nats-io/jetstream';
import { Objm } from '@nats-io/obj';
import {
  decodeRecordingReply,
  DEFAULT_RECORDINGS_BUCKET,
  encodeRecordingRequest,
  recSubject,
  type RecordingInfo,
  type RecordingReply,
  type RecordingRequest,
} from '@vidchat/protocol';

/*
 * What the tests do as the gateway will: requests to the recorder over
 * NATS, and downloads of stored recordings from the object store bucket.
 */

/** Generous: `stop` answers once the file is remuxed and stored. */
export const REQUEST_TIMEOUT_MS = 60_000;

export async function recorderRequest(
  nc: NatsConnection,
  room: string,
  req: RecordingRequest,
): Promise<RecordingReply> {
  const msg = await nc.request(recSubject(room, req.action), encodeRecordingRequest(req), {
    timeout: REQUEST_TIMEOUT_MS,
  });
  return decodeRecordingReply(msg.data);
}

/** The recording of a successful start or stop reply; fails the test on anything else. */
export function expectRecording(reply: RecordingReply): RecordingInfo {
  assert.ok(reply.ok && 'recording' in reply, `expected a recording, got ${JSON.stringify(reply)}`);
  return reply.recording;
}

/** Downloads a stored recording into `dir`, as any gateway would read it, and returns the file. */
export async function downloadRecording(nc: NatsConnection, info: RecordingInfo, dir: string): Promise<string> {
  assert.ok(info.object, `recording ${info.id} has no stored object`);
  const store = await new Objm(jetstream(nc, { timeout: REQUEST_TIMEOUT_MS })).open(DEFAULT_RECORDINGS_BUCKET);
  const data = await store.getBlob(info.object);
  assert.ok(data && data.length > 0, `object ${info.object} is empty`);
  const file = join(dir, `${info.id}.mp4`);
  writeFileSync(file, data);
  return file;
}
