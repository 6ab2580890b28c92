import { TIMECODE_BITS, timecodeBlockHeight, timecodeBlockWidth } from '@vidchat/protocol';
import type { AudioSource, VideoSource } from '../sources.js';
import type { FfmpegSpec } from './ffmpeg-command.js';

/*
 * The ffmpeg arguments of each track, as pure functions of the
 * configuration, so that they can be read and tested without ffmpeg.
 * One ffmpeg per track: a microphone that fails does not stop the camera.
 */

export interface VideoTrackSettings {
  width: number;
  height: number;
  fps: number;
  /** mjpeg `-q:v`, 2 (best) .. 31. */
  quality: number;
  /** A TrueType font for the test pattern's clock, or null to draw none. */
  fontFile: string | null;
  /** The V4L2 device offers MJPEG at this size: pass its JPEGs through untouched. */
  passthrough: boolean;
  /** 2: also publish the half-width layer 1 (when the size allows it, see `smallLayer`); 1: layer 0 only. */
  layers: 1 | 2;
  /** Test pattern only: flash a white box at each whole second of capture time (the sync test, see `syncFlashFilter`). */
  syncFlash?: boolean;
}

/** Layer 1 exists only for a layer 0 at least this wide: below it, half the width is too small to help. */
export const MIN_WIDTH_FOR_SMALL_LAYER = 480;
/** Layer 1 runs at most at this rate: small tiles do not need more. */
export const SMALL_LAYER_MAX_FPS = 15;

/** The half-width layer 1 of a video track, from the same ffmpeg run. */
export interface SmallLayer {
  width: number;
  height: number;
  fps: number;
  /** Layer 1 keeps one frame in `every` of layer 0, so that it stays at most SMALL_LAYER_MAX_FPS. */
  every: number;
}

/** Layer 1 of these settings, or null when there is none (`--layers 1`, or a layer 0 narrower than 480 px). */
export function smallLayer(s: Pick<VideoTrackSettings, 'width' | 'height' | 'fps' | 'layers'>): SmallLayer | null {
  if (s.layers < 2 || s.width < MIN_WIDTH_FOR_SMALL_LAYER) return null;
  const every = Math.ceil(s.fps / SMALL_LAYER_MAX_FPS);
  // Half of each side, rounded to an even number: 4:2:0 JPEG wants even sizes.
  return { width: 2 * Math.round(s.width / 4), height: 2 * Math.round(s.height / 4), fps: s.fps / every, every };
}

/** The filter that makes layer 1 out of a layer-0 frame: scale, then drop frames above its rate. */
function smallLayerFilter(l: SmallLayer): string {
  const scale = `scale=${l.width}:${l.height}`;
  return l.every > 1 ? `${scale},select='not(mod(n,${l.every}))'` : scale;
}

export interface AudioTrackSettings {
  /** Frequency of the `test` sine tone, Hz. */
  toneHz: number;
  /** Packet loss the Opus encoder expects, percent: it sizes the in-band FEC (0 turns FEC off). */
  packetLossPercent: number;
  /** Test tone only: beep (the tone, louder) at each whole second of capture time (the sync test, see `SYNC_BEEP_FILTER`). */
  syncBeep?: boolean;
}

/** Opus as the mixer and viewers expect it: 48 kHz mono, 20 ms packets. */
export const AUDIO_SAMPLE_RATE = 48_000;
export const AUDIO_CHANNELS = 1;
export const AUDIO_FRAME_MS = 20;
/** Opus bitrate; speech is clear at 32 kbit/s mono. */
export const AUDIO_BITRATE = '32k';
/** Loss the encoder plans for by default, percent: a busy Wi-Fi link, not a wired LAN. */
export const DEFAULT_AUDIO_PACKET_LOSS = 10;

/** asetpts expression: the epoch in samples at the filter graph's start (RTCSTART, µs), plus the sample index. */
export const AUDIO_EPOCH_TIMELINE = 'asetpts=N/SR/TB+RTCSTART/1000000/TB';

/*
 * The lip-sync test (`--video test --audio test`): once a second, at each
 * whole second of capture time (the epoch pts both runs stamp), the picture
 * shows a white box and the tone beeps. Video and audio are separate ffmpeg
 * runs; both key on their own capture times, so the flash and the beep are
 * at the same instant without any link between the runs, and a consumer
 * finds the A/V offset from where each is seen and heard.
 */

/** Length of each beep, seconds. */
export const SYNC_BEEP_S = 0.1;
/** The beep is the test tone, this many times louder (+9.5 dB): -12 dBFS peak over a -18 dBFS tone. */
export const SYNC_BEEP_GAIN = 3;
/** Ramp in and out of each beep, seconds: no click, and the onset is still sharp (5 ms). */
const SYNC_BEEP_RAMP_S = 0.005;

/**
 * aeval after the epoch timeline: `t` is each sample's capture time in
 * seconds (aeval counts it from the frame's pts sample by sample), so the
 * beep starts on the sample captured at the whole second. The tone goes on
 * between beeps: tests and the demo tell sources apart by their tone's
 * frequency, and levels keep showing a live source; the beep is the same
 * frequency, so it adds no new one.
 */
export const SYNC_BEEP_FILTER = `aeval='val(0)*(1+${SYNC_BEEP_GAIN - 1}*clip(min(mod(t,1),${SYNC_BEEP_S}-mod(t,1))/${SYNC_BEEP_RAMP_S},0,1))'`;

/**
 * drawbox over the middle quarter of the picture (clear of the timecode row
 * on top and the clock top right, which are drawn over it anyway), on for
 * the frames captured in the first tenth of each second, or the first frame
 * interval when that is longer: every second has at least one white frame,
 * and the first is captured at most one frame interval after the second.
 */
export function syncFlashFilter(fps: number): string {
  const window = Math.max(SYNC_BEEP_S, 1 / fps);
  return `drawbox=x=iw/4:y=ih/4:w=iw/2:h=ih/2:color=white:t=fill:enable='lt(mod(t,1),${+window.toFixed(6)})'`;
}

/** Output side of every run: write each packet at once instead of filling an I/O buffer first. */
const LOW_LATENCY_OUTPUT = ['-flush_packets', '1'];
/** Input side for live devices: do not buffer input to probe it. */
const LOW_LATENCY_INPUT = ['-fflags', 'nobuffer'];

/** Escapes text for a drawtext `text='…'` value inside a filter graph. */
function clockText(): string {
  // `\:` protects the colon from the drawtext expansion, `\\\:` from the filter graph parser.
  return '%{localtime\\:%H\\\\\\:%M\\\\\\:%S} #%{n}';
}

/**
 * drawbox filters that write the frame's capture time into it as the
 * protocol's timecode (libs/protocol timecode.ts): a black row, then one
 * white block per set bit of the wall-clock ms. `t` is the frame's pts in
 * seconds, which setpts=RTCTIME made the epoch time it was generated.
 */
export function timecodeFilters(frameWidth: number): string[] {
  const bw = timecodeBlockWidth(frameWidth);
  const bh = timecodeBlockHeight(frameWidth);
  const boxes = [`drawbox=x=0:y=0:w=${TIMECODE_BITS * bw}:h=${bh}:color=black:t=fill`];
  for (let bit = 0; bit < TIMECODE_BITS; bit++) {
    boxes.push(
      // t*1000 rounded to the ms, as the muxer rounds the pts it writes.
      `drawbox=x=${bit * bw}:y=0:w=${bw}:h=${bh}:color=white:t=fill:enable='mod(floor(floor(t*1000+0.5)/${2 ** bit}),2)'`,
    );
  }
  return boxes;
}

/**
 * The encoder's time base: ms for SMJPEG. ffmpeg's default for a video
 * encoder is 1/frame rate, which rounds each frame's capture time (its pts)
 * to the frame grid: up to half a frame (33 ms at 15 fps) off, measured with
 * the timecode. Bare MJPEG carries no timestamps at all.
 */
function timeBaseOptions(muxer: string): string[] {
  return muxer === 'smjpeg' ? ['-enc_time_base:v', '1:1000'] : [];
}

/**
 * The JPEG encoder. `-thread_type slice`: ffmpeg's mjpeg encoder also does
 * frame threading, which with two or more threads hands each frame out one
 * frame later (measured: a test frame reached NATS p50 69 ms after its
 * capture at 15 fps, 4 ms with slice threads only).
 */
function encodeOptions(s: VideoTrackSettings): string[] {
  return ['-c:v', 'mjpeg', '-q:v', String(s.quality), '-pix_fmt', 'yuvj420p', '-thread_type', 'slice'];
}

/**
 * Every video track's ffmpeg writes SMJPEG (a JPEG per chunk with its pts in
 * ms), and every pts is a wall-clock capture time, which the agent publishes
 * as `captureTimeUs`:
 * - the test pattern: the time each frame was generated (`setpts=RTCTIME`);
 * - a V4L2 camera: the driver's capture timestamp, which `-ts abs` turns into
 *   wall-clock time when the driver counts on the monotonic clock;
 * - any other input (a device through avfoundation or dshow, a file, a URL):
 *   the input's own timestamps, moved onto the wall clock at the filter
 *   graph's start (`setpts=PTS-STARTPTS+RTCSTART`): frames keep the spacing
 *   the device (or the file, played with `-re`) gave them, and the first one
 *   is stamped when ffmpeg had read and decoded it. Not `-copyts` with
 *   `-use_wallclock_as_timestamps`: ffmpeg 5's `-re` then stalls after a frame
 *   (its rate emulation waits for the epoch), and wall-clock read times
 *   would defeat `-re` on a file anyway.
 * For V4L2, `-copyts` keeps the driver's pts through the filters and the
 * encoder instead of shifting the first one to zero. A pts the agent does
 * not believe (no epoch, or older than MAX_CAPTURE_LAG_US) falls back to the
 * pipe-exit time.
 */
export const VIDEO_MUXER = 'smjpeg';
const KEEP_TIMESTAMPS = ['-copyts'];

/** Keeps at most `fps` frames a second of an input, each with its own pts (`-r` would move them to a grid). */
function rateCapFilter(fps: number): string {
  return `select='isnan(prev_selected_t)+gte(t-prev_selected_t\\,${(0.9 / fps).toFixed(4)})'`;
}

/**
 * Both layers from one filter graph: `base` (filters every frame gets) runs
 * once, `split` hands each frame to layer 0 as is and to layer 1 through a
 * scale, so that the camera is captured and decoded once.
 */
function twoLayerGraph(input: string, base: string[], l: SmallLayer): string {
  const head = base.length > 0 ? `${input}${base.join(',')},split=2` : `${input}split=2`;
  return `${head}[l0][l1in];[l1in]${smallLayerFilter(l)}[l1]`;
}

/** Options of one encoded layer output: its frames come from `map`, keep their pts, and go out in `muxer`. */
function smallLayerOutput(map: string, extra: string[], s: VideoTrackSettings, muxer: string): string[] {
  return [
    '-map',
    map,
    ...extra,
    '-fps_mode',
    'passthrough',
    ...timeBaseOptions(muxer),
    ...encodeOptions(s),
    '-an',
    ...LOW_LATENCY_OUTPUT,
    '-f',
    muxer,
  ];
}

/**
 * The outputs of a two-layer run: the filter graph, layer 0 (stdout) and
 * layer 1 (fd 3), both keeping the graph's pts and written in `muxer`.
 */
function twoLayerOutputs(
  input: string,
  base: string[],
  small: SmallLayer,
  s: VideoTrackSettings,
  muxer: string,
): Pick<FfmpegSpec, 'outputOptions' | 'extraOutputs'> {
  return {
    outputOptions: ['-filter_complex', twoLayerGraph(input, base, small), ...smallLayerOutput('[l0]', [], s, muxer)],
    extraOutputs: [smallLayerOutput('[l1]', [], s, muxer)],
  };
}

export function videoSpec(source: Exclude<VideoSource, { kind: 'none' }>, s: VideoTrackSettings): FfmpegSpec {
  const size = `${s.width}x${s.height}`;
  const out = ['-an', ...LOW_LATENCY_OUTPUT];
  const small = smallLayer(s);
  switch (source.kind) {
    case 'test': {
      // The clock goes top right: the viewer labels each tile at its bottom left.
      const filters = [
        // Each frame's pts becomes the wall-clock time it was generated, in µs,
        // carried to the agent by the SMJPEG muxer (see VIDEO_MUXER).
        'settb=1/1000000',
        'setpts=RTCTIME',
        ...(s.syncFlash ? [syncFlashFilter(s.fps)] : []),
        // The capture time, machine-readable, for glass-to-glass measurements.
        ...timecodeFilters(s.width),
        ...(s.fontFile
          ? [
              `drawtext=fontfile=${s.fontFile}:text='${clockText()}':x=w-tw-8:y=8:fontsize=${Math.max(12, Math.round(s.height / 14))}` +
                ':fontcolor=white:box=1:boxcolor=black@0.6',
            ]
          : []),
      ];
      // -re paces lavfi at real time: without it testsrc2 runs as fast as the CPU allows.
      const input = { inputOptions: ['-re', '-f', 'lavfi'], input: `testsrc2=size=${size}:rate=${s.fps}` };
      if (small) return { ...input, ...twoLayerOutputs('[0:v]', filters, small, s, 'smjpeg') };
      return {
        ...input,
        outputOptions: [
          '-vf',
          filters.join(','),
          // Keep the pts as they are: no frame dropped or duplicated to fit a grid.
          '-fps_mode',
          'passthrough',
          ...timeBaseOptions('smjpeg'),
          ...encodeOptions(s),
          ...out,
          '-f',
          'smjpeg',
        ],
      };
    }
    case 'v4l2': {
      const inputOptions = [
        ...LOW_LATENCY_INPUT,
        ...KEEP_TIMESTAMPS,
        '-f',
        'v4l2',
        // The driver's capture time, as wall-clock time (see VIDEO_MUXER).
        '-ts',
        'abs',
        ...(s.passthrough ? ['-input_format', 'mjpeg'] : []),
        '-video_size',
        size,
        '-framerate',
        String(s.fps),
      ];
      if (small && s.passthrough) {
        // Layer 0 is the camera's own JPEGs, copied; only layer 1 decodes them, to scale.
        return {
          inputOptions,
          input: source.device,
          outputOptions: ['-map', '0:v', '-c:v', 'copy', ...out, '-f', VIDEO_MUXER],
          extraOutputs: [smallLayerOutput('0:v', ['-vf', smallLayerFilter(small)], s, VIDEO_MUXER)],
        };
      }
      if (small) return { inputOptions, input: source.device, ...twoLayerOutputs('[0:v]', [], small, s, VIDEO_MUXER) };
      return {
        inputOptions,
        input: source.device,
        outputOptions: [
          ...(s.passthrough
            ? ['-c:v', 'copy']
            : ['-fps_mode', 'passthrough', ...timeBaseOptions(VIDEO_MUXER), ...encodeOptions(s)]),
          ...out,
          '-f',
          VIDEO_MUXER,
        ],
      };
    }
    case 'custom': {
      const inputOptions = LOW_LATENCY_INPUT;
      const base = [
        // Each frame's pts: the input's own, from the wall-clock time the graph started (see VIDEO_MUXER), in µs.
        'settb=1/1000000',
        'setpts=PTS-STARTPTS+RTCSTART',
        // A custom input may deliver any size and rate: scale to the asked size so presence tells the truth,
        // and keep at most the asked rate.
        `scale=${s.width}:${s.height}`,
        rateCapFilter(s.fps),
      ];
      if (small) {
        return {
          inputOptions: [...inputOptions, ...source.inputOptions],
          input: source.input,
          ...twoLayerOutputs('[0:v:0]', base, small, s, VIDEO_MUXER),
        };
      }
      return {
        inputOptions: [...inputOptions, ...source.inputOptions],
        input: source.input,
        outputOptions: [
          '-map',
          '0:v:0',
          '-vf',
          base.join(','),
          '-fps_mode',
          'passthrough',
          ...timeBaseOptions(VIDEO_MUXER),
          ...encodeOptions(s),
          ...out,
          '-f',
          VIDEO_MUXER,
        ],
      };
    }
  }
}

export function audioSpec(source: Exclude<AudioSource, { kind: 'none' }>, s: AudioTrackSettings): FfmpegSpec {
  const beep = source.kind === 'test' && s.syncBeep === true;
  const out = [
    '-vn',
    // Stamps sample N at the filter graph's wall-clock start plus N samples;
    // the Ogg granules then carry capture times (tracks/audio-capture-clock.ts).
    '-af',
    beep ? `${AUDIO_EPOCH_TIMELINE},${SYNC_BEEP_FILTER}` : AUDIO_EPOCH_TIMELINE,
    '-ac',
    String(AUDIO_CHANNELS),
    '-ar',
    String(AUDIO_SAMPLE_RATE),
    '-c:a',
    'libopus',
    '-b:a',
    AUDIO_BITRATE,
    // In-band FEC: each packet also carries a coarse copy of the one before,
    // so that a receiver rebuilds a single lost packet from the next one.
    // Only the SILK layer carries it: `voip` (not the CELT-only `lowdelay`)
    // with an expected loss above 0. The expected loss also makes libopus
    // favour SILK or hybrid frames and spend bits on the copy. At 32 kbit/s
    // `voip` also meets the bitrate (about 29 kbit/s on the test tone) where
    // `lowdelay` overshot it on a steady tone (about 45 kbit/s, measured).
    '-application',
    'voip',
    '-fec',
    s.packetLossPercent > 0 ? '1' : '0',
    '-packet_loss',
    String(s.packetLossPercent),
    '-frame_duration',
    String(AUDIO_FRAME_MS),
    // Without this the Ogg muxer holds about one second of audio per page.
    '-page_duration',
    String(AUDIO_FRAME_MS * 1000),
    ...LOW_LATENCY_OUTPUT,
    '-f',
    'ogg',
  ];
  switch (source.kind) {
    case 'test':
      return {
        inputOptions: ['-re', '-f', 'lavfi'],
        input: `sine=frequency=${s.toneHz}:sample_rate=${AUDIO_SAMPLE_RATE}`,
        outputOptions: out,
      };
    case 'alsa':
      return { inputOptions: [...LOW_LATENCY_INPUT, '-f', 'alsa'], input: source.device, outputOptions: out };
    case 'pulse':
      return { inputOptions: [...LOW_LATENCY_INPUT, '-f', 'pulse'], input: source.device, outputOptions: out };
    case 'custom':
      return {
        inputOptions: [...LOW_LATENCY_INPUT, ...source.inputOptions],
        input: source.input,
        outputOptions: ['-map', '0:a:0', ...out],
      };
  }
}
