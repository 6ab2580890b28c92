import fc from 'fast-check';
import {
  ENVELOPE_LIMITS,
  MAX_AUDIO_DURATION_US,
  MIN_AUDIO_DURATION_US,
  OPUS_SAMPLE_RATES,
  type AudioEnvelope,
  type Envelope,
  type LevelsEnvelope,
  type LevelsMessage,
  type MixedAudioEnvelope,
  type PresenceMessage,
  type VideoEnvelope,
  type AudioInfo,
  type VideoInfo,
  type VideoLayerInfo,
  type ClientMessage,
  type ServerMessage,
  type SourceInfo,
  utf8Encode,
  VIEWER_ERROR_CODES,
} from '../../src/index.js';

/*
 * fast-check arbitraries for every valid protocol value. They stay inside the
 * documented ranges (docs/PROTOCOL.md, "Limits") and lean on the boundaries,
 * which is where byte-layout bugs live.
 */

/** fast-check v4 may build null-prototype records; deepStrictEqual would tell them from decoded objects. */
const plain = { noNullPrototype: true } as const;

export const idArb = fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/);
export const seqArb = fc.oneof(fc.constantFrom(0, 1, 0x7fffffff, 0x80000000, 0xffffffff), fc.nat({ max: 0xffffffff }));
export const captureTimeArb = fc.oneof(
  fc.constantFrom(0, 2 ** 32 - 1, 2 ** 32, Number.MAX_SAFE_INTEGER),
  fc.maxSafeNat(),
  // Realistic present-day timestamps, where the high word is neither 0 nor saturated.
  fc.integer({ min: 1_700_000_000_000_000, max: 2_000_000_000_000_000 }),
);

/** Payloads stay small here; the exact size limits have their own tests. */
const payloadArb = (maxLength: number): fc.Arbitrary<Uint8Array> => fc.uint8Array({ minLength: 1, maxLength });

export const videoEnvelopeArb: fc.Arbitrary<VideoEnvelope> = fc.record(
  {
    kind: fc.constant('video' as const),
    source: idArb,
    seq: seqArb,
    captureTimeUs: captureTimeArb,
    width: fc.integer({ min: 1, max: ENVELOPE_LIMITS.maxVideoDimension }),
    height: fc.integer({ min: 1, max: ENVELOPE_LIMITS.maxVideoDimension }),
    codec: fc.constant('jpeg' as const),
    layer: fc.integer({ min: 0, max: 255 }),
    payload: payloadArb(2048),
  },
  plain,
);

const audioFields = {
  seq: seqArb,
  captureTimeUs: captureTimeArb,
  codec: fc.constant('opus' as const),
  sampleRate: fc.constantFrom(...OPUS_SAMPLE_RATES),
  channels: fc.constantFrom(1, 2),
  durationUs: fc.oneof(
    fc.constantFrom(MIN_AUDIO_DURATION_US, 20_000, MAX_AUDIO_DURATION_US),
    fc.integer({ min: MIN_AUDIO_DURATION_US, max: MAX_AUDIO_DURATION_US }),
  ),
  payload: payloadArb(ENVELOPE_LIMITS.maxAudioPayloadBytes),
};

export const audioEnvelopeArb: fc.Arbitrary<AudioEnvelope> = fc.record(
  {
    kind: fc.constant('audio' as const),
    source: idArb,
    ...audioFields,
  },
  plain,
);

export const mixedAudioEnvelopeArb: fc.Arbitrary<MixedAudioEnvelope> = fc.record(
  {
    kind: fc.constant('mixedAudio' as const),
    source: fc.constant('' as const),
    ...audioFields,
  },
  plain,
);

export const levelsEnvelopeArb: fc.Arbitrary<LevelsEnvelope> = fc.record(
  {
    kind: fc.constant('levels' as const),
    source: fc.constant('' as const),
    seq: seqArb,
    captureTimeUs: captureTimeArb,
    payload: payloadArb(2048),
  },
  plain,
);

export const envelopeArb: fc.Arbitrary<Envelope> = fc.oneof(
  videoEnvelopeArb,
  audioEnvelopeArb,
  mixedAudioEnvelopeArb,
  levelsEnvelopeArb,
);

/**
 * JSON writes -0 as 0, so a -0 could never round-trip; it is not a value a
 * sender means, so the arbitraries do not produce it.
 */
const noNegativeZero = (x: number): number => (Object.is(x, -0) ? 0 : x);
const dbfsArb = fc.double({ min: -100, max: 0, noNaN: true }).map(noNegativeZero);

export const videoInfoArb: fc.Arbitrary<VideoInfo> = fc.record(
  {
    codec: fc.constant('jpeg' as const),
    width: fc.integer({ min: 1, max: 8192 }),
    height: fc.integer({ min: 1, max: 8192 }),
    fps: fc.double({ min: 0.1, max: 240, noNaN: true }),
  },
  plain,
);

export const audioInfoArb: fc.Arbitrary<AudioInfo> = fc.record(
  {
    codec: fc.constant('opus' as const),
    sampleRate: fc.integer({ min: 8000, max: 48000 }),
    channels: fc.constantFrom(1, 2),
    frameDurationMs: fc.double({ min: 2.5, max: 120, noNaN: true }),
  },
  plain,
);

/** Names and other free text: any Unicode, including characters outside the BMP (two UTF-16 units each). */
/** One or two layers, numbered from 0, as a source announces them. */
export const videoLayersArb: fc.Arbitrary<VideoLayerInfo[]> = fc
  .array(
    fc.record(
      {
        width: fc.integer({ min: 1, max: 8192 }),
        height: fc.integer({ min: 1, max: 8192 }),
        fps: fc.double({ min: 0.1, max: 240, noNaN: true }),
      },
      { noNullPrototype: true },
    ),
    { minLength: 1, maxLength: 2 },
  )
  .map((ls) => ls.map((l, layer) => ({ layer, ...l })));

const textArb = (maxLength: number): fc.Arbitrary<string> =>
  fc.string({ unit: 'grapheme', maxLength }).filter((s) => s.length <= maxLength);

export const presenceArb: fc.Arbitrary<PresenceMessage> = fc
  .record(
    {
      v: fc.constant(1 as const),
      type: fc.constantFrom('join' as const, 'heartbeat' as const, 'leave' as const),
      room: idArb,
      source: idArb,
      name: textArb(64),
      ts: fc.oneof(fc.maxSafeNat(), fc.double({ min: 0, max: 2e15, noNaN: true }).map(noNegativeZero)),
      video: fc.option(videoInfoArb, { nil: null }),
      audio: fc.option(audioInfoArb, { nil: null }),
      layers: videoLayersArb,
      kind: fc.constantFrom('agent' as const, 'participant' as const),
      listens: fc.boolean(),
      agent: fc.record(
        { version: textArb(64), host: textArb(128) },
        { requiredKeys: ['version'], noNullPrototype: true },
      ),
    },
    { requiredKeys: ['v', 'type', 'room', 'source', 'name', 'ts', 'video', 'audio'], noNullPrototype: true },
  )
  // A presence message of more than MAX_PRESENCE_BYTES is refused on decode by design.
  .filter((m) => utf8Encode(JSON.stringify(m)).length <= 4096);

export const levelsArb: fc.Arbitrary<LevelsMessage> = fc.record(
  {
    room: idArb,
    sources: fc.array(fc.record({ source: idArb, dbfs: dbfsArb, peakDbfs: dbfsArb }, plain), { maxLength: 40 }),
    active: fc.option(idArb, { nil: null }),
  },
  plain,
);

export const clientMessageArb: fc.Arbitrary<ClientMessage> = fc.oneof(
  fc.record(
    {
      type: fc.constant('join' as const),
      room: idArb,
      token: textArb(200),
      as: idArb,
      // A viewer's display name for the chat; the parser refuses one of only spaces.
      name: textArb(64).filter((n) => n.trim().length > 0),
    },
    { requiredKeys: ['type', 'room'], noNullPrototype: true },
  ),
  // A participant's join: `publish` with a name and what it sends.
  fc.record(
    {
      type: fc.constant('join' as const),
      room: idArb,
      token: textArb(200),
      publish: fc.constant(true as const),
      name: textArb(64).filter((n) => n.trim().length > 0),
      video: videoInfoArb,
      audio: audioInfoArb,
    },
    { requiredKeys: ['type', 'room', 'publish'], noNullPrototype: true },
  ),
  fc.constant({ type: 'leave' as const }),
  fc.record({ type: fc.constant('chat' as const), text: textArb(2_000) }, plain),
  fc.record({ type: fc.constant('hand' as const), raised: fc.boolean() }, plain),
  fc.record({ type: fc.constant('ping' as const), id: textArb(64) }, { requiredKeys: ['type'], noNullPrototype: true }),
  fc.record(
    { type: fc.constant('layer' as const), source: idArb, layer: fc.constantFrom(0, 1, null) },
    { noNullPrototype: true },
  ),
  fc.record({ type: fc.constant('audio' as const), mode: fc.constantFrom('mix' as const, 'sources' as const) }, plain),
);

export const sourceInfoArb: fc.Arbitrary<SourceInfo> = fc.record(
  {
    id: idArb,
    name: textArb(64),
    video: fc.option(videoInfoArb, { nil: null }),
    audio: fc.option(audioInfoArb, { nil: null }),
    layers: videoLayersArb,
    since: fc.maxSafeNat(),
    kind: fc.constantFrom('agent' as const, 'participant' as const),
  },
  { requiredKeys: ['id', 'name', 'video', 'audio', 'since', 'kind'], noNullPrototype: true },
);

export const serverMessageArb: fc.Arbitrary<ServerMessage> = fc.oneof(
  fc.record(
    {
      type: fc.constant('roster' as const),
      room: idArb,
      sources: fc.array(sourceInfoArb, { maxLength: 8 }),
      self: idArb,
    },
    { requiredKeys: ['type', 'room', 'sources'], noNullPrototype: true },
  ),
  fc.record({ type: fc.constant('source-joined' as const), room: idArb, source: sourceInfoArb }, plain),
  fc.record({ type: fc.constant('source-left' as const), room: idArb, source: idArb }, plain),
  fc.record(
    { type: fc.constant('error' as const), code: fc.constantFrom(...VIEWER_ERROR_CODES), message: textArb(200) },
    plain,
  ),
  fc.record({ type: fc.constant('pong' as const), id: textArb(64) }, { requiredKeys: ['type'], noNullPrototype: true }),
  fc.record(
    {
      type: fc.constant('chat' as const),
      id: idArb,
      name: textArb(64),
      text: textArb(2_000),
      ts: fc.maxSafeNat(),
      history: fc.constant(true as const),
    },
    { requiredKeys: ['type', 'id', 'name', 'text', 'ts'], noNullPrototype: true },
  ),
  fc.record({ type: fc.constant('hand' as const), who: idArb, name: textArb(64), raised: fc.boolean() }, plain),
  fc.record({ type: fc.constant('viewers' as const), room: idArb, count: fc.maxSafeNat() }, plain),
);
