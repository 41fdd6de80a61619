/**
 * BipedalWalker: a two-legged robot walks over rough terrain (hardcore: stumps, stairs and pits).
 * Gymnasium 1.3's bipedal_walker.py on planck (engine.ts); the physics core is `WalkerWorld`, the
 * Gymnasium adapter (spaces, reward, termination) is `BipedalWalkerEnv`.
 *
 * | | |
 * |---|---|
 * | Observation | Box(24,) float32: hull angle, angular velocity, vx, vy; per leg hip angle and speed, knee angle + 1 and speed, ground contact (0 or 1); 10 lidar distances as fractions of 160/30 m |
 * | Action | Box(4,) float32 in [-1, 1]: hip and knee motor of each leg; the sign sets the motor's direction (hip 4, knee 6 rad/s), |a| clipped to 1 scales its torque limit (80) |
 * | Reward | shaping 130·x/30 - 5·|hull angle|, as the change since the last step; -0.00035·80·|a| per motor; -100 when the hull touches the ground or x < 0 |
 * | Start | on the start pad, the hull pushed by a random horizontal force (uniform ±5 N); random terrain of 200 steps |
 * | Termination | the hull touches the ground, x < 0, or the walker reaches the end of the course |
 * | Truncation | 1600 steps (BipedalWalkerHardcore-v3: 2000), by the time limit |
 *
 * Each reset builds a new world. Gymnasium keeps one world across resets and its broad phase reuses
 * proxy ids, so an env that has played before solves contacts in another order (its results then
 * depend on history, up to 3.5e-4 within 75 steps); a fresh world is Gymnasium's freshly made env.
 * Motor torques penalise as NumPy 2 computes them: 0.028·|a| is a float32 product (NEP 50).
 *
 * Longer than 400 lines: one environment per file, as Gymnasium's env files are (terrain generation,
 * dynamics and the frame belong together: each reads the same world).
 */
import { z } from 'zod';
import { Box } from '../../spaces/index.js';
import { envMetadata, type EnvMetadata, type EnvSpec, type RenderMode, type ResetResult, type RgbFrame, type StepResult } from '../env.js';
import { BLACK, Canvas, type Rgb } from '../../render/canvas.js';
import { aalines, line } from '../../render/draw.js';
import { aapolygon, filledPolygon } from '../../render/gfxdraw.js';
import { drawBody, drawPatch, type View } from './draw.js';
import { FPS, addFixture, planck, polygon, stepWorld, type FixtureOptions } from './engine.js';
import { ReplayedEnv } from './replayed_env.js';
import type { NpRandom } from '../../rng/index.js';

const f32 = Math.fround;

const SCALE = 30.0;
const MOTORS_TORQUE = 80;
const SPEED_HIP = 4;
const SPEED_KNEE = 6;
const LIDAR_RANGE = 160 / SCALE;
const INITIAL_RANDOM = 5;
const HULL_POLY: readonly [number, number][] = [[-30, +9], [+6, +9], [+34, +1], [+34, -8], [-30, -8]];
const LEG_DOWN = -8 / SCALE;
const LEG_W = 8 / SCALE;
const LEG_H = 34 / SCALE;
const VIEWPORT_W = 600;
const VIEWPORT_H = 400;
const TERRAIN_STEP = 14 / SCALE;
const TERRAIN_LENGTH = 200;
const TERRAIN_HEIGHT = VIEWPORT_H / SCALE / 4;
const TERRAIN_GRASS = 10;
const TERRAIN_STARTPAD = 20;
const FRICTION = 2.5;

const HULL_FD: FixtureOptions = { density: 5.0, friction: 0.1, categoryBits: 0x0020, maskBits: 0x001, restitution: 0.0 };
const LEG_FD: FixtureOptions = { density: 1.0, restitution: 0.0, categoryBits: 0x0020, maskBits: 0x001 };
const POLYGON_FD: FixtureOptions = { friction: FRICTION };
const EDGE_FD: FixtureOptions = { friction: FRICTION, categoryBits: 0x0001 };

export const bipedalWalkerKwargs = z.strictObject({
  hardcore: z.boolean().default(false),
});
export type BipedalWalkerKwargs = z.infer<typeof bipedalWalkerKwargs>;

type Point = [number, number];

/** What a reset builds, for tests and the report: Gymnasium's `terrain_x/y`, obstacle polygons and clouds. */
export interface WalkerLayout {
  terrainX: number[];
  terrainY: number[];
  /** Stumps, stair steps and pit walls, as the vertex lists given to Box2D. */
  obstacles: Point[][];
  clouds: { poly: Point[]; x1: number; x2: number }[];
}

const GRASS = 0;
const STUMP = 1;
const STAIRS = 2;
const PIT = 3;
const STATES = 4;

/** Python's np.sign on a number. */
function sign(x: number): number {
  return x > 0 ? 1 : x < 0 ? -1 : 0;
}

/** The Box2D world of one episode: terrain, hull, four leg segments, their joints and contacts. */
export class WalkerWorld {
  readonly world = new planck.World({ gravity: planck.Vec2(0, -10) });
  readonly layout: WalkerLayout = { terrainX: [], terrainY: [], obstacles: [], clouds: [] };
  readonly hull: planck.Body;
  /** Upper left, lower left, upper right, lower right (Gymnasium's `legs`). */
  readonly legs: planck.Body[] = [];
  readonly joints: planck.RevoluteJoint[] = [];
  /** Ground contact of the lower legs (legs[1], legs[3]). */
  readonly groundContact = [false, false];
  gameOver = false;

  constructor(rng: NpRandom, hardcore: boolean) {
    this.#generateTerrain(rng, hardcore);
    this.#generateClouds(rng);

    const initX = (TERRAIN_STEP * TERRAIN_STARTPAD) / 2;
    const initY = TERRAIN_HEIGHT + 2 * LEG_H;
    this.hull = this.world.createDynamicBody({ position: planck.Vec2(initX, initY) });
    addFixture(this.hull, polygon(HULL_POLY.map(([x, y]) => [x / SCALE, y / SCALE])), HULL_FD);
    this.hull.applyForceToCenter(planck.Vec2(rng.uniform(-INITIAL_RANDOM, INITIAL_RANDOM), 0), true);

    for (const i of [-1, +1]) {
      const leg = this.world.createDynamicBody({ position: planck.Vec2(initX, initY - LEG_H / 2 - LEG_DOWN), angle: i * 0.05 });
      addFixture(leg, new planck.BoxShape(LEG_W / 2, LEG_H / 2), LEG_FD);
      // No referenceAngle: pybox2d's joint def takes bodyB.angle - bodyA.angle, as planck does.
      this.joints.push(
        this.world.createJoint(
          new planck.RevoluteJoint({
            bodyA: this.hull,
            bodyB: leg,
            localAnchorA: planck.Vec2(0, LEG_DOWN),
            localAnchorB: planck.Vec2(0, LEG_H / 2),
            enableMotor: true,
            enableLimit: true,
            maxMotorTorque: MOTORS_TORQUE,
            motorSpeed: i,
            lowerAngle: -0.8,
            upperAngle: 1.1,
          }),
        )!,
      );
      this.legs.push(leg);
      const lower = this.world.createDynamicBody({ position: planck.Vec2(initX, initY - (LEG_H * 3) / 2 - LEG_DOWN), angle: i * 0.05 });
      addFixture(lower, new planck.BoxShape((0.8 * LEG_W) / 2, LEG_H / 2), LEG_FD);
      this.joints.push(
        this.world.createJoint(
          new planck.RevoluteJoint({
            bodyA: leg,
            bodyB: lower,
            localAnchorA: planck.Vec2(0, -LEG_H / 2),
            localAnchorB: planck.Vec2(0, LEG_H / 2),
            enableMotor: true,
            enableLimit: true,
            maxMotorTorque: MOTORS_TORQUE,
            motorSpeed: 1,
            lowerAngle: -1.6,
            upperAngle: -0.1,
          }),
        )!,
      );
      this.legs.push(lower);
    }

    const lowerLegs = [this.legs[1], this.legs[3]];
    this.world.on('begin-contact', (contact) => {
      const a = contact.getFixtureA().getBody();
      const b = contact.getFixtureB().getBody();
      if (a === this.hull || b === this.hull) this.gameOver = true;
      for (let k = 0; k < 2; k++) if (a === lowerLegs[k] || b === lowerLegs[k]) this.groundContact[k] = true;
    });
    this.world.on('end-contact', (contact) => {
      const a = contact.getFixtureA().getBody();
      const b = contact.getFixtureB().getBody();
      for (let k = 0; k < 2; k++) if (a === lowerLegs[k] || b === lowerLegs[k]) this.groundContact[k] = false;
    });
  }

  #staticPolygon(poly: Point[]): void {
    this.layout.obstacles.push(poly);
    addFixture(this.world.createBody(), polygon(poly), POLYGON_FD);
  }

  /** Gymnasium's `_generate_terrain`, draw for draw; obstacles become bodies in the order it makes them. */
  #generateTerrain(rng: NpRandom, hardcore: boolean): void {
    let state = GRASS;
    let velocity = 0.0;
    let y = TERRAIN_HEIGHT;
    let counter = TERRAIN_STARTPAD;
    let oneshot = false;
    const { terrainX, terrainY } = this.layout;
    let stairSteps = 0;
    let stairWidth = 0;
    let stairHeight = 0;
    let originalY = 0;
    for (let i = 0; i < TERRAIN_LENGTH; i++) {
      const x = i * TERRAIN_STEP;
      terrainX.push(x);
      if (state === GRASS && !oneshot) {
        velocity = 0.8 * velocity + 0.01 * sign(TERRAIN_HEIGHT - y);
        if (i > TERRAIN_STARTPAD) velocity += rng.uniform(-1, 1) / SCALE;
        y += velocity;
      } else if (state === PIT && oneshot) {
        counter = 3 + rng.integers(2);
        const poly: Point[] = [
          [x, y],
          [x + TERRAIN_STEP, y],
          [x + TERRAIN_STEP, y - 4 * TERRAIN_STEP],
          [x, y - 4 * TERRAIN_STEP],
        ];
        this.#staticPolygon(poly);
        this.#staticPolygon(poly.map(([px, py]) => [px + TERRAIN_STEP * counter, py]));
        counter += 2;
        originalY = y;
      } else if (state === PIT && !oneshot) {
        y = originalY;
        if (counter > 1) y -= 4 * TERRAIN_STEP;
      } else if (state === STUMP && oneshot) {
        counter = 1 + rng.integers(2);
        this.#staticPolygon([
          [x, y],
          [x + counter * TERRAIN_STEP, y],
          [x + counter * TERRAIN_STEP, y + counter * TERRAIN_STEP],
          [x, y + counter * TERRAIN_STEP],
        ]);
      } else if (state === STAIRS && oneshot) {
        stairHeight = rng.random() > 0.5 ? +1 : -1;
        stairWidth = 4 + rng.integers(1);
        stairSteps = 3 + rng.integers(2);
        originalY = y;
        for (let s = 0; s < stairSteps; s++) {
          this.#staticPolygon([
            [x + s * stairWidth * TERRAIN_STEP, y + s * stairHeight * TERRAIN_STEP],
            [x + (1 + s) * stairWidth * TERRAIN_STEP, y + s * stairHeight * TERRAIN_STEP],
            [x + (1 + s) * stairWidth * TERRAIN_STEP, y + (-1 + s * stairHeight) * TERRAIN_STEP],
            [x + s * stairWidth * TERRAIN_STEP, y + (-1 + s * stairHeight) * TERRAIN_STEP],
          ]);
        }
        counter = stairSteps * stairWidth;
      } else if (state === STAIRS && !oneshot) {
        const s = stairSteps * stairWidth - counter - stairHeight;
        const n = s / stairWidth;
        y = originalY + n * stairHeight * TERRAIN_STEP;
      }
      oneshot = false;
      terrainY.push(y);
      counter -= 1;
      if (counter === 0) {
        // integers(TERRAIN_GRASS / 2, TERRAIN_GRASS) = 5 + a draw below 5.
        counter = TERRAIN_GRASS / 2 + rng.integers(TERRAIN_GRASS / 2);
        if (state === GRASS && hardcore) {
          state = 1 + rng.integers(STATES - 1);
          oneshot = true;
        } else {
          state = GRASS;
          oneshot = true;
        }
      }
    }
    for (let i = 0; i < TERRAIN_LENGTH - 1; i++) {
      const edge = new planck.EdgeShape(planck.Vec2(terrainX[i], terrainY[i]), planck.Vec2(terrainX[i + 1], terrainY[i + 1]));
      addFixture(this.world.createBody(), edge, EDGE_FD);
    }
  }

  /** Clouds are only drawn, but their draws come between the terrain's and the push's. */
  #generateClouds(rng: NpRandom): void {
    for (let c = 0; c < TERRAIN_LENGTH / 20; c++) {
      const x = rng.uniform(0, TERRAIN_LENGTH) * TERRAIN_STEP;
      const y = ((VIEWPORT_H / SCALE) * 3) / 4;
      const poly: Point[] = [];
      for (let a = 0; a < 5; a++) {
        const px = x + 15 * TERRAIN_STEP * Math.sin((3.14 * 2 * a) / 5) + rng.uniform(0, 5 * TERRAIN_STEP);
        const py = y + 5 * TERRAIN_STEP * Math.cos((3.14 * 2 * a) / 5) + rng.uniform(0, 5 * TERRAIN_STEP);
        poly.push([px, py]);
      }
      this.layout.clouds.push({ poly, x1: Math.min(...poly.map((p) => p[0])), x2: Math.max(...poly.map((p) => p[0])) });
    }
  }

  /**
   * Box2D's SetMotorSpeed and SetMaxMotorTorque wake both bodies on every call; planck's skip an
   * unchanged value, which would let a walker holding an action fall asleep where Gymnasium's does not.
   */
  setMotor(joint: planck.RevoluteJoint, speed: number, torque: number): void {
    joint.getBodyA().setAwake(true);
    joint.getBodyB().setAwake(true);
    joint.setMotorSpeed(speed);
    joint.setMaxMotorTorque(torque);
  }

  /** The ten lidar fractions from the hull's position (1 where nothing of the ground is in range). */
  lidar(): number[] {
    const pos = this.hull.getPosition();
    const fractions: number[] = [];
    for (let i = 0; i < 10; i++) {
      let fraction = 1.0;
      const p1 = planck.Vec2(pos.x, pos.y);
      const p2 = planck.Vec2(pos.x + Math.sin((1.5 * i) / 10.0) * LIDAR_RANGE, pos.y - Math.cos((1.5 * i) / 10.0) * LIDAR_RANGE);
      this.world.rayCast(p1, p2, (fixture, _point, _normal, f) => {
        if ((fixture.getFilterCategoryBits() & 1) === 0) return -1;
        fraction = f;
        return f;
      });
      fractions.push(fraction);
    }
    return fractions;
  }
}

const METADATA = envMetadata({ render_fps: FPS, render_modes: ['rgb_array'] });
const SKY: Rgb = [215, 215, 255];
const CLOUD: Rgb = [255, 255, 255];
const EARTH: Rgb = [102, 153, 76];
const OBSTACLE_FILL: Rgb = [255, 255, 255];
const OBSTACLE_STROKE: Rgb = [153, 153, 153];
const FLAG: Rgb = [230, 51, 0];
const HULL_FILL: Rgb = [127, 51, 229];
const HULL_STROKE: Rgb = [76, 76, 127];
/** Gymnasium's leg colours: the left leg (i = -1) 25 levels lighter than the right. */
const legColours = (i: number): [Rgb, Rgb] => [
  [153 - i * 25, 76 - i * 25, 127 - i * 25],
  [102 - i * 25, 51 - i * 25, 76 - i * 25],
];
const OBS_HIGH = [Math.PI, 5.0, 5.0, 5.0, Math.PI, 5.0, Math.PI, 5.0, 5.0, Math.PI, 5.0, Math.PI, 5.0, 5.0, ...Array<number>(10).fill(1.0)];
const OBS_LOW = [-Math.PI, -5.0, -5.0, -5.0, -Math.PI, -5.0, -Math.PI, -5.0, -0.0, -Math.PI, -5.0, -Math.PI, -5.0, -0.0, ...Array<number>(10).fill(-1.0)];
/** 0.00035 · MOTORS_TORQUE as a float32, NEP 50's weak Python float meeting a float32 action. */
const TORQUE_COST = f32(0.00035 * MOTORS_TORQUE);

export class BipedalWalkerEnv extends ReplayedEnv<number[], number[]> {
  override get metadata(): EnvMetadata {
    return METADATA;
  }

  readonly observationSpace = new Box(OBS_LOW, OBS_HIGH, [24], 'float32');
  readonly actionSpace = new Box(-1, 1, [4], 'float32');
  readonly hardcore: boolean;
  /** The current episode's world; null before the first reset and after close. */
  physics: WalkerWorld | null = null;
  prevShaping: number | null = null;

  constructor(kwargs: BipedalWalkerKwargs = { hardcore: false }) {
    super();
    this.hardcore = kwargs.hardcore;
  }

  protected resetWorld(): ResetResult<number[]> {
    this.prevShaping = null;
    this.physics = new WalkerWorld(this.rng, this.hardcore);
    return { obs: this.stepWorld([0, 0, 0, 0]).obs, info: {} };
  }

  protected stepWorld(action: number[]): StepResult<number[]> {
    const physics = this.physics!;
    const { joints, hull } = physics;
    const speeds = [SPEED_HIP, SPEED_KNEE, SPEED_HIP, SPEED_KNEE];
    for (let j = 0; j < 4; j++) {
      physics.setMotor(joints[j], speeds[j] * sign(action[j]), MOTORS_TORQUE * Math.min(Math.abs(action[j]), 1));
    }

    stepWorld(physics.world);

    const pos = hull.getPosition();
    const vel = hull.getLinearVelocity();
    const lidar = physics.lidar();
    const state = [
      hull.getAngle(),
      (2.0 * hull.getAngularVelocity()) / FPS,
      (0.3 * vel.x * (VIEWPORT_W / SCALE)) / FPS,
      (0.3 * vel.y * (VIEWPORT_H / SCALE)) / FPS,
      joints[0].getJointAngle(),
      joints[0].getJointSpeed() / SPEED_HIP,
      joints[1].getJointAngle() + 1.0,
      joints[1].getJointSpeed() / SPEED_KNEE,
      physics.groundContact[0] ? 1.0 : 0.0,
      joints[2].getJointAngle(),
      joints[2].getJointSpeed() / SPEED_HIP,
      joints[3].getJointAngle() + 1.0,
      joints[3].getJointSpeed() / SPEED_KNEE,
      physics.groundContact[1] ? 1.0 : 0.0,
      ...lidar,
    ];

    let shaping = (130 * pos.x) / SCALE;
    shaping -= 5.0 * Math.abs(state[0]);
    let reward = 0;
    if (this.prevShaping !== null) reward = shaping - this.prevShaping;
    this.prevShaping = shaping;
    for (const a of action) reward -= f32(TORQUE_COST * f32(Math.min(Math.abs(a), 1)));

    let terminated = false;
    if (physics.gameOver || pos.x < 0) {
      reward = -100;
      terminated = true;
    }
    if (pos.x > (TERRAIN_LENGTH - TERRAIN_GRASS) * TERRAIN_STEP) terminated = true;
    return { obs: state.map(f32), reward, terminated, truncated: false, info: {} };
  }

  /**
   * Gymnasium's BipedalWalker frame (bipedal_walker.py `render`), 600×400, scrolled with the hull:
   * sky, clouds drifting at half speed, the terrain with its alternating grass edges, obstacles, the
   * legs and hull, the start flag. Not drawn: the one lidar ray Gymnasium sweeps across frames (a
   * counter kept by its renderer, not by the walker).
   */
  override render(mode: RenderMode): RgbFrame | string {
    if (mode !== 'rgb_array') return super.render(mode);
    const canvas = Canvas.reused(VIEWPORT_W, VIEWPORT_H, BLACK);
    const physics = this.physics;
    if (physics === null) return canvas;
    const scroll = physics.hull.getPosition().x - VIEWPORT_W / SCALE / 5;
    // Gymnasium draws on a surface max(0, scroll)·SCALE wider than the view and keeps its last 600 columns.
    const view: View = { scale: SCALE, offsetX: Math.trunc(VIEWPORT_W + Math.max(0, scroll) * SCALE) - VIEWPORT_W };
    const viewW = VIEWPORT_W / SCALE;
    const viewH = VIEWPORT_H / SCALE;
    drawPatch(canvas, [[scroll, 0], [scroll + viewW, 0], [scroll + viewW, viewH], [scroll, viewH]], SKY, view);
    for (const { poly, x1, x2 } of physics.layout.clouds) {
      if (x2 < scroll / 2 || x1 > scroll / 2 + viewW) continue;
      drawPatch(canvas, poly.map(([x, y]): Point => [x + scroll / 2, y]), CLOUD, view);
    }
    const { terrainX, terrainY, obstacles } = physics.layout;
    for (let i = 0; i + 1 < TERRAIN_LENGTH; i++) {
      if (terrainX[i + 1] < scroll || terrainX[i] > scroll + viewW) continue;
      drawPatch(canvas, [[terrainX[i], terrainY[i]], [terrainX[i + 1], terrainY[i + 1]], [terrainX[i + 1], 0], [terrainX[i], 0]], EARTH, view);
    }
    // Gymnasium's draw list is its terrain bodies reversed (the grass edges last to first, then the
    // obstacles last to first), then the legs and the hull.
    const px = (x: number) => x * SCALE - view.offsetX;
    for (let i = TERRAIN_LENGTH - 2; i >= 0; i--) {
      const grass: Rgb = [76, i % 2 === 0 ? 255 : 204, 76];
      aalines(canvas, [[px(terrainX[i]), terrainY[i] * SCALE], [px(terrainX[i + 1]), terrainY[i + 1] * SCALE]], grass);
    }
    for (let k = obstacles.length - 1; k >= 0; k--) {
      const path = obstacles[k].map(([x, y]): Point => [px(x), y * SCALE]);
      filledPolygon(canvas, path, OBSTACLE_FILL);
      aapolygon(canvas, path, OBSTACLE_FILL);
      aapolygon(canvas, path, OBSTACLE_STROKE);
    }
    physics.legs.forEach((leg, k) => {
      const [fill, stroke] = legColours(k < 2 ? -1 : +1);
      drawBody(canvas, leg, fill, stroke, view, 'aapolygon');
    });
    drawBody(canvas, physics.hull, HULL_FILL, HULL_STROKE, view, 'aapolygon');
    const flagX = px(TERRAIN_STEP * 3);
    const flagY1 = TERRAIN_HEIGHT * SCALE;
    const flagY2 = flagY1 + 50;
    aalines(canvas, [[flagX, flagY1], [flagX, flagY2]], BLACK);
    const flag: Point[] = [[flagX, flagY2], [flagX, flagY2 - 10], [flagX + 25, flagY2 - 5]];
    filledPolygon(canvas, flag, FLAG);
    for (let k = 0; k < 3; k++) line(canvas, flag[k], flag[(k + 1) % 3], BLACK);
    return canvas;
  }

  override close(): void {
    this.physics = null;
  }
}

const summary = (what: string) => `Walk a two-legged robot to the end of ${what} (Box2D), four motor torques in [-1, 1].`;

export const bipedalWalkerSpecs: EnvSpec<typeof bipedalWalkerKwargs>[] = [
  {
    id: 'BipedalWalker-v3',
    maxEpisodeSteps: 1600,
    rewardThreshold: 300,
    kwargs: bipedalWalkerKwargs,
    make: (kwargs) => new BipedalWalkerEnv(kwargs),
    summary: summary('a rough course (hardcore=True: with stumps, stairs and pits)'),
  },
  {
    id: 'BipedalWalkerHardcore-v3',
    maxEpisodeSteps: 2000,
    rewardThreshold: 300,
    kwargs: bipedalWalkerKwargs.extend({ hardcore: z.boolean().default(true) }),
    make: (kwargs) => new BipedalWalkerEnv(kwargs),
    summary: summary('a course with stumps, stairs and pits'),
  },
];
