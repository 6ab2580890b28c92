import { CameraPublisher } from './camera-publisher.js';
import { LocalPreview } from './local-preview.js';
import { openCameraAndMicrophone, openOne } from './media-devices.js';
import type { MediaSink } from './media-sink.js';
import { canEncodeAudio, MicrophonePublisher } from './microphone-publisher.js';
import type { PublishOptions } from './publish-options.js';

/** What is sent, for the test hooks and the page. */
export interface PublishSnapshot {
  micMuted: boolean;
  cameraOff: boolean;
  hasCamera: boolean;
  hasMicrophone: boolean;
  /** Why no audio is sent (no microphone, no AudioEncoder, encoder failure), null when it is. */
  audioProblem: string | null;
  framesSent: number;
  framesSkipped: number;
  framesUnsent: number;
  videoBytesSent: number;
  videoWidth: number | null;
  videoHeight: number | null;
  /** Layer 1 (half size, for small tiles): frames and bytes sent, its size (null when not sent). */
  layer1FramesSent: number;
  layer1BytesSent: number;
  layer1Width: number | null;
  layer1Height: number | null;
  lastEncodeMs: number;
  audioPacketsSent: number;
  audioPacketsDropped: number;
  audioPacketsUnsent: number;
  microphoneInput: { sampleRate: number; channels: number } | null;
  cameraId: string | null;
  microphoneId: string | null;
}

/**
 * The participant's media: camera and microphone tracks, the publishers
 * that send them, and the local preview. It knows nothing of the socket but
 * the `MediaSink`. Counters add up across camera or microphone changes.
 */
export class ParticipantSession {
  readonly preview = new LocalPreview();
  private video: MediaStreamTrack | null = null;
  private audio: MediaStreamTrack | null = null;
  private camera: CameraPublisher | null = null;
  private microphone: MicrophonePublisher | null = null;
  private micMuted = false;
  private cameraOff = false;
  private hadCamera = false;
  private audioProblem: string | null = null;
  private closed = false;
  /** Totals of publishers already replaced. */
  private readonly past = {
    framesSent: 0,
    framesSkipped: 0,
    framesUnsent: 0,
    bytes: 0,
    layer1Frames: 0,
    layer1Bytes: 0,
    packets: 0,
    dropped: 0,
    unsent: 0,
  };

  constructor(
    private readonly sink: MediaSink,
    private readonly opts: PublishOptions,
  ) {}

  /** Asks for camera and microphone and starts sending; throws `MediaAccessError`. */
  async start(name: string): Promise<void> {
    this.preview.setName(name);
    const media = await openCameraAndMicrophone(this.opts);
    if (this.closed) {
      media.video?.stop();
      media.audio?.stop();
      return;
    }
    this.hadCamera = media.video !== null;
    this.setVideo(media.video);
    this.setAudio(media.audio);
  }

  setMicMuted(muted: boolean): void {
    this.micMuted = muted;
    // A disabled track delivers silence: nothing of the room is heard, and the packets keep their timing.
    if (this.audio) this.audio.enabled = !muted;
    this.preview.setMicMuted(muted);
  }

  /** Turning the camera off stops the track (the camera light goes out); on opens it again. */
  async setCameraOff(off: boolean): Promise<void> {
    this.cameraOff = off;
    if (off) {
      this.setVideo(null);
      return;
    }
    if (this.video) return;
    const track = await openOne('video', this.opts, this.cameraIdWanted);
    if (this.closed || this.cameraOff) track.stop();
    else this.setVideo(track);
  }

  private cameraIdWanted: string | null = null;

  /** Switches to another camera (applies when the camera is next on, if it is off). */
  async useCamera(deviceId: string): Promise<void> {
    this.cameraIdWanted = deviceId;
    if (this.cameraOff || !this.hadCamera) return;
    const track = await openOne('video', this.opts, deviceId);
    if (this.closed || this.cameraOff) track.stop();
    else this.setVideo(track);
  }

  async useMicrophone(deviceId: string): Promise<void> {
    const track = await openOne('audio', this.opts, deviceId);
    if (this.closed) track.stop();
    else this.setAudio(track);
  }

  /** The camera's size as it delivers frames, null without a camera. */
  videoSettings(): { width: number; height: number } | null {
    const s = this.video?.getSettings();
    return s?.width && s.height ? { width: s.width, height: s.height } : null;
  }

  snapshot(): PublishSnapshot {
    const v = this.camera?.stats;
    const a = this.microphone?.stats;
    return {
      micMuted: this.micMuted,
      cameraOff: this.cameraOff || this.video === null,
      hasCamera: this.hadCamera,
      hasMicrophone: this.audio !== null,
      audioProblem: a?.failure ?? this.audioProblem,
      framesSent: this.past.framesSent + (v?.framesSent ?? 0),
      framesSkipped: this.past.framesSkipped + (v?.framesSkipped ?? 0),
      framesUnsent: this.past.framesUnsent + (v?.framesUnsent ?? 0),
      videoBytesSent: this.past.bytes + (v?.bytesSent ?? 0),
      videoWidth: v?.size?.width ?? null,
      videoHeight: v?.size?.height ?? null,
      layer1FramesSent: this.past.layer1Frames + (v?.layer1FramesSent ?? 0),
      layer1BytesSent: this.past.layer1Bytes + (v?.layer1BytesSent ?? 0),
      layer1Width: v?.layer1Size?.width ?? null,
      layer1Height: v?.layer1Size?.height ?? null,
      lastEncodeMs: v?.lastEncodeMs ?? 0,
      audioPacketsSent: this.past.packets + (a?.packetsSent ?? 0),
      audioPacketsDropped: this.past.dropped + (a?.packetsDropped ?? 0),
      audioPacketsUnsent: this.past.unsent + (a?.packetsUnsent ?? 0),
      microphoneInput: a?.input ?? null,
      cameraId: this.video?.getSettings().deviceId ?? null,
      microphoneId: this.audio?.getSettings().deviceId ?? null,
    };
  }

  /** Idempotent: stops the publishers and the tracks, and removes the preview. */
  stop(): void {
    if (this.closed) return;
    this.closed = true;
    this.setVideo(null);
    this.setAudio(null);
    this.preview.close();
  }

  private setVideo(track: MediaStreamTrack | null): void {
    if (this.camera) {
      const s = this.camera.stats;
      this.past.framesSent += s.framesSent;
      this.past.framesSkipped += s.framesSkipped;
      this.past.framesUnsent += s.framesUnsent;
      this.past.bytes += s.bytesSent;
      this.past.layer1Frames += s.layer1FramesSent;
      this.past.layer1Bytes += s.layer1BytesSent;
      this.camera.close();
      this.camera = null;
    }
    this.video?.stop();
    this.video = track;
    this.preview.setVideoTrack(track);
    if (track) this.camera = new CameraPublisher(track, this.sink, this.opts);
  }

  private setAudio(track: MediaStreamTrack | null): void {
    if (this.microphone) {
      const s = this.microphone.stats;
      this.past.packets += s.packetsSent;
      this.past.dropped += s.packetsDropped;
      this.past.unsent += s.packetsUnsent;
      this.microphone.close();
      this.microphone = null;
    }
    this.audio?.stop();
    this.audio = track;
    if (!track) {
      this.audioProblem = this.closed ? null : 'no microphone';
      return;
    }
    track.enabled = !this.micMuted;
    if (!canEncodeAudio()) {
      // The microphone stays open (the browser shows it in use) only while it could be sent.
      this.audioProblem = 'this browser has no WebCodecs AudioEncoder';
      track.stop();
      this.audio = null;
      return;
    }
    this.audioProblem = null;
    this.microphone = new MicrophonePublisher(track, this.sink, this.opts);
  }
}
