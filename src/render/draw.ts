/**
 * pygame.draw as Gymnasium's classic-control renderers use it (pygame 2.1.2's draw.c, re-implemented
 * from its algorithms): `aalines` (MountainCar's track) and `line` (Acrobot's goal line). Unlike
 * gfxdraw, `aalines` keeps float coordinates, in single precision: every step below rounds to
 * float32 as the C code's `float` arithmetic does, since a different rounding moves antialiased
 * pixels by one level.
 */
import type { Canvas, Rgb } from './canvas.js';

const f = Math.fround;

/** Blends `c` over (x, y) at `brightness` (0..1) as pygame's aaline does: truncated float mix. */
function blendAt(canvas: Canvas, x: number, y: number, c: Rgb, brightness: number): void {
  if (!canvas.inside(x, y)) return;
  const d = canvas.data;
  const o = canvas.offset(x, y);
  const rest = f(1 - brightness);
  for (let k = 0; k < 3; k++) d[o + k] = Math.trunc(f(f(brightness * c[k]) + f(rest * d[o + k])));
}

/** One antialiased segment (pygame's draw_aaline with blending), coordinates already float32. */
function aaline(canvas: Canvas, c: Rgb, fromX: number, fromY: number, toX: number, toY: number): void {
  let dx = f(toX - fromX);
  let dy = f(toY - fromY);
  if (Math.abs(dx) < 0.0001 && Math.abs(dy) < 0.0001) {
    blendAt(canvas, Math.floor(fromX + 0.5), Math.floor(fromY + 0.5), c, 1);
    return;
  }
  // Clipped one pixel wider on every side so border pixels get their share.
  let clipLeft = -1;
  let clipRight = f(clipLeft + canvas.width + 1);
  let clipTop = -1;
  let clipBottom = f(clipTop + canvas.height + 1);
  const steep = Math.abs(dx) < Math.abs(dy);
  if (steep) {
    [fromX, fromY] = [fromY, fromX];
    [toX, toY] = [toY, toX];
    [dx, dy] = [dy, dx];
    [clipLeft, clipTop] = [clipTop, clipLeft];
    [clipRight, clipBottom] = [clipBottom, clipRight];
  }
  if (dx < 0) {
    [fromX, toX] = [toX, fromX];
    [fromY, toY] = [toY, fromY];
    dx = -dx;
    dy = -dy;
  }
  if (toX <= clipLeft || fromX >= clipRight) return;
  const gradient = f(dy / dx);
  if (fromX < clipLeft) {
    fromY = f(fromY + f(gradient * f(clipLeft - fromX)));
    fromX = clipLeft;
  }
  if (toX > clipRight) {
    toY = f(toY + f(gradient * f(clipRight - toX)));
    toX = clipRight;
  }
  if (gradient > 0) {
    if (toY <= clipTop || fromY >= clipBottom) return;
    if (fromY < clipTop) {
      fromX = f(fromX + f(f(clipTop - fromY) / gradient));
      fromY = clipTop;
    }
    if (toY > clipBottom) {
      toX = f(toX + f(f(clipBottom - toY) / gradient));
      toY = clipBottom;
    }
  } else {
    if (fromY <= clipTop || toY >= clipBottom) return;
    if (toY < clipTop) {
      toX = f(toX + f(f(clipTop - toY) / gradient));
      toY = clipTop;
    }
    if (fromY > clipBottom) {
      fromX = f(fromX + f(f(clipBottom - fromY) / gradient));
      fromY = clipBottom;
    }
  }
  // Shifted down one pixel so truncation rounds down; pixels are then drawn one higher.
  fromY = f(fromY + 1);
  toY = f(toY + 1);
  const plot = (u: number, v: number, b: number): void => (steep ? blendAt(canvas, v, u, c, b) : blendAt(canvas, u, v, c, b));

  let xStart = Math.trunc(fromX);
  let intersectY = f(fromY + f(gradient * f(xStart - fromX)));
  if (toX > f(clipLeft + 1)) {
    const yEnd = intersectY;
    const gap = f(f(1 + xStart) - fromX);
    let brightness = f(yEnd - Math.trunc(yEnd));
    if (Math.trunc(yEnd) < yEnd) plot(xStart, Math.trunc(yEnd), f(brightness * gap));
    brightness = f(1 - brightness);
    plot(xStart, Math.trunc(yEnd) - 1, f(brightness * gap));
    intersectY = f(intersectY + gradient);
    xStart++;
  }
  const xEnd = Math.ceil(toX);
  if (fromX < f(clipRight - 1)) {
    const yEnd = f(toY + f(gradient * f(xEnd - toX)));
    const gap = f(f(1 - xEnd) + toX);
    let brightness = f(yEnd - Math.trunc(yEnd));
    if (Math.trunc(yEnd) < yEnd) plot(xEnd, Math.trunc(yEnd), f(brightness * gap));
    brightness = f(1 - brightness);
    plot(xEnd, Math.trunc(yEnd) - 1, f(brightness * gap));
  }
  for (let x = xStart; x < xEnd; x++) {
    const y = Math.trunc(intersectY);
    const brightness = f(f(1 - intersectY) + y);
    plot(x, y - 1, brightness);
    if (y < intersectY) plot(x, y, f(1 - brightness));
    intersectY = f(intersectY + gradient);
  }
}

/** pygame.draw.aalines (open, blended): float coordinates as pygame reads them, in single precision. */
export function aalines(canvas: Canvas, points: readonly (readonly [number, number])[], c: Rgb): void {
  for (let i = 1; i < points.length; i++) {
    aaline(canvas, c, f(points[i - 1][0]), f(points[i - 1][1]), f(points[i][0]), f(points[i][1]));
  }
}

/** pygame.draw.line, width 1: integer end points (floats truncated), clipped, then Bresenham. */
export function line(canvas: Canvas, from: readonly [number, number], to: readonly [number, number], c: Rgb): void {
  let x1 = Math.trunc(from[0]);
  let y1 = Math.trunc(from[1]);
  let x2 = Math.trunc(to[0]);
  let y2 = Math.trunc(to[1]);
  // Liang–Barsky against [0, w] × [0, h] (pygame's bounds; pixels outside are then skipped).
  const p1 = x1 - x2;
  const p3 = y1 - y2;
  const q = [x1, canvas.width - x1, y1, canvas.height - y1];
  const p = [p1, -p1, p3, -p3];
  for (let i = 0; i < 4; i++) if (p[i] === 0 && q[i] < 0) return;
  let nmax = 0;
  let pmin = 1;
  for (const axis of [0, 2]) {
    if (!p[axis]) continue;
    const r1 = q[axis] / p[axis];
    const r2 = q[axis + 1] / p[axis + 1];
    if (p[axis] < 0) {
      nmax = Math.max(nmax, r1);
      pmin = Math.min(pmin, r2);
    } else {
      nmax = Math.max(nmax, r2);
      pmin = Math.min(pmin, r1);
    }
  }
  if (nmax > pmin) return;
  const roundAway = (v: number): number => Math.trunc(v < 0 ? v - 0.5 : v + 0.5);
  const ox = x1;
  const oy = y1;
  x1 = ox + roundAway(-p1 * nmax);
  y1 = oy + roundAway(-p3 * nmax);
  x2 = ox + roundAway(-p1 * pmin);
  y2 = oy + roundAway(-p3 * pmin);
  const dx = Math.abs(x2 - x1);
  const sx = x1 < x2 ? 1 : -1;
  const dy = Math.abs(y2 - y1);
  const sy = y1 < y2 ? 1 : -1;
  let err = Math.trunc((dx > dy ? dx : -dy) / 2);
  while (x1 !== x2 || y1 !== y2) {
    canvas.set(x1, y1, c);
    const e2 = err;
    if (e2 > -dx) {
      err -= dy;
      x1 += sx;
    }
    if (e2 < dy) {
      err += dx;
      y1 += sy;
    }
  }
  canvas.set(x2, y2, c);
}

/**
 * pygame.draw.polygon, filled (pygame 2.1.2's draw_fillpoly): vertices truncated to integers, each
 * row filled between pairs of edge crossings (integer division), then horizontal edges drawn, as
 * CarRacing's car and indicator bar are. `topDown`: y counts down from the top row (what Gymnasium
 * draws after flipping its surface), instead of the canvas's y up.
 */
export function polygon(canvas: Canvas, points: readonly (readonly [number, number])[], c: Rgb, topDown = false): void {
  const n = points.length;
  if (n === 0) return;
  const vx = points.map((p) => Math.trunc(p[0]));
  const vy = points.map((p) => (topDown ? canvas.height - 1 - Math.trunc(p[1]) : Math.trunc(p[1])));
  const row = (xa: number, y: number, xb: number) => {
    if (y < 0 || y >= canvas.height) return;
    if (xa > xb) [xa, xb] = [xb, xa];
    if (xb < 0 || xa >= canvas.width) return;
    canvas.span(Math.max(xa, 0), Math.min(xb, canvas.width - 1), y, c);
  };
  let miny = vy[0];
  let maxy = vy[0];
  for (let i = 1; i < n; i++) {
    miny = Math.min(miny, vy[i]);
    maxy = Math.max(maxy, vy[i]);
  }
  if (miny === maxy) {
    // One row high: from the leftmost to the rightmost vertex.
    row(Math.min(...vx), miny, Math.max(...vx));
    return;
  }
  const crossings: number[] = [];
  for (let y = Math.max(miny, 0), end = Math.min(maxy, canvas.height - 1); y <= end; y++) {
    crossings.length = 0;
    for (let i = 0; i < n; i++) {
      const prev = i === 0 ? n - 1 : i - 1;
      let y1 = vy[prev];
      let y2 = vy[i];
      let x1: number;
      let x2: number;
      if (y1 < y2) {
        x1 = vx[prev];
        x2 = vx[i];
      } else if (y1 > y2) {
        y2 = vy[prev];
        y1 = vy[i];
        x2 = vx[prev];
        x1 = vx[i];
      } else continue;
      if ((y >= y1 && y < y2) || (y === maxy && y > y1 && y <= y2)) crossings.push(Math.trunc(((y - y1) * (x2 - x1)) / (y2 - y1)) + x1);
    }
    crossings.sort((a, b) => a - b);
    for (let i = 0; i + 1 < crossings.length; i += 2) row(crossings[i], y, crossings[i + 1]);
  }
  // The scan above leaves out horizontal edges inside the polygon's height.
  for (let i = 0; i < n; i++) {
    const prev = i === 0 ? n - 1 : i - 1;
    const y = vy[i];
    if (miny < y && vy[prev] === y && y < maxy) row(vx[i], y, vx[prev]);
  }
}
