/**
 * CarRacing's picture, as Gymnasium 1.3's `_render` draws it: the scene at 1000×800 (background,
 * grass squares and road with gfxdraw, the car with pygame.draw, in world coordinates rotated with
 * the car and zoomed in over the first second), flipped, the indicator bar and score on top, then
 * shrunk with smoothscale to 96×96 (the observation) or 600×400 (`render()`).
 *
 * pygame's score text (SDL_ttf, FreeSansBold 42 px) is drawn here as seven-segment digits of the
 * same size and place, so the few pixels it covers differ; docs/box2d.md gives the measured
 * agreement with Gymnasium's frames.
 */
import { BLACK, Canvas, type Rgb } from '../../render/canvas.js';
import { aapolygon, filledPolygon } from '../../render/gfxdraw.js';
import { lines, polygon } from '../../render/draw.js';
import { rotateRad, rotatedX, rotatedY, rotation, type Rotation } from '../../render/rotate.js';
import { smoothscale } from '../../render/smoothscale.js';
import { UniformColumns } from '../../render/uniform-columns.js';
import type { RgbFrame } from '../env.js';
import type { RaceWorld } from './car_racing.js';
import { SIZE, WHEEL_R, WHEEL_W, WHEEL_WHITE } from './car_dynamics.js';

export const STATE_W = 96;
export const STATE_H = 96;
export const VIDEO_W = 600;
export const VIDEO_H = 400;
const WINDOW_W = 1000;
const WINDOW_H = 800;
// The track's scale as car_racing.ts has it (repeated: this module is loaded before that one's constants exist).
const SCALE = 6.0;
const PLAYFIELD = 2000 / SCALE;
const ZOOM = 2.7;
const GRASS_DIM = PLAYFIELD / 20.0;
const TRACK_WIDTH = 40 / SCALE;
const TRACK_DETAIL_STEP = 21 / SCALE;
/** Gymnasium skips polygons with no vertex within this margin of the window. */
const MAX_SHAPE_DIM = Math.max(GRASS_DIM, TRACK_WIDTH, TRACK_DETAIL_STEP) * Math.sqrt(2) * ZOOM * SCALE;
const HULL_COLOR: Rgb = [Math.trunc(0.8 * 255), 0, 0];

type Point = readonly [number, number];

/** The grass squares: every other cell of a 40×40 grid over the playfield. */
const GRASS: Point[][] = [];
for (let x = -20; x < 20; x += 2) {
  for (let y = -20; y < 20; y += 2) {
    GRASS.push([
      [GRASS_DIM * x + GRASS_DIM, GRASS_DIM * y + 0],
      [GRASS_DIM * x + 0, GRASS_DIM * y + 0],
      [GRASS_DIM * x + 0, GRASS_DIM * y + GRASS_DIM],
      [GRASS_DIM * x + GRASS_DIM, GRASS_DIM * y + GRASS_DIM],
    ]);
  }
}
const FIELD: Point[] = [
  [PLAYFIELD, PLAYFIELD],
  [PLAYFIELD, -PLAYFIELD],
  [-PLAYFIELD, -PLAYFIELD],
  [-PLAYFIELD, PLAYFIELD],
];

/**
 * World → window pixels (before the flip): rotate by `angle` (pygame's rotate_rad, its sine and cosine
 * worked out once a frame rather than once a vertex), zoom, translate.
 */
class View {
  readonly #rotation: Rotation;

  constructor(
    readonly zoom: number,
    readonly tx: number,
    readonly ty: number,
    angle: number,
  ) {
    this.#rotation = rotation(angle);
  }

  x(x: number, y: number): number {
    return rotatedX(this.#rotation, x, y) * this.zoom + this.tx;
  }

  y(x: number, y: number): number {
    return rotatedY(this.#rotation, x, y) * this.zoom + this.ty;
  }

  map(points: readonly Point[]): [number, number][] {
    return points.map(([x, y]) => [this.x(x, y), this.y(x, y)]);
  }
}

/** Is (x, y) within Gymnasium's drawing margin of the window? */
const nearWindow = (x: number, y: number): boolean => -MAX_SHAPE_DIM <= x && x <= WINDOW_W + MAX_SHAPE_DIM && -MAX_SHAPE_DIM <= y && y <= WINDOW_H + MAX_SHAPE_DIM;

function coloredPolygon(canvas: Canvas, view: View, poly: readonly Point[], color: Rgb, clip = true): void {
  // Most of the ~1,100 grass squares and road tiles are off screen once zoomed in: tested before any
  // vertex list is made for them (allocation showed as garbage collection in the step's profile).
  if (clip && !poly.some(([x, y]) => nearWindow(view.x(x, y), view.y(x, y)))) return;
  const points = view.map(poly);
  aapolygon(canvas, points, color);
  filledPolygon(canvas, points, color);
}

/** Python's int() of each channel (colours are float arrays in Gymnasium). */
const intColor = (c: readonly number[]): Rgb => [Math.trunc(c[0]), Math.trunc(c[1]), Math.trunc(c[2])];

function drawCar(canvas: Canvas, race: RaceWorld, view: View, particles: boolean): void {
  const car = race.car;
  if (particles) {
    // Skid marks: pygame.draw.lines(..., width=2).
    for (const p of car.particles) lines(canvas, view.map(p.poly), p.color, 2);
  }
  const bodies = [...car.wheels.map((w) => ({ body: w.body, color: [0, 0, 0] as Rgb, phase: w.phase as number | null })), { body: car.hull, color: HULL_COLOR, phase: null }];
  for (const { body, color, phase } of bodies) {
    const xf = body.getTransform();
    const toWorld = ([x, y]: Point): Point => [xf.q.c * x - xf.q.s * y + xf.p.x, xf.q.s * x + xf.q.c * y + xf.p.y];
    for (let f = body.getFixtureList(); f; f = f.getNext()) {
      const shape = f.getShape() as unknown as { m_vertices: { x: number; y: number }[]; m_count: number };
      const local: Point[] = [];
      for (let i = 0; i < shape.m_count; i++) local.push([shape.m_vertices[i].x, shape.m_vertices[i].y]);
      polygon(canvas, view.map(local.map(toWorld)), color);
      if (phase === null) continue;
      const a1 = phase;
      const a2 = phase + 1.2;
      const s1 = Math.sin(a1);
      const s2 = Math.sin(a2);
      let c1 = Math.cos(a1);
      let c2 = Math.cos(a2);
      if (s1 > 0 && s2 > 0) continue;
      if (s1 > 0) c1 = Math.sign(c1);
      if (s2 > 0) c2 = Math.sign(c2);
      const white: Point[] = [
        [-WHEEL_W * SIZE, +WHEEL_R * c1 * SIZE],
        [+WHEEL_W * SIZE, +WHEEL_R * c1 * SIZE],
        [+WHEEL_W * SIZE, +WHEEL_R * c2 * SIZE],
        [-WHEEL_W * SIZE, +WHEEL_R * c2 * SIZE],
      ];
      polygon(canvas, view.map(white.map(toWorld)), WHEEL_WHITE);
    }
  }
}

/** `_render_indicators`: the black bar and its gauges, in top-down window coordinates. */
function drawIndicators(canvas: Canvas, race: RaceWorld): void {
  const W = WINDOW_W;
  const H = WINDOW_H;
  const s = W / 40.0;
  const h = H / 40.0;
  polygon(canvas, [[W, H], [W, H - 5 * h], [0, H - 5 * h], [0, H]], BLACK, true);
  const vertical = (place: number, val: number): Point[] => [
    [place * s, H - (h + h * val)],
    [(place + 1) * s, H - (h + h * val)],
    [(place + 1) * s, H - h],
    [(place + 0) * s, H - h],
  ];
  const horizontal = (place: number, val: number): Point[] => [
    [(place + 0) * s, H - 4 * h],
    [(place + val) * s, H - 4 * h],
    [(place + val) * s, H - 2 * h],
    [(place + 0) * s, H - 2 * h],
  ];
  const ifAbove = (value: number, points: Point[], color: Rgb) => {
    if (Math.abs(value) > 1e-4) polygon(canvas, points, color, true);
  };
  const car = race.car;
  const v = car.hull.getLinearVelocity();
  const trueSpeed = Math.sqrt(v.x * v.x + v.y * v.y);
  ifAbove(trueSpeed, vertical(5, 0.02 * trueSpeed), [255, 255, 255]);
  const w = car.wheels;
  ifAbove(w[0].omega, vertical(7, 0.01 * w[0].omega), [0, 0, 255]);
  ifAbove(w[1].omega, vertical(8, 0.01 * w[1].omega), [0, 0, 255]);
  ifAbove(w[2].omega, vertical(9, 0.01 * w[2].omega), [51, 0, 255]);
  ifAbove(w[3].omega, vertical(10, 0.01 * w[3].omega), [51, 0, 255]);
  const steering = Math.fround(w[0].joint.getJointAngle());
  ifAbove(steering, horizontal(20, -10.0 * steering), [0, 255, 0]);
  const gyro = car.hull.getAngularVelocity();
  ifAbove(gyro, horizontal(30, -0.8 * gyro), [255, 0, 0]);
}

/**
 * Seven-segment digits standing in for pygame's "%04.0f" score text, sized and placed after
 * Gymnasium's frames: its text covers about x -130..250 and y 733..766 of the window (the
 * left part off screen), four glyphs of ~95 px advance.
 */
const SEGMENTS: Record<string, string> = {
  '0': 'abcdef',
  '1': 'bc',
  '2': 'abdeg',
  '3': 'abcdg',
  '4': 'bcfg',
  '5': 'acdfg',
  '6': 'acdefg',
  '7': 'abc',
  '8': 'abcdefg',
  '9': 'abcdfg',
  '-': 'g',
};
const DIGIT_ADVANCE = 95;
const DIGIT_W = 80;
const DIGIT_H = 34;
const STROKE = 8;
function drawScore(canvas: Canvas, reward: number): void {
  const text = formatScore(reward);
  const width = text.length * DIGIT_ADVANCE;
  const left = Math.round(60 - width / 2);
  const top = Math.round(WINDOW_H - (WINDOW_H * 2.5) / 40.0 - DIGIT_H / 2);
  const white: Rgb = [255, 255, 255];
  const rect = (x0: number, y0: number, w: number, h: number) =>
    polygon(canvas, [[x0, y0], [x0 + w - 1, y0], [x0 + w - 1, y0 + h - 1], [x0, y0 + h - 1]], white, true);
  for (const [k, ch] of [...text].entries()) {
    const x = left + k * DIGIT_ADVANCE + 2;
    const mid = top + Math.floor((DIGIT_H - STROKE) / 2);
    for (const seg of SEGMENTS[ch] ?? '') {
      if (seg === 'a') rect(x, top, DIGIT_W, STROKE);
      else if (seg === 'g') rect(x, mid, DIGIT_W, STROKE);
      else if (seg === 'd') rect(x, top + DIGIT_H - STROKE, DIGIT_W, STROKE);
      else if (seg === 'f') rect(x, top, STROKE, Math.ceil(DIGIT_H / 2));
      else if (seg === 'b') rect(x + DIGIT_W - STROKE, top, STROKE, Math.ceil(DIGIT_H / 2));
      else if (seg === 'e') rect(x, mid, STROKE, DIGIT_H - (mid - top));
      else if (seg === 'c') rect(x + DIGIT_W - STROKE, mid, STROKE, DIGIT_H - (mid - top));
    }
  }
}

/** Python's f"{reward:04.0f}": rounded half to even, at least 4 characters, zero-padded after the sign. */
export function formatScore(reward: number): string {
  let r = Math.round(reward);
  if (Math.abs(reward % 1) === 0.5 && r % 2 !== 0) r -= 1;
  const negative = r < 0 || Object.is(r, -0) || (r === 0 && reward < 0);
  const digits = String(Math.abs(r));
  return negative ? '-' + digits.padStart(3, '0') : digits.padStart(4, '0');
}

/** Does the convex quad hold the whole window, with a margin of two pixels? */
function covers(quad: readonly (readonly [number, number])[]): boolean {
  const corners: Point[] = [[-2, -2], [WINDOW_W + 2, -2], [WINDOW_W + 2, WINDOW_H + 2], [-2, WINDOW_H + 2]];
  return corners.every(([px, py]) => {
    let sign = 0;
    for (let i = 0; i < quad.length; i++) {
      const [ax, ay] = quad[i];
      const [bx, by] = quad[(i + 1) % quad.length];
      const cross = Math.sign((bx - ax) * (py - ay) - (by - ay) * (px - ax));
      if (cross === 0 || (sign !== 0 && cross !== sign)) return false;
      sign = cross;
    }
    return true;
  });
}

/** The observation's tracker of one-colour runs, one per thread (its 300 KB are reused frame after frame). */
let stateColumns: UniformColumns | null = null;

/**
 * `_render("state_pixels")` (96×96, no skid marks) or `_render("rgb_array")` (600×400). The frame's
 * bytes are reused by the next frame of that size on this thread: copy them first.
 */
export function drawCarRacing(race: RaceWorld, mode: 'state_pixels' | 'rgb_array'): RgbFrame {
  const hull = race.car.hull;
  const angle = -hull.getAngle();
  // Zooms in over the first second.
  const zoom = 0.1 * SCALE * Math.max(1 - race.t, 0) + ZOOM * SCALE * Math.min(race.t, 1);
  const pos = hull.getPosition();
  const [tx, ty] = rotateRad(-pos.x * zoom, -pos.y * zoom, angle);
  const view = new View(zoom, WINDOW_W / 2 + tx, WINDOW_H / 4 + ty, angle);

  const bg = intColor(race.colors.bg);
  const field = view.map(FIELD);
  let canvas: Canvas;
  // The observation's shrink skips runs of one colour (uniform-columns.ts).
  const columns = mode === 'state_pixels' ? (stateColumns ??= new UniformColumns(WINDOW_W, WINDOW_H, STATE_W)) : null;
  // Once zoomed in, the background square covers the window and its edges lie outside it: clearing
  // to its colour gives the same pixels as filling it (800,000 pixel writes a frame saved).
  if (covers(field)) canvas = Canvas.reused(WINDOW_W, WINDOW_H, bg, columns);
  else {
    canvas = Canvas.reused(WINDOW_W, WINDOW_H, BLACK, columns);
    coloredPolygon(canvas, view, FIELD, bg, false);
  }
  const grass = intColor(race.colors.grass);
  for (const poly of GRASS) coloredPolygon(canvas, view, poly, grass);
  for (const { points, color } of race.roadPoly) coloredPolygon(canvas, view, points, intColor(color));
  drawCar(canvas, race, view, mode === 'rgb_array');
  // The canvas already stores rows flipped (y up); the bar and score are drawn top-down.
  drawIndicators(canvas, race);
  drawScore(canvas, race.reward);
  return mode === 'state_pixels' ? smoothscale(canvas, STATE_W, STATE_H) : smoothscale(canvas, VIDEO_W, VIDEO_H);
}
