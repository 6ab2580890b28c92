import { hostname } from 'node:os';
import { createLogger, connectNats, type ServiceConnection } from '@vidchat/service-kit';
import { describeAudio, describeVideo } from './sources.js';
import { resolveSettings, type AgentConfig, type AgentSettings } from './config.js';
import { offersMjpeg, probeV4l2Formats } from './devices.js';
import { findClockFont } from './ffmpeg/test-pattern-font.js';
import { assertFfmpegRuns } from './ffmpeg/ffmpeg-preflight.js';
import { AUDIO_CHANNELS, AUDIO_FRAME_MS, AUDIO_SAMPLE_RATE } from './ffmpeg/track-args.js';
import type { FfmpegError } from './ffmpeg/ffmpeg-errors.js';
import { PresenceAnnouncer } from './presence-announcer.js';
import { StatusReporter } from './status-reporter.js';
import { AudioTrack } from './tracks/audio-track.js';
import { VideoTrack } from './tracks/video-track.js';

/*
 * One capture agent: a NATS connection, up to two tracks (camera and
 * microphone, each its own supervised ffmpeg), presence and a status line.
 * `start()` brings them up in that order, `stop()` takes them down in
 * reverse and says `leave` before closing the connection.
 */

export const AGENT_VERSION = '0.1.0';

export class CaptureAgent {
  private conn: ServiceConnection | null = null;
  private video: VideoTrack | null = null;
  private audio: AudioTrack | null = null;
  private presence: PresenceAnnouncer | null = null;
  private status: StatusReporter | null = null;
  private stopped = false;
  private readonly log = createLogger('agent');

  constructor(
    private readonly config: AgentConfig,
    /** Called when the agent cannot go on (ffmpeg missing). */
    private readonly onFatal: (err: FfmpegError) => void,
  ) {}

  async start(signal?: AbortSignal): Promise<void> {
    const c = this.config;
    const settings: AgentSettings = resolveSettings(c);
    const { video: videoSource, audio: audioSource, size } = settings;
    const name = c.name || c.source;
    this.log.info('starting', {
      room: c.room,
      source: c.source,
      name,
      video: describeVideo(videoSource),
      audio: describeAudio(audioSource),
      size: `${size.width}x${size.height}`,
      fps: c.fps,
      layers: c.layers,
    });

    if (videoSource.kind !== 'none' || audioSource.kind !== 'none') await assertFfmpegRuns(c.ffmpeg);

    const conn = await connectNats({
      servers: c.nats,
      name: `vidchat-agent ${c.room}/${c.source}`,
      user: c.natsUser,
      pass: c.natsPass,
      credsFile: c.natsCreds,
      log: createLogger('nats'),
      onState: (s) => {
        if (s.state === 'connected') {
          this.video?.flushHeld();
          this.audio?.publisher.flushHeld();
        }
      },
      ...(signal ? { signal } : {}),
    });
    this.conn = conn;
    if (this.stopped) return;
    const isConnected = (): boolean => conn.state().state === 'connected';
    const fatal = (err: FfmpegError): void => this.onFatal(err);

    // Test pattern and test tone together: the lip-sync test (a flash and a beep once a second).
    const syncTest = videoSource.kind === 'test' && audioSource.kind === 'test';
    if (videoSource.kind !== 'none') {
      let passthrough = false;
      if (videoSource.kind === 'v4l2') {
        const formats = await probeV4l2Formats(c.ffmpeg, videoSource.device);
        passthrough = offersMjpeg(formats, size.width, size.height);
        this.log.info(
          passthrough
            ? 'camera offers MJPEG at this size: passing its JPEGs through'
            : 'encoding camera frames to JPEG',
          {
            device: videoSource.device,
            formats: formats.map((f) => f.codec).join(',') || 'unknown',
          },
        );
      }
      const fontFile = videoSource.kind === 'test' ? await findClockFont(c.ffmpeg) : null;
      this.video = new VideoTrack({
        source: videoSource,
        settings: {
          ...size,
          fps: c.fps,
          quality: c.quality,
          fontFile,
          passthrough,
          layers: c.layers === 1 ? 1 : 2,
          syncFlash: syncTest,
        },
        room: c.room,
        sourceId: c.source,
        ffmpegPath: c.ffmpeg,
        maxFrameBytes: c.maxFrameBytes,
        nc: conn.nc,
        isConnected,
        log: createLogger('video'),
        onFatal: fatal,
      });
    }
    if (audioSource.kind !== 'none') {
      this.audio = new AudioTrack({
        source: audioSource,
        settings: { toneHz: c.tone, packetLossPercent: c.audioPacketLoss, syncBeep: syncTest },
        room: c.room,
        sourceId: c.source,
        ffmpegPath: c.ffmpeg,
        nc: conn.nc,
        isConnected,
        log: createLogger('audio'),
        onFatal: fatal,
      });
    }
    if (this.stopped) return;
    this.presence = new PresenceAnnouncer({
      nc: conn.nc,
      room: c.room,
      source: c.source,
      name,
      video: this.video ? { codec: 'jpeg', width: size.width, height: size.height, fps: c.fps } : null,
      layers: this.video?.layers ?? null,
      audio: this.audio
        ? { codec: 'opus', sampleRate: AUDIO_SAMPLE_RATE, channels: AUDIO_CHANNELS, frameDurationMs: AUDIO_FRAME_MS }
        : null,
      listens: c.listen,
      agent: { version: AGENT_VERSION, host: hostnameForPresence() },
      isConnected,
      log: createLogger('presence'),
    });
    this.video?.start();
    this.audio?.start();
    this.presence.start();
    this.status = new StatusReporter(
      { video: this.video, audio: this.audio, natsState: () => conn.state() },
      createLogger('status'),
      c.statusInterval,
    );
    this.status.start();
  }

  /** Stops capture, says `leave`, flushes and closes NATS. Idempotent. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.status?.stop();
    await Promise.all([this.video?.stop(), this.audio?.stop()]);
    this.presence?.leave();
    const conn = this.conn;
    if (conn) {
      try {
        if (conn.state().state === 'connected') await conn.nc.flush();
        await conn.nc.close();
      } catch (err) {
        this.log.warn('error while closing NATS', { error: (err as Error).message });
      }
    }
    this.log.info('stopped');
  }
}

function hostnameForPresence(): string {
  return hostname().slice(0, 128);
}
