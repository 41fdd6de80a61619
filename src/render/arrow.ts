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
 * Draws the arrow in the `size`×`size` square centred on (cx, cy) (y up): counter-clockwise when
 * `counterClockwise`, else its mirror image.
 */
export function turnArrow(canvas: Canvas, cx: number, cy: number, size: number, counterClockwise: boolean): void {
  if (size < 1) return;
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
  const side = (ax: number, ay: number, bx2: number, by2: number, px: number, py: number): number => (bx2 - ax) * (py - ay) - (by2 - ay) * (px - ax);
  const inHead = (px: number, py: number): boolean => {
    const s1 = side(head[0][0], head[0][1], head[1][0], head[1][1], px, py);
    const s2 = side(head[1][0], head[1][1], head[2][0], head[2][1], px, py);
    const s3 = side(head[2][0], head[2][1], head[0][0], head[0][1], px, py);
    return (s1 >= 0 && s2 >= 0 && s3 >= 0) || (s1 <= 0 && s2 <= 0 && s3 <= 0);
  };
  const inRing = (px: number, py: number): boolean => {
    const r = Math.hypot(px, py);
    if (r < radius - half || r > radius + half) return false;
    let a = Math.atan2(py, px) - START;
    if (a < 0) a += 2 * Math.PI;
    return a <= SWEEP;
  };
  const x0 = Math.round(cx - size / 2);
  const y0 = Math.round(cy - size / 2);
  for (let y = y0; y < y0 + size; y++) {
    for (let x = x0; x < x0 + size; x++) {
      if (!canvas.inside(x, y)) continue;
      let hits = 0;
      for (let sy = 0; sy < SUBSAMPLES; sy++) {
        for (let sx = 0; sx < SUBSAMPLES; sx++) {
          let px = x + (sx + 0.5) / SUBSAMPLES - 0.5 - cx;
          const py = y + (sy + 0.5) / SUBSAMPLES - 0.5 - cy;
          if (!counterClockwise) px = -px;
          if (inRing(px, py) || inHead(px, py)) hits++;
        }
      }
      if (hits === 0) continue;
      const keep = 1 - hits / (SUBSAMPLES * SUBSAMPLES);
      const o = canvas.offset(x, y);
      for (let k = 0; k < 3; k++) canvas.data[o + k] = Math.round(canvas.data[o + k] * keep);
    }
  }
}
