/**
 * CarRacing: drive a top-down car round a random track, seen from above in a 96×96 image.
 * Gymnasium 1.3's car_racing.py on planck (engine.ts): the track is `createTrack` (exact: the same
 * draws and the same float64 arithmetic as Python), the car is car_dynamics.ts, the picture is
 * car_racing_view.ts.
 *
 * | | |
 * |---|---|
 * | Observation | Box(96, 96, 3) uint8: the view behind the car, rotated with it, and the indicator bar (speed, four wheel spins, steering, gyro) |
 * | Action | Box(3,) float32 steer [-1, 1], gas [0, 1], brake [0, 1] (only gas is clipped); or (`continuous=False`) Discrete(5): nothing, right, left, gas, brake |
 * | Reward | -0.1 per frame, +1000/N for each tile first touched (N tiles); -100 on leaving the playfield |
 * | Start | at rest on the first tile; 12 random checkpoints shape the track (redrawn until a track closes) |
 * | Termination | all tiles visited, or tile 0 touched with more than `lap_complete_percent` of them (`info.lap_finished` true); |x| or |y| beyond the playfield (false) |
 * | Truncation | 1000 steps, by the time limit |
 *
 * Keyword arguments: `continuous` (default true), `domain_randomize` (random road, background and
 * grass colours on each reset), `lap_complete_percent` (default 0.95). Reset option: `randomize`
 * (default true; false keeps the colours of a `domain_randomize` env, as Gymnasium's does).
 *
 * Longer than 400 lines because track generation is one long procedure in Gymnasium (kept in one
 * piece here so it can be read against car_racing.py line by line), beside the env that uses it.
 */
import { z } from 'zod';
import { Box, Discrete } from '../../spaces/index.js';
import { envMetadata, type EnvMetadata, type EnvSpec, type RenderMode, type ResetOptions, type ResetResult, type RgbFrame, type StepResult } from '../env.js';
import { RenderError } from '../errors.js';
import { FPS, planck, polygon, stepWorld } from './engine.js';
import { Car, type TileRef } from './car_dynamics.js';
import { ReplayedEnv } from './replayed_env.js';
import type { NpRandom } from '../../rng/index.js';
import { drawCarRacing, STATE_H, STATE_W, VIDEO_H, VIDEO_W } from './car_racing_view.js';

const f32 = Math.fround;

export const SCALE = 6.0;
const TRACK_RAD = 900 / SCALE;
export const PLAYFIELD = 2000 / SCALE;
const TRACK_DETAIL_STEP = 21 / SCALE;
const TRACK_TURN_RATE = 0.31;
const TRACK_WIDTH = 40 / SCALE;
const BORDER = 8 / SCALE;
const BORDER_MIN_COUNT = 4;
const CHECKPOINTS = 12;

export const carRacingKwargs = z.strictObject({
  continuous: z.boolean().default(true),
  domain_randomize: z.boolean().default(false),
  lap_complete_percent: z.number().min(0).max(1).default(0.95),
});
export type CarRacingKwargs = z.infer<typeof carRacingKwargs>;

/** Gymnasium's `reset(options={"randomize": …})`: false keeps a `domain_randomize` env's colours (no draws). */
export const carRacingResetOptions = z.strictObject({ randomize: z.boolean().default(true) });

export type Rgb = [number, number, number];

/** A track point: Gymnasium's (alpha, beta, x, y): polar angle, heading, position. */
export type TrackPoint = [number, number, number, number];
type Point = [number, number];

/** A tile of road: a sensor the wheels drive over. `color` is the one drawn (it turns plain road when touched). */
export interface Tile extends TileRef {
  readonly body: planck.Body;
  color: Rgb;
  visited: boolean;
}

/** A polygon the view draws under the car: road tiles (colour shared with their Tile) and kerbs. */
export interface RoadPoly {
  readonly points: readonly Point[];
  readonly color: Rgb;
}

export interface Colors {
  road: Rgb;
  bg: Rgb;
  grass: Rgb;
}

/** Python's seq[i] for i in [-n, n). */
const at = <T>(seq: readonly T[], i: number): T => seq[i < 0 ? seq.length + i : i];

/** Gymnasium's start angle: the track begins where it crosses alpha = -π/12. */
const START_ALPHA = (2 * Math.PI * -0.5) / CHECKPOINTS;

/**
 * `_create_track` without the Box2D part: 12 checkpoints (2 draws each), the path that chases them
 * for up to five laps, one closed lap cut out of it and the kerb flags. null: this attempt failed
 * (Gymnasium draws a new one).
 */
export function createTrack(rng: NpRandom): { track: TrackPoint[]; border: boolean[] } | null {
  const checkpoints: [number, number, number][] = [];
  for (let c = 0; c < CHECKPOINTS; c++) {
    const noise = rng.uniform(0, (2 * Math.PI * 1) / CHECKPOINTS);
    let alpha = (2 * Math.PI * c) / CHECKPOINTS + noise;
    let rad = rng.uniform(TRACK_RAD / 3, TRACK_RAD);
    if (c === 0) {
      alpha = 0;
      rad = 1.5 * TRACK_RAD;
    }
    if (c === CHECKPOINTS - 1) {
      alpha = (2 * Math.PI * c) / CHECKPOINTS;
      rad = 1.5 * TRACK_RAD;
    }
    checkpoints.push([alpha, rad * Math.cos(alpha), rad * Math.sin(alpha)]);
  }

  let x = 1.5 * TRACK_RAD;
  let y = 0;
  let beta = 0;
  let destI = 0;
  let laps = 0;
  let all: TrackPoint[] = [];
  let noFreeze = 2500;
  let visitedOtherSide = false;
  for (;;) {
    let alpha = Math.atan2(y, x);
    if (visitedOtherSide && alpha > 0) {
      laps += 1;
      visitedOtherSide = false;
    }
    if (alpha < 0) {
      visitedOtherSide = true;
      alpha += 2 * Math.PI;
    }
    let destX: number;
    let destY: number;
    for (;;) {
      let failed = true;
      for (;;) {
        const [destAlpha, dx, dy] = checkpoints[destI % CHECKPOINTS];
        destX = dx;
        destY = dy;
        if (alpha <= destAlpha) {
          failed = false;
          break;
        }
        destI += 1;
        if (destI % CHECKPOINTS === 0) break;
      }
      if (!failed) break;
      alpha -= 2 * Math.PI;
    }
    const r1x = Math.cos(beta);
    const r1y = Math.sin(beta);
    const p1x = -r1y;
    const p1y = r1x;
    const destDx = destX! - x;
    const destDy = destY! - y;
    let proj = r1x * destDx + r1y * destDy;
    while (beta - alpha > 1.5 * Math.PI) beta -= 2 * Math.PI;
    while (beta - alpha < -1.5 * Math.PI) beta += 2 * Math.PI;
    const prevBeta = beta;
    proj *= SCALE;
    if (proj > 0.3) beta -= Math.min(TRACK_TURN_RATE, Math.abs(0.001 * proj));
    if (proj < -0.3) beta += Math.min(TRACK_TURN_RATE, Math.abs(0.001 * proj));
    x += p1x * TRACK_DETAIL_STEP;
    y += p1y * TRACK_DETAIL_STEP;
    all.push([alpha, prevBeta * 0.5 + beta * 0.5, x, y]);
    if (laps > 4) break;
    noFreeze -= 1;
    if (noFreeze === 0) break;
  }

  // The closed lap: between the last two passes through the start angle (the first lap is a run-up).
  let i1 = -1;
  let i2 = -1;
  let i = all.length;
  for (;;) {
    i -= 1;
    if (i === 0) return null;
    const passThroughStart = all[i][0] > START_ALPHA && all[i - 1][0] <= START_ALPHA;
    if (passThroughStart && i2 === -1) i2 = i;
    else if (passThroughStart && i1 === -1) {
      i1 = i;
      break;
    }
  }
  // Python's track[i1 : i2 - 1].
  const track = all.slice(i1, Math.max(i1, i2 - 1));
  all = [];

  const firstBeta = track[0][1];
  const firstPerpX = Math.cos(firstBeta);
  const firstPerpY = Math.sin(firstBeta);
  const last = track[track.length - 1];
  const gx = firstPerpX * (track[0][2] - last[2]);
  const gy = firstPerpY * (track[0][3] - last[3]);
  // How far head and tail are apart across the road.
  const wellGluedTogether = Math.sqrt(gx * gx + gy * gy);
  if (wellGluedTogether > TRACK_DETAIL_STEP) return null;

  // Red-white kerbs on hard turns: four steps turning the same way, each by more than 0.2·turn rate.
  const n = track.length;
  const border = new Array<boolean>(n).fill(false);
  for (let k = 0; k < n; k++) {
    let good = true;
    let oneside = 0;
    for (let neg = 0; neg < BORDER_MIN_COUNT; neg++) {
      const beta1 = at(track, k - neg - 0)[1];
      const beta2 = at(track, k - neg - 1)[1];
      good = good && Math.abs(beta1 - beta2) > TRACK_TURN_RATE * 0.2;
      oneside += Math.sign(beta1 - beta2);
    }
    border[k] = good && Math.abs(oneside) === BORDER_MIN_COUNT;
  }
  for (let k = 0; k < n; k++) {
    for (let neg = 0; neg < BORDER_MIN_COUNT; neg++) {
      const j = k - neg < 0 ? n + k - neg : k - neg;
      border[j] = border[j] || border[k];
    }
  }
  return { track, border };
}

/** The road of one episode: tiles (Box2D sensors) and the polygons drawn for the road. */
function buildRoad(world: planck.World, track: TrackPoint[], border: boolean[], roadColor: Rgb): { tiles: Tile[]; roadPoly: RoadPoly[] } {
  const tiles: Tile[] = [];
  const roadPoly: RoadPoly[] = [];
  for (let i = 0; i < track.length; i++) {
    const [, beta1, x1, y1] = track[i];
    const [, beta2, x2, y2] = at(track, i - 1);
    const road1L: Point = [x1 - TRACK_WIDTH * Math.cos(beta1), y1 - TRACK_WIDTH * Math.sin(beta1)];
    const road1R: Point = [x1 + TRACK_WIDTH * Math.cos(beta1), y1 + TRACK_WIDTH * Math.sin(beta1)];
    const road2L: Point = [x2 - TRACK_WIDTH * Math.cos(beta2), y2 - TRACK_WIDTH * Math.sin(beta2)];
    const road2R: Point = [x2 + TRACK_WIDTH * Math.cos(beta2), y2 + TRACK_WIDTH * Math.sin(beta2)];
    const vertices = [road1L, road1R, road2R, road2L];
    const body = world.createBody();
    body.createFixture(polygon(vertices.map(([x, y]) => [f32(x), f32(y)])), { density: 0, friction: 0.2, isSensor: true });
    const c = 0.01 * (i % 3) * 255;
    const tile: Tile = { body, idx: i, roadFriction: 1.0, visited: false, color: [roadColor[0] + c, roadColor[1] + c, roadColor[2] + c] };
    body.setUserData(tile);
    tiles.push(tile);
    roadPoly.push({ points: vertices, color: tile.color });
    if (border[i]) {
      const side = Math.sign(beta2 - beta1);
      const b1L: Point = [x1 + side * TRACK_WIDTH * Math.cos(beta1), y1 + side * TRACK_WIDTH * Math.sin(beta1)];
      const b1R: Point = [x1 + side * (TRACK_WIDTH + BORDER) * Math.cos(beta1), y1 + side * (TRACK_WIDTH + BORDER) * Math.sin(beta1)];
      const b2L: Point = [x2 + side * TRACK_WIDTH * Math.cos(beta2), y2 + side * TRACK_WIDTH * Math.sin(beta2)];
      const b2R: Point = [x2 + side * (TRACK_WIDTH + BORDER) * Math.cos(beta2), y2 + side * (TRACK_WIDTH + BORDER) * Math.sin(beta2)];
      roadPoly.push({ points: [b1L, b1R, b2R, b2L], color: i % 2 === 0 ? [255, 255, 255] : [255, 0, 0] });
    }
  }
  return { tiles, roadPoly };
}

const DEFAULT_COLORS: Colors = { road: [102, 102, 102], bg: [102, 204, 102], grass: [102, 230, 102] };

/** `_init_colors` with domain randomisation: road and background uniform in [0, 210), grass one channel +20. */
function randomColors(rng: NpRandom): Colors {
  const road: Rgb = [rng.uniform(0, 210), rng.uniform(0, 210), rng.uniform(0, 210)];
  const bg: Rgb = [rng.uniform(0, 210), rng.uniform(0, 210), rng.uniform(0, 210)];
  const grass: Rgb = [bg[0], bg[1], bg[2]];
  grass[rng.integers(3)] += 20;
  return { road, bg, grass };
}

/** The world of one episode: track, tiles, car, and the contact bookkeeping of Gymnasium's FrictionDetector. */
export class RaceWorld {
  readonly world: planck.World;
  readonly track: TrackPoint[];
  readonly tiles: Tile[];
  readonly roadPoly: RoadPoly[];
  readonly car: Car;
  /** `_create_track` calls this reset needed (1 unless a track failed to close). */
  readonly createTrackCalls: number;
  reward = 0;
  prevReward = 0;
  tileVisitedCount = 0;
  t = 0;
  newLap = false;

  constructor(
    rng: NpRandom,
    readonly colors: Colors,
    lapCompletePercent: number,
  ) {
    this.world = new planck.World({ gravity: planck.Vec2(0, 0) });
    let built: ReturnType<typeof createTrack> = null;
    let calls = 0;
    while (built === null) {
      built = createTrack(rng);
      calls++;
    }
    this.createTrackCalls = calls;
    this.track = built.track;
    ({ tiles: this.tiles, roadPoly: this.roadPoly } = buildRoad(this.world, built.track, built.border, colors.road));
    const onContact = (contact: planck.Contact, begin: boolean) => {
      const u1 = contact.getFixtureA().getBody().getUserData() as Tile | Car['wheels'][number] | null;
      const u2 = contact.getFixtureB().getBody().getUserData() as Tile | Car['wheels'][number] | null;
      let tile: Tile | null = null;
      let obj: unknown = null;
      if (u1 && 'roadFriction' in u1) {
        tile = u1;
        obj = u2;
      }
      if (u2 && 'roadFriction' in u2) {
        tile = u2;
        obj = u1;
      }
      if (!tile) return;
      // Touched by anything (the hull too), a tile is drawn in plain road colour from then on.
      tile.color[0] = colors.road[0];
      tile.color[1] = colors.road[1];
      tile.color[2] = colors.road[2];
      if (!obj || !('tiles' in (obj as object))) return;
      const wheel = obj as Car['wheels'][number];
      if (begin) {
        wheel.tiles.add(tile);
        if (!tile.visited) {
          tile.visited = true;
          this.reward += 1000.0 / this.track.length;
          this.tileVisitedCount += 1;
          // A lap counts once enough of the track was covered.
          if (tile.idx === 0 && this.tileVisitedCount / this.track.length > lapCompletePercent) this.newLap = true;
        }
      } else wheel.tiles.delete(tile);
    };
    this.world.on('begin-contact', (contact) => onContact(contact, true));
    this.world.on('end-contact', (contact) => onContact(contact, false));
    const [, beta, x, y] = this.track[0];
    this.car = new Car(this.world, beta, x, y);
    for (const wheel of this.car.wheels) wheel.body.setUserData(wheel);
  }
}

/** Gymnasium's modes but `human`: `state_pixels` draws the observation's frame (96×96, no skid marks). */
const METADATA = envMetadata({ render_fps: FPS, render_modes: ['rgb_array', 'state_pixels'] });

export class CarRacingEnv extends ReplayedEnv<number[], number | number[]> {
  override get metadata(): EnvMetadata {
    return METADATA;
  }

  readonly observationSpace = new Box(0, 255, [STATE_H, STATE_W, 3], 'uint8');
  readonly actionSpace: Box | Discrete;
  readonly continuous: boolean;
  readonly domainRandomize: boolean;
  readonly lapCompletePercent: number;
  /** The current episode's world; null before the first reset and after close. */
  race: RaceWorld | null = null;
  colors: Colors = DEFAULT_COLORS;
  /** The colours in force when the last reset began (a restore starts its replay from them); null before any reset. */
  #colorsBeforeReset: Colors | null = null;
  /**
   * False: steps return an empty observation instead of drawing one. Drawing is ~90% of a step and
   * changes nothing a later step reads, so a restore replays without it (as can tests and reports
   * that check only the dynamics of long episodes).
   */
  drawFrames = true;

  constructor(kwargs: CarRacingKwargs = carRacingKwargs.parse({})) {
    super();
    this.continuous = kwargs.continuous;
    this.domainRandomize = kwargs.domain_randomize;
    this.lapCompletePercent = kwargs.lap_complete_percent;
    this.actionSpace = this.continuous ? new Box([-1, 0, 0], [+1, +1, +1], [3], 'float32') : new Discrete(5);
    // Gymnasium's constructor draws the first colours (`_init_colors`) from the env's generator,
    // which is then seeded from OS entropy: what a first `reset(options={"randomize": False})` keeps.
    if (this.domainRandomize) this.colors = randomColors(this.rng);
  }

  protected resetWorld(options: ResetOptions): ResetResult<number[]> {
    const rng = this.rng;
    this.#colorsBeforeReset = this.colors;
    // A reset redraws the colours (7 draws, before the track's) unless `options.randomize` is false.
    if (this.domainRandomize && options.randomize !== false) this.colors = randomColors(rng);
    this.race = new RaceWorld(rng, this.colors, this.lapCompletePercent);
    return { obs: this.#advance(null).obs, info: {} };
  }

  protected stepWorld(action: number | number[]): StepResult<number[]> {
    return this.#advance(action);
  }

  /** Gymnasium's `step`; `null` is the action-less step a reset ends with. */
  #advance(action: number | number[] | null): StepResult<number[]> {
    const race = this.race!;
    const car = race.car;
    if (action !== null) {
      if (this.continuous) {
        const a = action as number[];
        car.steer(-a[0]);
        car.gas(a[1]);
        car.brake(a[2]);
      } else {
        const a = action as number;
        car.steer(-0.6 * (a === 1 ? 1 : 0) + 0.6 * (a === 2 ? 1 : 0));
        car.gas(0.2 * (a === 3 ? 1 : 0));
        car.brake(0.8 * (a === 4 ? 1 : 0));
      }
    }
    car.step(1.0 / FPS);
    stepWorld(race.world);
    race.t += 1.0 / FPS;
    // The 27,648 bytes stay a Uint8Array (read by index, as Box.encode does): a number[] of that
    // size lives in V8's large-object space, and building one per step cost more than drawing the
    // frame (profiled: 2.4 ms to fill it plus most of a 5 ms garbage-collection share).
    const obs = (!this.drawFrames ? new Uint8Array(0) : drawCarRacing(race, 'state_pixels').data.slice()) as unknown as number[];

    let stepReward = 0;
    let terminated = false;
    const info: Record<string, unknown> = {};
    if (action !== null) {
      race.reward -= 0.1;
      stepReward = race.reward - race.prevReward;
      race.prevReward = race.reward;
      if (race.tileVisitedCount === race.track.length || race.newLap) {
        terminated = true;
        info.lap_finished = true;
      }
      const { x, y } = car.hull.getPosition();
      if (Math.abs(x) > PLAYFIELD || Math.abs(y) > PLAYFIELD) {
        terminated = true;
        info.lap_finished = false;
        stepReward = -100;
      }
    }
    return { obs, reward: stepReward, terminated, truncated: false, info };
  }

  /** The replay's snapshot, with the colours it starts from (a reset with `randomize` false keeps them). */
  override snapshot(): ReturnType<ReplayedEnv<number[], number | number[]>['snapshot']> & { colors: Colors } {
    return { ...super.snapshot(), colors: structuredClone(this.#colorsBeforeReset ?? this.colors) };
  }

  /** Replays without drawing (drawing is ~90% of a step and changes nothing the next step reads). */
  override restore(data: unknown): void {
    const draw = this.drawFrames;
    this.drawFrames = false;
    const { colors } = data as { colors?: Colors };
    if (colors) this.colors = structuredClone(colors);
    try {
      super.restore(data);
    } finally {
      this.drawFrames = draw;
    }
  }

  override render(mode: RenderMode): RgbFrame | string {
    if (mode === 'ansi') return super.render(mode);
    if (this.race === null) throw new RenderError('reset the environment before rendering it');
    return drawCarRacing(this.race, mode);
  }

  override close(): void {
    this.race = null;
  }
}

export { STATE_W, STATE_H, VIDEO_W, VIDEO_H };

export const carRacingSpecs: EnvSpec<typeof carRacingKwargs>[] = [
  {
    id: 'CarRacing-v3',
    maxEpisodeSteps: 1000,
    rewardThreshold: 900,
    kwargs: carRacingKwargs,
    resetOptions: carRacingResetOptions,
    make: (kwargs) => new CarRacingEnv(kwargs),
    summary: 'Drive a top-down car round a random track from 96x96 pixels (Box2D): steer, gas, brake (continuous=False: five commands).',
  },
];
