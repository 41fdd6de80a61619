/**
 * MountainCarContinuous: the mountain car with a continuous engine force, rewarded for reaching the flag
 * and charged for the force it uses. Dynamics and constants follow Gymnasium 1.3's
 * continuous_mountain_car.py; cosines are math.cos (glibc) there, so Math.cos can differ by one ulp.
 *
 * | | |
 * |---|---|
 * | Observation | Box(2,) float32: car position [-1.2, 0.6], car velocity [-0.07, 0.07] |
 * | Action | Box(1,) float32 in [-1, 1]: engine force (clipped to [-1, 1] for the dynamics) |
 * | Reward | -0.1·action² every step, with the action as sent (unclipped); +100 more on reaching the goal |
 * | Start | position uniform in [-0.6, -0.4), velocity 0 |
 * | Termination | position ≥ 0.45 with velocity ≥ `goal_velocity` (default 0) |
 * | Truncation | 999 steps, by the time limit |
 *
 * Arithmetic follows NumPy 2 (NEP 50) promotion, as current Gymnasium installs run it. The state is a
 * float64 array after reset and a float32 array after every step; the action is float32. A float32 NumPy
 * scalar combined with a Python float stays float32 (the Python float is first rounded to float32), and
 * comparisons with Python floats happen in float32 too, while the clip bounds and `math.cos` are Python
 * floats and a float64 state keeps the first step's position and velocity updates in float64.
 */
import { z } from 'zod';
import { Box } from '../../spaces/index.js';
import { Env, type EnvSpec, type ResetResult, type StepResult, envMetadata, type EnvMetadata, type RenderMode, type RgbFrame } from '../env.js';
import { renderMountainCar } from './mountain_car.js';

const f32 = Math.fround;

const MIN_ACTION = -1.0;
const MAX_ACTION = 1.0;
const MIN_POSITION = -1.2;
const MAX_POSITION = 0.6;
const MAX_SPEED = 0.07;
const GOAL_POSITION = 0.45;
const POWER = 0.0015;
const GRAVITY = 0.0025;

export const continuousMountainCarKwargs = z.strictObject({
  goal_velocity: z.number().default(0),
});

/** NumPy 2 compares a float32 scalar with a Python number after rounding the number to float32. */
function bound(c: number, float32: boolean): number {
  return float32 ? f32(c) : c;
}

const METADATA = envMetadata({ render_fps: 30, render_modes: ['rgb_array'] });

export class ContinuousMountainCarEnv extends Env<number[], number[]> {
  /** Gymnasium's `metadata` (continuous_mountain_car.py): 30 frames per second. */
  override get metadata(): EnvMetadata {
    return METADATA;
  }

  readonly observationSpace = new Box([MIN_POSITION, -MAX_SPEED], [MAX_POSITION, MAX_SPEED], [2], 'float32');
  readonly actionSpace = new Box(MIN_ACTION, MAX_ACTION, [1], 'float32');
  /** [position, velocity]; float64 values after reset, float32 values (in `stateDtype`) after a step. */
  state: number[] = [0, 0];
  /** The NumPy dtype of Gymnasium's `state` array, which decides how the next step rounds. */
  stateDtype: 'float32' | 'float64' = 'float64';
  readonly goalVelocity: number;

  constructor(kwargs: z.infer<typeof continuousMountainCarKwargs> = { goal_velocity: 0 }) {
    super();
    this.goalVelocity = kwargs.goal_velocity;
  }

  reset(): ResetResult<number[]> {
    this.state = [this.rng.uniform(-0.6, -0.4), 0];
    this.stateDtype = 'float64';
    return { obs: this.state.map(f32), info: {} };
  }

  step(action: number[]): StepResult<number[]> {
    const stateF32 = this.stateDtype === 'float32';
    let [position, velocity] = this.state;
    const a = action[0];

    // force = min(max(a, -1), 1): the float32 action, or a bound as a (float64) Python float.
    let force = a;
    let forceIsBound = false;
    if (force < MIN_ACTION) [force, forceIsBound] = [MIN_ACTION, true];
    if (force > MAX_ACTION) [force, forceIsBound] = [MAX_ACTION, true];
    const x3 = stateF32 ? f32(3 * position) : 3 * position;
    const gravityTerm = GRAVITY * Math.cos(x3);
    const dv = forceIsBound ? force * POWER - gravityTerm : f32(f32(force * f32(POWER)) - f32(gravityTerm));

    velocity = stateF32 ? f32(velocity + f32(dv)) : velocity + dv;
    let velocityF32 = stateF32;
    if (velocity > bound(MAX_SPEED, velocityF32)) [velocity, velocityF32] = [MAX_SPEED, false];
    if (velocity < bound(-MAX_SPEED, velocityF32)) [velocity, velocityF32] = [-MAX_SPEED, false];

    position = stateF32 ? f32(position + f32(velocity)) : position + velocity;
    let positionF32 = stateF32;
    if (position > bound(MAX_POSITION, positionF32)) [position, positionF32] = [MAX_POSITION, false];
    if (position < bound(MIN_POSITION, positionF32)) [position, positionF32] = [MIN_POSITION, false];
    if (position === bound(MIN_POSITION, positionF32) && velocity < 0) velocity = 0;

    const terminated =
      position >= bound(GOAL_POSITION, positionF32) && velocity >= bound(this.goalVelocity, velocityF32);
    // The reward charges the action as sent, not the clipped force, in float64.
    const reward = (terminated ? 100.0 : 0) - a * a * 0.1;

    this.state = [f32(position), f32(velocity)];
    this.stateDtype = 'float32';
    return { obs: [...this.state], reward, terminated, truncated: false, info: {} };
  }

  /** Gymnasium draws the same scene as MountainCar's, with this env's flag at 0.45. */
  override render(mode: RenderMode): RgbFrame | string {
    return mode === 'rgb_array' ? renderMountainCar(this.state[0], GOAL_POSITION) : super.render(mode);
  }
}

export const continuousMountainCarSpecs: EnvSpec<typeof continuousMountainCarKwargs>[] = [
  {
    id: 'MountainCarContinuous-v0',
    maxEpisodeSteps: 999,
    rewardThreshold: 90.0,
    kwargs: continuousMountainCarKwargs,
    make: (kwargs) => new ContinuousMountainCarEnv(kwargs),
    summary: 'Mountain car with a continuous engine force; +100 at the flag, minus the force used.',
  },
];
