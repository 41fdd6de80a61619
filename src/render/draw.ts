/**
 * pygame.draw as Gymnasium's classic-control renderers use it (pygame 2.1.2's draw.c, re-implemented
 * from its algorithms): `aalines` (MountainCar's track), `line` (Acrobot's goal line) and `lines`
 * (CarRacing's skid marks, 2 pixels wide). Unlike gfxdraw, `aalines` keeps float coordinates, in
 * single precision: every step below rounds to float32 as the C code's `float` arithmetic does,
 * since a different rounding moves antialiased pixels by one level.
 */
import type { Canvas, Rgb } from './canvas.js';

const f = Math.fround;

/** Blends `c` over (x, y) at `brightness` (0..1) as pygame's aaline does: truncated float mix. */
function blendAt(canvas: Canvas, x: number, y: number, c: Rgb, brightness: number): void {
  if (!canvas.inside(x, y)) return;
  canvas.touched(x, y);
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

/**
 * pygame's clip_line: the segment's integer end points moved onto the surface (Liang–Barsky against
 * [0, w] × [0, h], rounded half away from zero); null when it misses the surface.
 */
function clipLine(canvas: Canvas, x1: number, y1: number, x2: number, y2: number): [number, number, number, number] | null {
  const p1 = x1 - x2;
  const p3 = y1 - y2;
  const q = [x1, canvas.width - x1, y1, canvas.height - y1];
  const p = [p1, -p1, p3, -p3];
  for (let i = 0; i < 4; i++) if (p[i] === 0 && q[i] < 0) return null;
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
  if (nmax > pmin) return null;
  const roundAway = (v: number): number => Math.trunc(v < 0 ? v - 0.5 : v + 0.5);
  return [x1 + roundAway(-p1 * nmax), y1 + roundAway(-p3 * nmax), x1 + roundAway(-p1 * pmin), y1 + roundAway(-p3 * pmin)];
}

/** C's sign helper in draw.c: the sign of x, or `zero` when x is 0. */
const signOr = (x: number, zero: number): number => (x > 0 ? 1 : x < 0 ? -1 : zero);

/**
 * pygame.draw.line (pygame 2.1.2's draw_line_width): integer end points (floats truncated), clipped,
 * then Bresenham. Wider lines grow sideways from the centre line, by `(width - 1) / 2` pixels on the
 * left/top and `width / 2` on the right/bottom, across x for steep lines and across y for flat ones.
 * The stepping keeps the unclipped line's error terms, as the C code does (its pixels, not the ideal
 * line's), and runs on past the clipped end while the widened line is still on the surface.
 */
export function line(canvas: Canvas, from: readonly [number, number], to: readonly [number, number], c: Rgb, width = 1): void {
  if (width < 1) return;
  const startX = Math.trunc(from[0]);
  const startY = Math.trunc(from[1]);
  const endX = Math.trunc(to[0]);
  const endY = Math.trunc(to[1]);
  const clipped = clipLine(canvas, startX, startY, endX, endY);
  if (clipped === null) return;
  let [x1, y1, x2, y2] = clipped;
  if (width === 1) {
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
    return;
  }
  // Thickness across x (flat top and bottom ends) for lines at least as tall as wide.
  const acrossX = Math.abs(startX - endX) <= Math.abs(startY - endY);
  const dx = Math.abs(endX - startX);
  const sx = startX < endX ? 1 : -1;
  const dy = Math.abs(endY - startY);
  const sy = startY < endY ? 1 : -1;
  let err = Math.trunc((dx > dy ? dx : -dy) / 2);
  let leftTop = (acrossX ? x1 : y1) - Math.trunc((width - 1) / 2);
  let rightBottom = (acrossX ? x1 : y1) + Math.trunc(width / 2);
  const draw = (): void => {
    if (acrossX) hlineClipped(canvas, leftTop, y1, rightBottom, c);
    else for (let y = leftTop; y <= rightBottom; y++) canvas.set(x1, y, c);
  };
  const advance = (): void => {
    const e2 = err;
    if (e2 > -dx) {
      err -= dy;
      x1 += sx;
      if (acrossX) {
        leftTop += sx;
        rightBottom += sx;
      }
    }
    if (e2 < dy) {
      err += dx;
      y1 += sy;
      if (!acrossX) {
        leftTop += sy;
        rightBottom += sy;
      }
    }
  };
  while (signOr(x1 - x2, sx) !== sx || signOr(y1 - y2, sy) !== sy) {
    draw();
    advance();
  }
  if (acrossX) {
    while (y1 !== endY && (canvas.inside(leftTop, y1) || canvas.inside(rightBottom, y1))) {
      draw();
      advance();
    }
  } else {
    while (x1 !== endX && (canvas.inside(x1, leftTop) || canvas.inside(x1, rightBottom))) {
      draw();
      advance();
    }
  }
  draw();
}

/** pygame.draw.lines (open): `line` from each point to the next, `width` pixels wide. */
export function lines(canvas: Canvas, points: readonly (readonly [number, number])[], c: Rgb, width = 1): void {
  for (let i = 1; i < points.length; i++) line(canvas, points[i - 1], points[i], c, width);
}

/** drawhorzlineclip: row y from xa to xb (either order), clipped to the surface. */
function hlineClipped(canvas: Canvas, xa: number, y: number, xb: number, c: Rgb): void {
  if (y < 0 || y >= canvas.height) return;
  if (xb < xa) [xa, xb] = [xb, xa];
  xa = Math.max(xa, 0);
  xb = Math.min(xb, canvas.width - 1);
  if (xb < 0 || xa >= canvas.width || xb < xa) return;
  canvas.span(xa, xb, y, c);
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
