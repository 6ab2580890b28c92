import { execFile } from 'node:child_process';
import { access } from 'node:fs/promises';

/*
 * The test pattern draws a wall clock and frame counter with ffmpeg's
 * drawtext filter, which needs libfreetype in the ffmpeg build and a font
 * file. Without either, testsrc2's own moving pattern is used alone.
 */

/** Fonts tried in order (Debian/Ubuntu, Fedora, macOS Homebrew/system, Windows). */
export const CLOCK_FONT_CANDIDATES = [
  '/usr/share/fonts/truetype/dejavu/DejaVuSansMono.ttf',
  '/usr/share/fonts/dejavu-sans-mono-fonts/DejaVuSansMono.ttf',
  '/usr/share/fonts/TTF/DejaVuSansMono.ttf',
  '/System/Library/Fonts/Menlo.ttc',
  'C\\:/Windows/Fonts/consola.ttf',
];

function hasDrawtext(ffmpegPath: string): Promise<boolean> {
  return new Promise((resolve) => {
    execFile(ffmpegPath, ['-hide_banner', '-filters'], { timeout: 5_000, encoding: 'utf8' }, (err, stdout) =>
      resolve(!err && /\sdrawtext\s/.test(stdout)),
    );
  });
}

/** A font file drawtext can use, or null to draw no clock. */
export async function findClockFont(ffmpegPath: string): Promise<string | null> {
  if (!(await hasDrawtext(ffmpegPath))) return null;
  for (const f of CLOCK_FONT_CANDIDATES) {
    try {
      await access(f.replace('\\:', ':'));
      return f;
    } catch {
      // Try the next one.
    }
  }
  return null;
}
