/*
 * Where each camera goes on the canvas: a grid of near-square shape
 * (columns = ceil(sqrt(n))) that grows and shrinks as sources join and
 * leave. Each cell holds the picture, scaled to fit with its aspect kept, and
 * a strip under it for the source's name. Pure arithmetic, unit-tested.
 */
export interface Rect {
  x: number;
  y: number;
  width: number;
  height: number;
}

export interface TileRect {
  /** Where the picture goes (the JPEG is scaled into this box, letterboxed). */
  picture: Rect;
  /** The strip under the picture where the name is drawn. */
  label: Rect;
}

/** Gap around pictures, in pixels, so that neighbouring tiles read apart. */
export const TILE_GAP = 4;

/** Height of the name strip: about 1/30 of the canvas, at least 14 px. */
export function labelHeight(canvasHeight: number): number {
  return Math.max(14, Math.round(canvasHeight / 30) & ~1);
}

/** Picture shape assumed for layout: cameras are 16:9 by default (letterboxed when they are not). */
export const DEFAULT_TILE_ASPECT = 16 / 9;

export function gridLayout(n: number, width: number, height: number, aspect = DEFAULT_TILE_ASPECT): TileRect[] {
  if (n <= 0) return [];
  const cols = Math.ceil(Math.sqrt(n));
  const rows = Math.ceil(n / cols);
  const cellW = Math.floor(width / cols);
  const cellH = Math.floor(height / rows);
  // Tiny cells (many cameras on a small canvas) shrink the gap and the name strip with them.
  const gap = Math.min(TILE_GAP, Math.floor(cellW / 8), Math.floor(cellH / 8));
  const labelH = Math.min(labelHeight(height), Math.floor(cellH / 4));
  // The largest picture of `aspect` that fits the cell with its name strip; even sizes keep yuv420p chroma aligned.
  const maxW = Math.max(2, cellW - 2 * gap);
  const maxH = Math.max(2, cellH - 2 * gap - labelH);
  const picW = Math.max(2, Math.min(maxW, Math.floor(maxH * aspect)) & ~1);
  const picH = Math.max(2, Math.min(maxH, Math.floor(picW / aspect)) & ~1);
  const out: TileRect[] = [];
  for (let i = 0; i < n; i++) {
    const row = Math.floor(i / cols);
    // The last row is centred when it is not full.
    const inRow = row === rows - 1 ? n - row * cols : cols;
    const col = i - row * cols;
    const x0 = Math.floor((width - inRow * cellW) / 2) + col * cellW;
    const y0 = row * cellH;
    // Picture and name are centred as one block in the cell.
    const x = x0 + Math.floor((cellW - picW) / 2);
    const y = y0 + Math.floor((cellH - picH - labelH) / 2);
    out.push({
      picture: { x, y, width: picW, height: picH },
      label: { x, y: y + picH, width: picW, height: labelH },
    });
  }
  return out;
}
