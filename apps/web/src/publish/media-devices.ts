import type { PublishOptions } from './publish-options.js';

/*
 * getUserMedia and enumerateDevices, with the browser's DOMException names
 * turned once into stable codes the page words for a person.
 */

export type MediaAccessCode =
  /** The person or the browser's settings refused camera and microphone. */
  | 'denied'
  /** No camera and no microphone (or none matching the one picked). */
  | 'no-device'
  /** A device exists but could not be opened: another application holds it, or the OS refused. */
  | 'in-use'
  | 'failed';

export class MediaAccessError extends Error {
  override readonly name = 'MediaAccessError';
  constructor(
    readonly code: MediaAccessCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

function toAccessError(err: unknown): MediaAccessError {
  const name = err instanceof DOMException || err instanceof Error ? err.name : '';
  const message = err instanceof Error ? err.message : String(err);
  switch (name) {
    case 'NotAllowedError':
    case 'SecurityError':
      return new MediaAccessError('denied', message, { cause: err });
    case 'NotFoundError':
    case 'OverconstrainedError':
      return new MediaAccessError('no-device', message, { cause: err });
    case 'NotReadableError':
    case 'AbortError':
      return new MediaAccessError('in-use', message, { cause: err });
    default:
      return new MediaAccessError('failed', message, { cause: err });
  }
}

/** The browser's own voice processing: it is what keeps the room from hearing itself through the speakers. */
const VOICE_PROCESSING = { echoCancellation: true, noiseSuppression: true, autoGainControl: true } as const;

function videoConstraints(opts: PublishOptions, deviceId: string | null): MediaTrackConstraints {
  return {
    width: { ideal: opts.maxWidth },
    height: { ideal: opts.maxHeight },
    frameRate: { ideal: opts.fps },
    ...(deviceId ? { deviceId: { exact: deviceId } } : {}),
  };
}

function audioConstraints(deviceId: string | null): MediaTrackConstraints {
  return { ...VOICE_PROCESSING, channelCount: { ideal: 1 }, ...(deviceId ? { deviceId: { exact: deviceId } } : {}) };
}

async function getUserMedia(constraints: MediaStreamConstraints): Promise<MediaStream> {
  try {
    return await navigator.mediaDevices.getUserMedia(constraints);
  } catch (err) {
    throw toAccessError(err);
  }
}

export interface OpenedMedia {
  video: MediaStreamTrack | null;
  audio: MediaStreamTrack | null;
}

/**
 * Asks for camera and microphone in one prompt. When one kind is missing
 * (a desktop without a camera), joins with what there is; throws
 * `MediaAccessError` when neither opens.
 */
export async function openCameraAndMicrophone(opts: PublishOptions): Promise<OpenedMedia> {
  try {
    const stream = await getUserMedia({ video: videoConstraints(opts, null), audio: audioConstraints(null) });
    return { video: stream.getVideoTracks()[0] ?? null, audio: stream.getAudioTracks()[0] ?? null };
  } catch (err) {
    if (!(err instanceof MediaAccessError) || err.code !== 'no-device') throw err;
  }
  // One of the two is missing: try each alone, microphone first (a voice without a picture still joins the talk).
  for (const kind of ['audio', 'video'] as const) {
    try {
      const track = await openOne(kind, opts, null);
      return kind === 'audio' ? { video: null, audio: track } : { video: track, audio: null };
    } catch (err) {
      if (!(err instanceof MediaAccessError) || err.code !== 'no-device') throw err;
    }
  }
  throw new MediaAccessError('no-device', 'no camera and no microphone found');
}

/** One camera or microphone, `deviceId` exactly when given. */
export async function openOne(
  kind: 'video' | 'audio',
  opts: PublishOptions,
  deviceId: string | null,
): Promise<MediaStreamTrack> {
  const stream = await getUserMedia(
    kind === 'video' ? { video: videoConstraints(opts, deviceId) } : { audio: audioConstraints(deviceId) },
  );
  const track = kind === 'video' ? stream.getVideoTracks()[0] : stream.getAudioTracks()[0];
  if (!track) throw new MediaAccessError('no-device', `no ${kind === 'video' ? 'camera' : 'microphone'} track`);
  return track;
}

export interface DeviceList {
  cameras: { id: string; label: string }[];
  microphones: { id: string; label: string }[];
}

/** The cameras and microphones present; labels are only known after permission was given. */
export async function listDevices(): Promise<DeviceList> {
  const all = await navigator.mediaDevices.enumerateDevices();
  const pick = (kind: MediaDeviceKind, word: string): { id: string; label: string }[] =>
    all
      .filter((d) => d.kind === kind && d.deviceId !== '')
      .map((d, i) => ({ id: d.deviceId, label: d.label || `${word} ${i + 1}` }));
  return { cameras: pick('videoinput', 'Camera'), microphones: pick('audioinput', 'Microphone') };
}
