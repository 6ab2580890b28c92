import type { NatsConnection } from '@nats-io/transport-node';
import { JetStreamApiCodes, JetStreamApiError, jetstream, jetstreamManager, StorageType } from '@nats-io/jetstream';
import { Kvm, type KV } from '@nats-io/kv';
import type { Logger } from '@vidchat/service-kit';

/*
 * What the mixers' room leases and the recorders' room locks share: a
 * key-value bucket in memory that several instances create or open, writes
 * checked against a revision (a lapse is judged by each reader's own clock,
 * see room-leases.ts: nats-server 2.9 has no per-key TTL).
 */

/**
 * True when the bucket refused a write on its revision check (the key was
 * written since our revision: another instance holds it now). Any other
 * failure (timeout, no responders while a stream leader is elected,
 * connection lost) leaves the question open.
 */
export function refusedOnRevision(err: unknown): boolean {
  return (
    err instanceof JetStreamApiError &&
    (err.code === JetStreamApiCodes.StreamWrongLastSequence ||
      err.code === JetStreamApiCodes.StreamWrongLastSequenceUnknown)
  );
}

export interface LeaseBucketOptions {
  /** Keys untouched this long are removed by the server (garbage of instances long gone), ms. */
  maxAgeMs: number;
  replicas: number;
  /** Time each KV request may take, ms. */
  timeoutMs: number;
  log: Logger;
}

export type LeaseBucketResult = { kv: KV } | { kv: null; reason: string };

/**
 * Opens the bucket, creating it (memory storage, history 1) when it does not
 * exist. Resolves with no bucket, and the reason, when the broker has no
 * JetStream. A bucket made by another instance with other options is used
 * as it is.
 */
export async function openLeaseBucket(
  nc: NatsConnection,
  bucket: string,
  o: LeaseBucketOptions,
): Promise<LeaseBucketResult> {
  try {
    // Any JetStream API answers "no responders" at once on a plain broker.
    await (await jetstreamManager(nc, { timeout: 5_000 })).getAccountInfo();
  } catch (err) {
    return { kv: null, reason: (err as Error).message };
  }
  const kvm = new Kvm(jetstream(nc, { timeout: o.timeoutMs }));
  try {
    return {
      kv: await kvm.create(bucket, { history: 1, ttl: o.maxAgeMs, replicas: o.replicas, storage: StorageType.Memory }),
    };
  } catch (err) {
    o.log.warn('bucket exists with other options, using it', { bucket, error: (err as Error).message });
    return { kv: await kvm.open(bucket) };
  }
}
