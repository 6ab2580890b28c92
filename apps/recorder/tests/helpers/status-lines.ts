/*
 * The recorder's periodic `status` log lines, parsed: what a test reads to
 * learn what the recorder received (frames per video layer, the layer each
 * tile draws, its ffmpeg's pid) without reaching into the process.
 */
export type StatusLine = Record<string, string>;

/** Every `status` line of recording `id` in `output`, oldest first. */
export function statusLines(output: string, id: string): StatusLine[] {
  const out: StatusLine[] = [];
  for (const line of output.split('\n')) {
    const at = line.indexOf('[recorder] status ');
    if (at < 0) continue;
    const fields: StatusLine = {};
    for (const kv of line.slice(at + '[recorder] status '.length).split(' ')) {
      const eq = kv.indexOf('=');
      if (eq > 0) fields[kv.slice(0, eq)] = kv.slice(eq + 1);
    }
    if (fields['id'] === id) out.push(fields);
  }
  return out;
}

/** A numeric field of a status line (NaN when absent, so that comparisons fail). */
export const num = (s: StatusLine, key: string): number => (s[key] === undefined ? NaN : Number(s[key]));
