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
import { Env, type EnvSpec, type ResetResult, type StepResult, envMetadata, type EnvMetadata } from '../env.js';

const MIN_POSITION = -1.2;
const MAX_POSITION = 0.6;
const MAX_SPEED = 0.07;
const GOAL_POSITION = 0.5;
const FORCE = 0.001;
const GRAVITY = 0.0025;

export const mountainCarKwargs = z.strictObject({
  goal_velocity: z.number().default(0),
});

const METADATA = envMetadata({ render_fps: 30 });

export class MountainCarEnv extends Env<number[], number> {
  /** Gymnasium's `metadata` (mountain_car.py): 30 frames per second; nothing drawn yet. */
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
