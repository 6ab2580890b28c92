import type { Page } from 'playwright-core';

/*
 * What the e2e tests read from `window.vidchat` (src/test-hooks.ts), as
 * plain JSON: a snapshot taken in the page.
 */
export interface TileView {
  name: string;
  framesDrawn: number;
  lastCaptureTimeUs: number;
  latencyMs: number | null;
  fps: number;
  drops: number;
  stalled: boolean;
}

export interface ParticipantView {
  state: string;
  self: string | null;
  name: string | null;
  statusText: string;
  micMuted?: boolean;
  cameraOff?: boolean;
  framesSent?: number;
  framesSkipped?: number;
  audioPacketsSent?: number;
  audioProblem?: string | null;
  videoWidth?: number | null;
  videoHeight?: number | null;
  layer1FramesSent?: number;
  layer1Width?: number | null;
  layer1Height?: number | null;
  cameraId?: string | null;
  microphoneId?: string | null;
}

export interface Hooks {
  state: string;
  room: string | null;
  tiles: Record<string, TileView>;
  audio: { enabled: boolean; packetsReceived: number; packetsDecoded: number; underruns: number } | null;
  lastError: { code: string; message: string } | null;
  participant: ParticipantView;
  recording: RecordingView;
}

export interface RecordingView {
  active: { id: string; startedAt: number } | null;
  badge: string | null;
  recordings: { id: string; state: string; durationMs: number; bytes: number; url: string | null }[];
  busy: boolean;
  refused: boolean;
  lastError: { code: string; message: string } | null;
}

/** Reads `window.vidchat` from the page (a snapshot, JSON-cloned); null before the page installed it. */
export function hooks(page: Page): Promise<Hooks | null> {
  return page.evaluate(() => {
    const w = window as unknown as { vidchat?: unknown };
    return (w.vidchat ? JSON.parse(JSON.stringify(w.vidchat)) : null) as Hooks | null;
  });
}

/** Collects console errors, page errors and CSP violations of a page; lines matching `expected` are allowed. */
export function watchConsole(page: Page, expected: RegExp | null = null): string[] {
  const problems: string[] = [];
  page.on('console', (msg) => {
    const text = msg.text();
    if (expected?.test(text) && !/Content Security Policy/i.test(text)) return;
    if (msg.type() === 'error' || /Content Security Policy/i.test(text)) problems.push(text);
  });
  page.on('pageerror', (err) => problems.push(`pageerror: ${err.message}`));
  return problems;
}
