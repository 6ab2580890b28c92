/*
 * Plain words for the recording routes' error codes, and the elapsed time of
 * the REC badge. Pure, so that the page's wording is testable without a DOM.
 */
const TEXT: Record<string, string> = {
  unauthorized: 'This room needs an access link with a token to record.',
  forbidden: 'Your access link does not allow recording. Ask the organiser for one that does.',
  'already-recording': 'This room is already being recorded.',
  'not-recording': 'This recording has already stopped.',
  'not-found': 'That recording does not exist.',
  'too-many-recordings': 'The recorder is busy with as many recordings as it can hold. Try again later.',
  'recorder-unavailable': 'No recorder is running for this server. Start vidchat-recorder and try again.',
  'recorder-failed': 'The recorder failed.',
};

export function recordingErrorText(code: string, serverMessage: string): string {
  const words = TEXT[code] ?? 'Recording failed.';
  return serverMessage ? `${words} (${serverMessage})` : words;
}

/** `m:ss`, or `h:mm:ss` from an hour on. */
export function formatElapsed(ms: number): string {
  const total = Math.max(0, Math.floor(ms / 1000));
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = total % 60;
  const ss = String(s).padStart(2, '0');
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${ss}` : `${m}:${ss}`;
}

/** Size for people: `812 KB`, `12.4 MB`. */
export function formatBytes(n: number): string {
  if (n < 1024 * 1024) return `${Math.max(1, Math.round(n / 1024))} KB`;
  return `${(n / (1024 * 1024)).toFixed(1)} MB`;
}
