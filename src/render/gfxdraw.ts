/**
 * pygame.gfxdraw as Gymnasium's classic-control renderers use it: SDL_gfx's primitives (the copy
 * bundled with pygame 2.1.2, SDL_gfxPrimitives.c by A. Schiffler), re-implemented from their
 * algorithms so that frames match pixel for pixel, antialiasing included. The rules that decide
 * pixels, as SDL_gfx has them:
 *
 * - Coordinates are 16-bit integers: pygame truncates float vertices toward zero.
 * - An opaque colour is stored; a weighted ("antialiased") pixel blends with alpha
 *   a = 255·w >> 8 (so even full weight blends, at 254/256), per channel d + ((s − d)·a >> 8) with an
 *   arithmetic shift.
 * - `aapolygon` draws each edge with a Wu-style line of 8-bit weights from a 32-bit error accumulator,
 *   without its last pixel; a vertical or horizontal edge is a plain line with both ends.
 * - `filled_polygon` scans every row from the lowest to the highest vertex with 16.16 fixed-point
 *   crossings, rounded, and fills between pairs of them (a pair that crosses fills both pixels).
 * - `aacircle` is SDL_gfx's antialiased ellipse with rx = ry; `filled_circle` fills midpoint-circle
 *   spans.
 */
import type { Canvas, Rgb } from './canvas.js';

/** A float coordinate as pygame hands it to SDL_gfx: truncated toward zero, to a 16-bit integer. */
export function toSint16(v: number): number {
  return (Math.trunc(v) << 16) >> 16;
}

/** Blends `c` over pixel (x, y) with SDL_gfx's weight rule (clipped). */
function weighted(canvas: Canvas, x: number, y: number, c: Rgb, weight: number): void {
  if (!canvas.inside(x, y)) return;
  const alpha = (255 * weight) >> 8;
  canvas.touched(x, y);
  const d = canvas.data;
  const o = canvas.offset(x, y);
  d[o] += ((c[0] - d[o]) * alpha) >> 8;
  d[o + 1] += ((c[1] - d[o + 1]) * alpha) >> 8;
  d[o + 2] += ((c[2] - d[o + 2]) * alpha) >> 8;
}

/** gfxdraw.hline: pixels x1..x2 (either order) of row y. */
export function hline(canvas: Canvas, x1: number, x2: number, y: number, c: Rgb): void {
  if (x1 > x2) [x1, x2] = [x2, x1];
  if (x2 < 0 || x1 >= canvas.width || y < 0 || y >= canvas.height) return;
  canvas.span(Math.max(x1, 0), Math.min(x2, canvas.width - 1), y, c);
}

/** gfxdraw.vline: pixels y1..y2 (either order) of column x. */
export function vline(canvas: Canvas, x: number, y1: number, y2: number, c: Rgb): void {
  if (y1 > y2) [y1, y2] = [y2, y1];
  if (y2 < 0 || y1 >= canvas.height || x < 0 || x >= canvas.width) return;
  for (let y = Math.max(y1, 0), end = Math.min(y2, canvas.height - 1); y <= end; y++) canvas.set(x, y, c);
}

const LEFT = 1;
const RIGHT = 2;
const BOTTOM = 4;
const TOP = 8;

function outcode(canvas: Canvas, x: number, y: number): number {
  let code = 0;
  if (x < 0) code |= LEFT;
  else if (x > canvas.width - 1) code |= RIGHT;
  if (y < 0) code |= TOP;
  else if (y > canvas.height - 1) code |= BOTTOM;
  return code;
}

/**
 * SDL_gfx's line clipping (Cohen–Sutherland, slope in single precision, moves truncated to 16-bit
 * integers). Returns the clipped end points, or null when the line misses the surface.
 */
function clipLine(canvas: Canvas, x1: number, y1: number, x2: number, y2: number): [number, number, number, number] | null {
  const f = Math.fround;
  const right = canvas.width - 1;
  const bottom = canvas.height - 1;
  for (;;) {
    let c1 = outcode(canvas, x1, y1);
    let c2 = outcode(canvas, x2, y2);
    if ((c1 | c2) === 0) return [x1, y1, x2, y2];
    if ((c1 & c2) !== 0) return null;
    if (c1 === 0) {
      [x1, x2, y1, y2, c1, c2] = [x2, x1, y2, y1, c2, c1];
    }
    const m = x2 !== x1 ? f(f(y2 - y1) / f(x2 - x1)) : 1;
    if (c1 & LEFT) {
      y1 = toSint16(y1 + toSint16(f((0 - x1) * m)));
      x1 = 0;
    } else if (c1 & RIGHT) {
      y1 = toSint16(y1 + toSint16(f((right - x1) * m)));
      x1 = right;
    } else if (c1 & BOTTOM) {
      if (x2 !== x1) x1 = toSint16(x1 + toSint16(f((bottom - y1) / m)));
      y1 = bottom;
    } else if (c1 & TOP) {
      if (x2 !== x1) x1 = toSint16(x1 + toSint16(f((0 - y1) / m)));
      y1 = 0;
    }
  }
}

/** SDL_gfx's antialiased line without its end point, as `aapolygon` draws each edge. */
function aalineOpen(canvas: Canvas, ax: number, ay: number, bx: number, by: number, c: Rgb): void {
  const clipped = clipLine(canvas, ax, ay, bx, by);
  if (clipped === null) return;
  const [x1, y1, x2, y2] = clipped;
  // Walk from the end with the smaller y.
  let [x0, y0] = y1 > y2 ? [x2, y2] : [x1, y1];
  let dx = (y1 > y2 ? x1 : x2) - x0;
  let dy = Math.abs(y2 - y1);
  if (dx === 0) {
    // Vertical and horizontal edges are plain lines that keep both ends.
    if (dy > 0) vline(canvas, x1, y0, y0 + dy, c);
    else canvas.set(x1, y1, c);
    return;
  }
  if (dy === 0) {
    hline(canvas, x0, x0 + dx, y1, c);
    return;
  }
  const xdir = dx >= 0 ? 1 : -1;
  dx = Math.abs(dx);
  // The first pixel is the clipped first point in full colour, whichever end the walk starts from.
  canvas.set(x1, y1, c);
  let acc = 0;
  if (dy > dx) {
    const adj = (Math.trunc((dx << 16) / dy) << 16) >>> 0;
    let xNext = x0 + xdir;
    while (--dy) {
      const before = acc;
      acc = (acc + adj) >>> 0;
      if (acc <= before) {
        x0 = xNext;
        xNext += xdir;
      }
      y0++;
      const w = acc >>> 24;
      weighted(canvas, x0, y0, c, 255 - w);
      weighted(canvas, xNext, y0, c, w);
    }
  } else {
    // (dy << 16) / dx << 16 overflows to 0 for a 45° edge: the accumulator then "rolls over" on
    // every step, which moves the line one row per column at full weight, as SDL_gfx draws it.
    const adj = (Math.trunc((dy << 16) / dx) << 16) >>> 0;
    let yNext = y0 + 1;
    while (--dx) {
      const before = acc;
      acc = (acc + adj) >>> 0;
      if (acc <= before) {
        y0 = yNext;
        yNext++;
      }
      x0 += xdir;
      const w = acc >>> 24;
      weighted(canvas, x0, y0, c, 255 - w);
      weighted(canvas, x0, yNext, c, w);
    }
  }
}

/** gfxdraw.aapolygon: the closed outline, antialiased, blended over what is there. */
export function aapolygon(canvas: Canvas, points: readonly (readonly [number, number])[], c: Rgb): void {
  const n = points.length;
  if (n < 3) return;
  const xs = points.map((p) => toSint16(p[0]));
  const ys = points.map((p) => toSint16(p[1]));
  for (let i = 1; i < n; i++) aalineOpen(canvas, xs[i - 1], ys[i - 1], xs[i], ys[i], c);
  aalineOpen(canvas, xs[n - 1], ys[n - 1], xs[0], ys[0], c);
}

/** gfxdraw.filled_polygon: SDL_gfx's scanline fill with 16.16 fixed-point edge crossings. */
export function filledPolygon(canvas: Canvas, points: readonly (readonly [number, number])[], c: Rgb): void {
  const n = points.length;
  if (n < 3) return;
  const xs = points.map((p) => toSint16(p[0]));
  const ys = points.map((p) => toSint16(p[1]));
  // SDL_gfx's extremes loop only looks for a new maximum when a vertex is not a new minimum.
  let miny = ys[0];
  let maxy = ys[0];
  for (let i = 1; i < n; i++) {
    if (ys[i] < miny) miny = ys[i];
    else if (ys[i] > maxy) maxy = ys[i];
  }
  // Crossings per row in a scratch array, insertion-sorted: Array.prototype.sort with a comparator
  // allocated on every row and was 60% of a Box2D frame (a 600×400 fill took 1.1 ms, now ~0.2 ms).
  // Rows off the surface draw nothing: skipping them leaves the pixels as they are (CarRacing's
  // background polygon spans ~15,000 rows of which 800 are on screen).
  const crossings = new Int32Array(n);
  for (let y = Math.max(miny, 0), last = Math.min(maxy, canvas.height - 1); y <= last; y++) {
    let count = 0;
    for (let i = 0; i < n; i++) {
      const j = i === 0 ? n - 1 : i - 1;
      let ya = ys[j];
      let yb = ys[i];
      let xa: number;
      let xb: number;
      if (ya < yb) {
        xa = xs[j];
        xb = xs[i];
      } else if (ya > yb) {
        [ya, yb] = [yb, ya];
        xa = xs[i];
        xb = xs[j];
      } else continue;
      if ((y >= ya && y < yb) || (y === maxy && y > ya && y <= yb)) {
        const crossing = (Math.trunc((65536 * (y - ya)) / (yb - ya)) * (xb - xa) + 65536 * xa) | 0;
        let k = count++;
        for (; k > 0 && crossings[k - 1] > crossing; k--) crossings[k] = crossings[k - 1];
        crossings[k] = crossing;
      }
    }
    for (let i = 0; i + 1 < count; i += 2) {
      const a = crossings[i] + 1;
      const b = crossings[i + 1] - 1;
      hline(canvas, (a >> 16) + ((a & 32768) >> 15), (b >> 16) + ((b & 32768) >> 15), y, c);
    }
  }
}

/** Round half to even, as C's lrint in the default rounding mode. */
function lrint(v: number): number {
  const r = Math.round(v);
  return r - v === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/** gfxdraw.aacircle: SDL_gfx's antialiased ellipse with both radii `r`. */
export function aacircle(canvas: Canvas, x: number, y: number, r: number, c: Rgb): void {
  const f = Math.fround;
  if (r < 0) return;
  if (r === 0) {
    vline(canvas, x, y, y, c);
    return;
  }
  if (x + r < 0 || x - r >= canvas.width || y + r < 0 || y - r >= canvas.height) return;
  const a2 = r * r;
  const b2 = r * r;
  const ds = 2 * a2;
  const dt = 2 * b2;
  const xc2 = 2 * x;
  const yc2 = 2 * y;
  const sab = Math.sqrt(a2 + b2);
  const dxt = lrint(a2 / sab);
  let t = 0;
  let s = -2 * a2 * r;
  let d = 0;
  let xp = x;
  let yp = y - r;
  canvas.set(xp, yp, c);
  canvas.set(xc2 - xp, yp, c);
  canvas.set(xp, yc2 - yp, c);
  canvas.set(xc2 - xp, yc2 - yp, c);
  const weightOf = (num: number, den: number): number => {
    if (den === 0) return 255;
    const cp = Math.min(f(f(Math.abs(num)) / f(Math.abs(den))), 1);
    return Math.trunc(f(cp * 255));
  };
  for (let i = 1; i <= dxt; i++) {
    xp--;
    d += t - b2;
    let ys: number;
    if (d >= 0) ys = yp - 1;
    else if (d - s - a2 > 0) {
      if (2 * d - s - a2 >= 0) ys = yp + 1;
      else {
        ys = yp;
        yp++;
        d -= s + a2;
        s += ds;
      }
    } else {
      yp++;
      ys = yp + 1;
      d -= s + a2;
      s += ds;
    }
    t -= dt;
    const w = weightOf(d, s);
    const iw = 255 - w;
    const xx = xc2 - xp;
    weighted(canvas, xp, yp, c, iw);
    weighted(canvas, xx, yp, c, iw);
    weighted(canvas, xp, ys, c, w);
    weighted(canvas, xx, ys, c, w);
    weighted(canvas, xp, yc2 - yp, c, iw);
    weighted(canvas, xx, yc2 - yp, c, iw);
    weighted(canvas, xp, yc2 - ys, c, w);
    weighted(canvas, xx, yc2 - ys, c, w);
  }
  const dyt = lrint(b2 / sab);
  for (let i = 1; i <= dyt; i++) {
    yp++;
    d -= s + a2;
    let xs: number;
    if (d <= 0) xs = xp + 1;
    else if (d + t - b2 < 0) {
      if (2 * d + t - b2 <= 0) xs = xp - 1;
      else {
        xs = xp;
        xp--;
        d += t - b2;
        t -= dt;
      }
    } else {
      xp--;
      xs = xp - 1;
      d += t - b2;
      t -= dt;
    }
    s += ds;
    const w = weightOf(d, t);
    const iw = 255 - w;
    const yy = yc2 - yp;
    weighted(canvas, xp, yp, c, iw);
    weighted(canvas, xc2 - xp, yp, c, iw);
    weighted(canvas, xp, yy, c, iw);
    weighted(canvas, xc2 - xp, yy, c, iw);
    weighted(canvas, xs, yp, c, w);
    weighted(canvas, xc2 - xs, yp, c, w);
    weighted(canvas, xs, yy, c, w);
    weighted(canvas, xc2 - xs, yy, c, w);
  }
}

/** gfxdraw.filled_circle: SDL_gfx's midpoint circle, filled with horizontal spans. */
export function filledCircle(canvas: Canvas, x: number, y: number, r: number, c: Rgb): void {
  if (r < 0) return;
  if (r === 0) {
    canvas.set(x, y, c);
    return;
  }
  if (x + r < 0 || x - r >= canvas.width || y + r < 0 || y - r >= canvas.height) return;
  let cx = 0;
  let cy = r;
  let ocx = -1;
  let ocy = -1;
  let df = 1 - r;
  let dE = 3;
  let dSE = -2 * r + 5;
  do {
    if (ocy !== cy) {
      if (cy > 0) {
        hline(canvas, x - cx, x + cx, y + cy, c);
        hline(canvas, x - cx, x + cx, y - cy, c);
      } else hline(canvas, x - cx, x + cx, y, c);
      ocy = cy;
    }
    if (ocx !== cx) {
      if (cx !== cy) {
        if (cx > 0) {
          hline(canvas, x - cy, x + cy, y - cx, c);
          hline(canvas, x - cy, x + cy, y + cx, c);
        } else hline(canvas, x - cy, x + cy, y, c);
      }
      ocx = cx;
    }
    if (df < 0) {
      df += dE;
      dE += 2;
      dSE += 2;
    } else {
      df += dSE;
      dE += 2;
      dSE += 4;
      cy--;
    }
    cx++;
  } while (cx <= cy);
}
