import { connectNats, createLogger, onShutdown, runCli, setLogLevel, UsageError } from '@vidchat/service-kit';
import { mixerProgram, type MixerConfig } from './config.js';
import { DEFAULT_JITTER_OPTIONS } from './dsp/jitter-buffer.js';
import { MixerService } from './mixer-service.js';
import { RoomLeases } from './lease/room-leases.js';

/* vidchat-mixer: parse the configuration, connect to NATS, run the mixer until a signal. */
async function main(cfg: MixerConfig): Promise<void> {
  setLogLevel(cfg.logLevel);
  if (!(cfg.jitterMinMs <= cfg.jitterStartMs && cfg.jitterStartMs <= cfg.jitterMaxMs)) {
    throw new UsageError(
      `jitter bounds must satisfy --jitter-min-ms <= --jitter-start-ms <= --jitter-max-ms, got ${cfg.jitterMinMs}, ${cfg.jitterStartMs}, ${cfg.jitterMaxMs}`,
    );
  }
  const log = createLogger('main');
  const abort = new AbortController();
  onShutdown(() => abort.abort());
  const { nc } = await connectNats({
    servers: cfg.nats,
    name: 'vidchat-mixer',
    user: cfg.natsUser,
    pass: cfg.natsPass,
    credsFile: cfg.natsCreds,
    signal: abort.signal,
  });
  const service = new MixerService(nc, {
    jitter: { ...DEFAULT_JITTER_OPTIONS, minMs: cfg.jitterMinMs, maxMs: cfg.jitterMaxMs, startMs: cfg.jitterStartMs },
    levelsHz: cfg.levelsHz,
    maxRooms: cfg.maxRooms,
    maxSourcesPerRoom: cfg.maxSourcesPerRoom,
    maxListenersPerRoom: cfg.maxListenersPerRoom,
    bitrate: cfg.bitrate,
    statusIntervalMs: cfg.statusIntervalMs,
  });
  const opened = await RoomLeases.open(
    nc,
    {
      ttlMs: cfg.leaseTtlMs,
      takeoverDelayMs: cfg.takeoverDelayMs,
      replicas: cfg.leaseReplicas,
      maxRooms: cfg.maxRooms,
      ...(cfg.instanceId ? { instanceId: cfg.instanceId } : {}),
    },
    service.leaseHooks,
  );
  if (opened.leases) {
    service.useLeases(opened.leases);
  } else {
    log.warn('no JetStream on the broker: room leases off, this mixer mixes every room; run only one mixer', {
      reason: opened.reason,
    });
  }
  onShutdown(async () => {
    await service.close();
    await nc.drain();
  });
  await service.start();
  log.info('ready', { nats: nc.getServer(), server: nc.info?.server_name, leases: opened.leases?.id ?? 'off' });
}

await runCli(mixerProgram, main);
