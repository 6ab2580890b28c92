import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { defaultSourceId, parseAudioSource, parseSize, parseVideoSource } from '../src/config.js';
import { offersMjpeg, parseV4l2Formats } from '../src/devices.js';
import { audioSpec, smallLayer, videoSpec } from '../src/ffmpeg/track-args.js';
import { ffmpegArgs } from '../src/ffmpeg/ffmpeg-command.js';
import { classifyFfmpegExit } from '../src/ffmpeg/ffmpeg-errors.js';
import { parseFfmpegInput, splitArgs } from '../src/sources.js';

const settings = {
  width: 640,
  height: 360,
  fps: 15,
  quality: 5,
  fontFile: null,
  passthrough: false,
  layers: 1 as const,
};

describe('agent configuration', () => {
  it('makes a valid source id from any host name', () => {
    assert.equal(defaultSourceId('cam-host.example.org'), 'cam-host-example-org');
    assert.equal(defaultSourceId('_weird host_'), 'weird-host_');
    assert.equal(defaultSourceId('...'), 'agent');
    assert.equal(defaultSourceId('x'.repeat(100)).length, 64);
  });

  it('parses sizes and sources', () => {
    assert.deepEqual(parseSize('1280x720'), { width: 1280, height: 720 });
    assert.throws(() => parseSize('641x360'));
    assert.deepEqual(parseVideoSource('/dev/video2'), { kind: 'v4l2', device: '/dev/video2' });
    assert.deepEqual(parseAudioSource('hw:1,0'), { kind: 'alsa', device: 'hw:1,0' });
    assert.deepEqual(parseAudioSource('pulse:default'), { kind: 'pulse', device: 'default' });
    assert.throws(() => parseVideoSource('video0'));
  });

  it('splits --ffmpeg-input like a shell and requires -i last', () => {
    assert.deepEqual(splitArgs(`-f dshow -i video="Integrated Camera"`), [
      '-f',
      'dshow',
      '-i',
      'video=Integrated Camera',
    ]);
    assert.deepEqual(parseFfmpegInput('-f avfoundation -framerate 30 -video_size 1280x720 -i 0'), {
      inputOptions: ['-f', 'avfoundation', '-framerate', '30', '-video_size', '1280x720'],
      input: '0',
    });
    assert.throws(() => parseFfmpegInput('-f avfoundation'));
    assert.throws(() => parseFfmpegInput('-i 0 -c:v copy'));
    assert.throws(() => splitArgs('-i "open'));
  });
});

describe('ffmpeg arguments', () => {
  it('passes a camera’s MJPEG through when it offers the size, and encodes otherwise', () => {
    const pass = videoSpec({ kind: 'v4l2', device: '/dev/video0' }, { ...settings, passthrough: true });
    assert.equal(pass.input, '/dev/video0');
    assert.deepEqual(pass.inputOptions.slice(-11), [
      '-copyts',
      '-f',
      'v4l2',
      '-ts',
      'abs',
      '-input_format',
      'mjpeg',
      '-video_size',
      '640x360',
      '-framerate',
      '15',
    ]);
    assert.deepEqual(pass.outputOptions.slice(0, 2), ['-c:v', 'copy']);
    const enc = videoSpec({ kind: 'v4l2', device: '/dev/video0' }, settings);
    assert.ok(!enc.inputOptions.includes('-input_format'));
    assert.match(enc.outputOptions.join(' '), /^-fps_mode passthrough -enc_time_base:v 1:1000 -c:v mjpeg -q:v 5 /);
    assert.deepEqual(enc.outputOptions.slice(-2), ['-f', 'smjpeg']);
    assert.deepEqual(pass.outputOptions.slice(-2), ['-f', 'smjpeg']);
  });

  it('encodes JPEG with slice threads only, on every encoding path and layer (frame threads hold a frame back)', () => {
    const paths = [
      videoSpec({ kind: 'v4l2', device: '/dev/video0' }, settings),
      videoSpec({ kind: 'test' }, settings),
      videoSpec({ kind: 'test' }, { ...settings, layers: 2 }),
      videoSpec({ kind: 'custom', inputOptions: [], input: 'in.mp4' }, { ...settings, layers: 2 }),
    ];
    for (const spec of paths) {
      const args = ffmpegArgs(spec).join(' ');
      const encoders = args.split('-c:v mjpeg').length - 1;
      assert.ok(encoders >= 1, args);
      assert.equal(args.split('-thread_type slice').length - 1, encoders, args);
    }
  });

  it("keeps every input's own capture times: its pts on the wall clock, SMJPEG, no rate grid", () => {
    const custom = videoSpec(
      { kind: 'custom', inputOptions: ['-f', 'dshow'], input: 'video=Integrated Camera' },
      { ...settings, fps: 15 },
    );
    assert.deepEqual(custom.inputOptions, ['-fflags', 'nobuffer', '-f', 'dshow']);
    const out = custom.outputOptions.join(' ');
    assert.match(
      out,
      /^-map 0:v:0 -vf settb=1\/1000000,setpts=PTS-STARTPTS\+RTCSTART,scale=640:360,select='isnan\(prev_selected_t\)\+gte\(t-prev_selected_t\\,0\.0600\)' -fps_mode passthrough -enc_time_base:v 1:1000 .*-f smjpeg$/,
    );
    assert.doesNotMatch(out, / -r /);
    const two = ffmpegArgs(
      videoSpec({ kind: 'custom', inputOptions: [], input: 'in.mp4' }, { ...settings, layers: 2 }),
    ).join(' ');
    assert.match(
      two,
      /-i in\.mp4 -filter_complex \[0:v:0\]settb=1\/1000000,setpts=PTS-STARTPTS\+RTCSTART,.*-f smjpeg pipe:1 .*-f smjpeg pipe:3$/,
    );
  });

  it('paces the test sources at real time and asks for 20 ms Opus pages', () => {
    const v = videoSpec({ kind: 'test' }, settings);
    assert.deepEqual(v.inputOptions, ['-re', '-f', 'lavfi']);
    assert.equal(v.input, 'testsrc2=size=640x360:rate=15');
    // The test pattern carries each frame's generation time as its pts, in SMJPEG.
    assert.match(
      v.outputOptions.join(' '),
      /^-vf settb=1\/1000000,setpts=RTCTIME.* -fps_mode passthrough .*-f smjpeg$/,
    );
    const a = audioSpec({ kind: 'test' }, { toneHz: 523.25, packetLossPercent: 10 });
    assert.equal(a.input, 'sine=frequency=523.25:sample_rate=48000');
    const out = a.outputOptions.join(' ');
    assert.match(
      out,
      /-af asetpts=N\/SR\/TB\+RTCSTART\/1000000\/TB .*-c:a libopus .*-application voip -fec 1 -packet_loss 10 -frame_duration 20 -page_duration 20000 .*-f ogg$/,
    );
    const noFec = audioSpec({ kind: 'test' }, { toneHz: 440, packetLossPercent: 0 }).outputOptions.join(' ');
    assert.match(noFec, /-fec 0 -packet_loss 0 /);
  });

  it('adds the flash and the beep of the sync test only when asked, to the test pattern and tone only', () => {
    const flash = videoSpec({ kind: 'test' }, { ...settings, syncFlash: true }).outputOptions.join(' ');
    // After the epoch pts (its `t` is the capture time), before the timecode (drawn over it).
    assert.match(
      flash,
      /setpts=RTCTIME,drawbox=x=iw\/4:y=ih\/4:w=iw\/2:h=ih\/2:color=white:t=fill:enable='lt\(mod\(t,1\),0\.1\)',drawbox=x=0:y=0/,
    );
    // At 5 fps a frame interval is longer than a tenth: the window grows so that every second has a white frame.
    assert.match(
      videoSpec({ kind: 'test' }, { ...settings, fps: 5, syncFlash: true }).outputOptions.join(' '),
      /mod\(t,1\),0\.2\)/,
    );
    assert.doesNotMatch(videoSpec({ kind: 'test' }, settings).outputOptions.join(' '), /color=white:t=fill:enable='lt/);
    const beep = audioSpec({ kind: 'test' }, { toneHz: 440, packetLossPercent: 10, syncBeep: true });
    assert.match(
      beep.outputOptions.join(' '),
      /-af asetpts=N\/SR\/TB\+RTCSTART\/1000000\/TB,aeval='val\(0\)\*\(1\+2\*clip\(/,
    );
    const mic = audioSpec({ kind: 'alsa', device: 'default' }, { toneHz: 440, packetLossPercent: 10, syncBeep: true });
    assert.doesNotMatch(mic.outputOptions.join(' '), /aeval/);
  });

  it('makes layer 1 at half the size and at most 15 fps, for a layer 0 at least 480 px wide', () => {
    assert.deepEqual(smallLayer({ ...settings, layers: 2 }), { width: 320, height: 180, fps: 15, every: 1 });
    assert.deepEqual(smallLayer({ ...settings, layers: 2, fps: 30 }), { width: 320, height: 180, fps: 15, every: 2 });
    assert.deepEqual(smallLayer({ ...settings, layers: 2, fps: 25 }), { width: 320, height: 180, fps: 12.5, every: 2 });
    assert.deepEqual(smallLayer({ ...settings, layers: 2, width: 1280, height: 720 }), {
      width: 640,
      height: 360,
      fps: 15,
      every: 1,
    });
    // Half of 900x506 is 450x253: rounded to even sides.
    assert.deepEqual(smallLayer({ ...settings, layers: 2, width: 900, height: 506 })?.height, 254);
    assert.equal(smallLayer({ ...settings, layers: 1 }), null);
    assert.equal(smallLayer({ ...settings, layers: 2, width: 478, height: 360 }), null);
  });

  it('makes both layers in one ffmpeg: one capture, split, scale, two pipes', () => {
    const two = { ...settings, layers: 2 as const, fps: 30 };
    const test = videoSpec({ kind: 'test' }, two);
    const args = ffmpegArgs(test).join(' ');
    assert.match(
      args,
      /-filter_complex \[0:v\]settb=1\/1000000,setpts=RTCTIME,drawbox=.*,split=2\[l0\]\[l1in\];\[l1in\]scale=320:180,select='not\(mod\(n,2\)\)'\[l1\] -map \[l0\] .*-f smjpeg pipe:1 -map \[l1\] .*-f smjpeg pipe:3$/,
    );
    assert.equal(args.split(' -i ').length, 2, 'one input');
    // A camera's own MJPEG: layer 0 copied untouched, layer 1 decoded and scaled.
    const pass = ffmpegArgs(videoSpec({ kind: 'v4l2', device: '/dev/video0' }, { ...two, passthrough: true })).join(
      ' ',
    );
    assert.match(
      pass,
      /-map 0:v -c:v copy .*-f smjpeg pipe:1 -map 0:v -vf scale=320:180,select='not\(mod\(n,2\)\)' .*-c:v mjpeg .*-f smjpeg pipe:3$/,
    );
    const enc = ffmpegArgs(videoSpec({ kind: 'v4l2', device: '/dev/video0' }, two)).join(' ');
    assert.match(
      enc,
      /-filter_complex \[0:v\]split=2\[l0\]\[l1in\];.* -map \[l0\] .*-c:v mjpeg .*pipe:1 -map \[l1\] .*pipe:3$/,
    );
    // One layer: one output, as before.
    assert.doesNotMatch(ffmpegArgs(videoSpec({ kind: 'test' }, settings)).join(' '), /pipe:3|split/);
  });

  it('reads V4L2 formats as ffmpeg lists them', () => {
    const text = [
      '[video4linux2,v4l2 @ 0x5581] Raw       :     yuyv422 :           YUYV 4:2:2 : 640x480 160x90 320x240 1280x720',
      '[video4linux2,v4l2 @ 0x5581] Compressed:       mjpeg :          Motion-JPEG : 640x480 640x360 1280x720',
      '[video4linux2,v4l2 @ 0x5581] Raw       :       nv12 :         Y/CbCr 4:2:0 : {32-1920, 2}x{32-1080, 2}',
      '/dev/video0: Immediate exit requested',
    ].join('\n');
    const formats = parseV4l2Formats(text);
    assert.deepEqual(
      formats.map((f) => [f.codec, f.compressed, f.sizes.length]),
      [
        ['yuyv422', false, 4],
        ['mjpeg', true, 3],
        ['nv12', false, 0],
      ],
    );
    assert.equal(formats[0]!.description, 'YUYV 4:2:2');
    assert.equal(offersMjpeg(formats, 640, 360), true);
    assert.equal(offersMjpeg(formats, 320, 240), false);
  });

  it('classifies ffmpeg exits into stable codes', () => {
    const exit = (stderrTail: string) => ({ exitCode: 1, signal: null, stderrTail });
    assert.equal(
      classifyFfmpegExit('video', 'start', exit('/dev/video9: No such file or directory')).code,
      'ERR_DEVICE_NOT_FOUND',
    );
    assert.equal(
      classifyFfmpegExit('video', 'start', exit('/dev/video0: Permission denied')).code,
      'ERR_DEVICE_PERMISSION',
    );
    assert.equal(
      classifyFfmpegExit('video', 'start', exit('ioctl(VIDIOC_STREAMON): Device or resource busy')).code,
      'ERR_DEVICE_BUSY',
    );
    assert.equal(classifyFfmpegExit('audio', 'start', exit('something else')).code, 'ERR_FFMPEG_START_FAILED');
    assert.equal(classifyFfmpegExit('audio', 'run', exit('No such file or directory')).code, 'ERR_FFMPEG_DIED');
    assert.equal(
      classifyFfmpegExit('video', 'start', {
        exitCode: null,
        signal: null,
        stderrTail: '',
        launchError: new Error('spawn /nope ENOENT'),
      }).code,
      'ERR_FFMPEG_NOT_FOUND',
    );
  });
});
