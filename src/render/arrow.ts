/**
 * gym-tcp's own torque arrow for Pendulum frames. Gymnasium blits an image file there
 * (`clockwise.png`, scaled to the torque); that picture is not ours to copy, so this draws a
 * comparable one: a three-quarter ring with a head at its leading end, black, antialiased by
 * 4×4 supersampling, in the same n×n square centred on the axle.
 */
import type { Canvas } from './canvas.js';

const SUBSAMPLES = 4;
const START = -Math.PI / 4;
const SWEEP = 1.5 * Math.PI;

/**
 * Coverage (0–16 samples) of each pixel of the size×size square, by size and direction. Sampling
 * every frame cost ~1 ms for a full-size arrow (|u| = 2); a cached mask is only blended. At most
 * 2 × 114 masks of up to 113² bytes: sizes are int(113.6·|u|/2) with |u| ≤ 2.
 */
const masks = new Map<number, Uint8Array>();

function coverage(size: number, counterClockwise: boolean): Uint8Array {
  const key = size * 2 + (counterClockwise ? 1 : 0);
  let mask = masks.get(key);
  if (mask) return mask;
  mask = new Uint8Array(size * size);
  const radius = size * 0.42;
  const half = Math.max(size * 0.03, 0.5);
  const end = START + SWEEP;
  // The head: a triangle whose base straddles the ring at the end angle and whose tip runs on along the tangent.
  const [ex, ey] = [Math.cos(end), Math.sin(end)];
  const [bx, by] = [radius * ex, radius * ey];
  const spread = half * 3.5;
  const reach = half * 6;
  const head = [
    [bx - spread * ex, by - spread * ey],
    [bx + spread * ex, by + spread * ey],
    [bx - reach * ey, by + reach * ex],
  ];
  const side = (a: number[], b: number[], px: number, py: number): number => (b[0] - a[0]) * (py - a[1]) - (b[1] - a[1]) * (px - a[0]);
  const inHead = (px: number, py: number): boolean => {
    const s1 = side(head[0], head[1], px, py);
    const s2 = side(head[1], head[2], px, py);
    const s3 = side(head[2], head[0], px, py);
    return (s1 >= 0 && s2 >= 0 && s3 >= 0) || (s1 <= 0 && s2 <= 0 && s3 <= 0);
  };
  const inRing = (px: number, py: number): boolean => {
    const r = Math.hypot(px, py);
    if (r < radius - half || r > radius + half) return false;
    let a = Math.atan2(py, px) - START;
    if (a < 0) a += 2 * Math.PI;
    return a <= SWEEP;
  };
  // The square's first pixel is `start` pixels from the axle pixel, on both axes; samples are
  // placed relative to the axle pixel's centre.
  const start = Math.round(-size / 2);
  for (let j = 0; j < size; j++) {
    for (let i = 0; i < size; i++) {
      let hits = 0;
      for (let sy = 0; sy < SUBSAMPLES; sy++) {
        for (let sx = 0; sx < SUBSAMPLES; sx++) {
          let px = start + i + (sx + 0.5) / SUBSAMPLES - 0.5;
          const py = start + j + (sy + 0.5) / SUBSAMPLES - 0.5;
          if (!counterClockwise) px = -px;
          if (inRing(px, py) || inHead(px, py)) hits++;
        }
      }
      mask[j * size + i] = hits;
    }
  }
  masks.set(key, mask);
  return mask;
}

/**
 * Draws the arrow in the `size`×`size` square centred on the pixel (cx, cy) (y up): counter-clockwise
 * when `counterClockwise`, else its mirror image.
 */
export function turnArrow(canvas: Canvas, cx: number, cy: number, size: number, counterClockwise: boolean): void {
  if (size < 1) return;
  const mask = coverage(size, counterClockwise);
  const start = Math.round(-size / 2);
  const all = SUBSAMPLES * SUBSAMPLES;
  for (let j = 0; j < size; j++) {
    for (let i = 0; i < size; i++) {
      const hits = mask[j * size + i];
      const [x, y] = [cx + start + i, cy + start + j];
      if (hits === 0 || !canvas.inside(x, y)) continue;
      const o = canvas.offset(x, y);
      for (let k = 0; k < 3; k++) canvas.data[o + k] = Math.round((canvas.data[o + k] * (all - hits)) / all);
    }
  }
}
