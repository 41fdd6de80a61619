/**
 * MountainCar: drive an underpowered car out of a valley by rocking it back and forth (Moore 1990).
 * Dynamics, constants and order of floating-point operations follow Gymnasium 1.3's mountain_car.py,
 * which keeps the state in float64 and uses math.cos (glibc); Math.cos can differ by one ulp.
 *
 * | | |
 * |---|---|
 * | Observation | Box(2,) float32: car position [-1.2, 0.6], car velocity [-0.07, 0.07] |
 * | Action | Discrete(3): 0 accelerates left, 1 does nothing, 2 accelerates right |
 * | Reward | -1.0 every step |
 * | Start | position uniform in [-0.6, -0.4), velocity 0 |
 * | Termination | position ≥ 0.5 with velocity ≥ `goal_velocity` (default 0) |
 * | Truncation | 200 steps, by the time limit |
 *
 * Dynamics: velocity += (action - 1)·0.001 - 0.0025·cos(3·position), clipped to ±0.07;
 * position += velocity, clipped to [-1.2, 0.6]; hitting the left wall while moving left stops the car.
 */
import { z } from 'zod';
import { Box, Discrete } from '../../spaces/index.js';
import { BLACK, Canvas } from '../../render/canvas.js';
import { aalines } from '../../render/draw.js';
import { aacircle, aapolygon, filledCircle, filledPolygon, vline } from '../../render/gfxdraw.js';
import { rotateRad } from '../../render/rotate.js';
import { Env, type EnvSpec, type ResetResult, type StepResult, envMetadata, type EnvMetadata, type RenderMode, type RgbFrame } from '../env.js';

const MIN_POSITION = -1.2;
const MAX_POSITION = 0.6;
const MAX_SPEED = 0.07;
const GOAL_POSITION = 0.5;
const FORCE = 0.001;
const GRAVITY = 0.0025;

export const mountainCarKwargs = z.strictObject({
  goal_velocity: z.number().default(0),
});

const METADATA = envMetadata({ render_fps: 30, render_modes: ['rgb_array'] });

const SCREEN_WIDTH = 600;
const SCREEN_HEIGHT = 400;
const WHEEL_COLOUR = [128, 128, 128] as const;
const FLAG_COLOUR = [204, 204, 0] as const;

/** The hills' height at x (Gymnasium's `_height`). */
const hillHeight = (x: number): number => Math.sin(3 * x) * 0.45 + 0.55;

/** NumPy's `linspace(start, stop, n)`: i·step + start, the last point exactly `stop`. */
function linspace(start: number, stop: number, n: number): number[] {
  const step = (stop - start) / (n - 1);
  return Array.from({ length: n }, (_, i) => (i === n - 1 ? stop : i * step + start));
}

/** The track as Gymnasium draws it: 100 points over the world, fixed for the process. */
const TRACK = (() => {
  const scale = SCREEN_WIDTH / (MAX_POSITION - MIN_POSITION);
  return Object.freeze(linspace(MIN_POSITION, MAX_POSITION, 100).map((x) => [(x - MIN_POSITION) * scale, hillHeight(x) * scale] as const));
})();

/**
 * The frame of MountainCar and MountainCarContinuous (Gymnasium's mountain_car.py and
 * continuous_mountain_car.py draw the same scene): 600×400, the track, the car tilted with the slope,
 * the flag at `goalPosition`.
 */
export function renderMountainCar(position: number, goalPosition: number): RgbFrame {
  const canvas = Canvas.reused(SCREEN_WIDTH, SCREEN_HEIGHT);
  const scale = SCREEN_WIDTH / (MAX_POSITION - MIN_POSITION);
  const carWidth = 40;
  const carHeight = 20;
  const clearance = 10;
  aalines(canvas, TRACK, BLACK);

  const tilt = Math.cos(3 * position);
  const baseX = (position - MIN_POSITION) * scale;
  const body = [[-carWidth / 2, 0], [-carWidth / 2, carHeight], [carWidth / 2, carHeight], [carWidth / 2, 0]].map(([x, y]) => {
    const [rx, ry] = rotateRad(x, y, tilt);
    return [rx + baseX, ry + clearance + hillHeight(position) * scale] as const;
  });
  aapolygon(canvas, body, BLACK);
  filledPolygon(canvas, body, BLACK);

  for (const wheelX of [carWidth / 4, -carWidth / 4]) {
    const [rx, ry] = rotateRad(wheelX, 0, tilt);
    const x = Math.trunc(rx + baseX);
    const y = Math.trunc(ry + clearance + hillHeight(position) * scale);
    aacircle(canvas, x, y, Math.trunc(carHeight / 2.5), WHEEL_COLOUR);
    filledCircle(canvas, x, y, Math.trunc(carHeight / 2.5), WHEEL_COLOUR);
  }

  const flagX = Math.trunc((goalPosition - MIN_POSITION) * scale);
  const flagY1 = Math.trunc(hillHeight(goalPosition) * scale);
  const flagY2 = flagY1 + 50;
  vline(canvas, flagX, flagY1, flagY2, BLACK);
  const flag = [[flagX, flagY2], [flagX, flagY2 - 10], [flagX + 25, flagY2 - 5]] as const;
  aapolygon(canvas, flag, FLAG_COLOUR);
  filledPolygon(canvas, flag, FLAG_COLOUR);
  return canvas;
}

export class MountainCarEnv extends Env<number[], number> {
  /** Gymnasium's `metadata` (mountain_car.py): 30 frames per second. */
  override get metadata(): EnvMetadata {
    return METADATA;
  }

  readonly observationSpace = new Box([MIN_POSITION, -MAX_SPEED], [MAX_POSITION, MAX_SPEED], [2], 'float32');
  readonly actionSpace = new Discrete(3);
  /** [position, velocity] in float64, as Gymnasium keeps it. */
  state: number[] = [0, 0];
  readonly goalVelocity: number;

  constructor(kwargs: z.infer<typeof mountainCarKwargs> = { goal_velocity: 0 }) {
    super();
    this.goalVelocity = kwargs.goal_velocity;
  }

  reset(): ResetResult<number[]> {
    this.state = [this.rng.uniform(-0.6, -0.4), 0];
    return { obs: this.state.map(Math.fround), info: {} };
  }

  step(action: number): StepResult<number[]> {
    let [position, velocity] = this.state;
    velocity = velocity + ((action - 1) * FORCE + Math.cos(3 * position) * -GRAVITY);
    velocity = Math.min(Math.max(velocity, -MAX_SPEED), MAX_SPEED);
    position = position + velocity;
    position = Math.min(Math.max(position, MIN_POSITION), MAX_POSITION);
    if (position === MIN_POSITION && velocity < 0) velocity = 0;
    this.state = [position, velocity];

    const terminated = position >= GOAL_POSITION && velocity >= this.goalVelocity;
    return { obs: this.state.map(Math.fround), reward: -1.0, terminated, truncated: false, info: {} };
  }

  override render(mode: RenderMode): RgbFrame | string {
    return mode === 'rgb_array' ? renderMountainCar(this.state[0], GOAL_POSITION) : super.render(mode);
  }
}

export const mountainCarSpecs: EnvSpec<typeof mountainCarKwargs>[] = [
  {
    id: 'MountainCar-v0',
    maxEpisodeSteps: 200,
    rewardThreshold: -110.0,
    kwargs: mountainCarKwargs,
    make: (kwargs) => new MountainCarEnv(kwargs),
    summary: 'Rock an underpowered car out of a valley to the flag on the right hill (3 discrete pushes).',
  },
];
