import type { Logger, NatsState } from '@vidchat/service-kit';
import type { AudioTrack } from './tracks/audio-track.js';
import type { VideoTrack } from './tracks/video-track.js';

/*
 * A status line at info every few seconds, so a person watching the
 * terminal sees the agent is alive: rates over the last interval, NATS
 * state, restarts and drops since start.
 */

/** Interval of the status line. */
export const DEFAULT_STATUS_INTERVAL_MS = 5_000;

export interface StatusSources {
  video: VideoTrack | null;
  audio: AudioTrack | null;
  natsState: () => NatsState;
}

export class StatusReporter {
  private timer: NodeJS.Timeout | null = null;
  private last = { at: 0, vItems: 0, vBytes: 0, aItems: 0, aBytes: 0 };

  constructor(
    private readonly s: StatusSources,
    private readonly log: Logger,
    private readonly intervalMs = DEFAULT_STATUS_INTERVAL_MS,
  ) {}

  start(): void {
    this.last = { at: Date.now(), ...this.snapshot() };
    this.timer = setInterval(() => this.report(), this.intervalMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  private snapshot(): { vItems: number; vBytes: number; aItems: number; aBytes: number } {
    return {
      vItems: this.s.video?.counters.items ?? 0,
      vBytes: this.s.video?.counters.bytes ?? 0,
      aItems: this.s.audio?.counters.items ?? 0,
      aBytes: this.s.audio?.counters.bytes ?? 0,
    };
  }

  report(): void {
    const now = Date.now();
    const cur = this.snapshot();
    const secs = Math.max(0.001, (now - this.last.at) / 1000);
    const rate = (d: number): number => Math.round((d / secs) * 10) / 10;
    const kbps = (d: number): number => Math.round((d * 8) / secs / 1000);
    const { video, audio } = this.s;
    const cpu = process.cpuUsage();
    const nats = this.s.natsState();
    this.log.info('status', {
      ...(video
        ? {
            fps: rate(cur.vItems - this.last.vItems),
            videoKbps: kbps(cur.vBytes - this.last.vBytes),
            videoRestarts: video.supervisor.restarts,
            videoDrops:
              video.publisher.stats.dropped +
              video.splitter.stats.oversizeFrames +
              video.splitter.stats.corruptFrames +
              (video.smjpeg?.stats.oversizeFrames ?? 0),
          }
        : {}),
      ...(audio
        ? {
            packetsPerSec: rate(cur.aItems - this.last.aItems),
            audioKbps: kbps(cur.aBytes - this.last.aBytes),
            audioRestarts: audio.supervisor.restarts,
            audioDrops: audio.publisher.stats.dropped + audio.demuxer.stats.droppedPackets + audio.invalidPackets,
          }
        : {}),
      nats: nats.state,
      // Which node of a cluster the agent is on, so an operator sees it move after a failover.
      ...(nats.state === 'connected' ? { natsNode: nats.serverName ?? nats.server } : {}),
      cpuMs: Math.round((cpu.user + cpu.system) / 1000),
    });
    this.last = { at: now, ...cur };
  }
}
