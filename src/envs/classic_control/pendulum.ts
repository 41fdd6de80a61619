/**
 * Pendulum: swing a frictionless pendulum up and keep it upright with a limited torque.
 * Dynamics and constants follow Gymnasium 1.3's pendulum.py (np.sin/np.cos: Math.sin/cos can differ
 * by one ulp).
 *
 * | | |
 * |---|---|
 * | Observation | Box(3,) float32: cos θ [-1, 1], sin θ [-1, 1], angular velocity [-8, 8] |
 * | Action | Box(1,) float32 in [-2, 2]: torque (clipped to [-2, 2]) |
 * | Reward | -(θ² + 0.1·θ̇² + 0.001·torque²), θ normalised to [-π, π); at most 0, about -16.27 at worst |
 * | Start | θ uniform in [-π, π), θ̇ uniform in [-1, 1) |
 * | Termination | never |
 * | Truncation | 200 steps, by the time limit |
 *
 * Dynamics, with g = `g` (default 10.0), m = l = 1, dt = 0.05:
 * θ̇ += (3g/(2l)·sin θ + 3/(m·l²)·torque)·dt, clipped to ±8; θ += θ̇·dt.
 * The state [θ, θ̇] stays float64. Arithmetic on the float32 torque follows NumPy 2 (NEP 50) promotion,
 * as current Gymnasium installs run it: 3·torque and 0.001·torque² are float32 operations.
 */
import { z } from 'zod';
import { Box } from '../../spaces/index.js';
import { turnArrow } from '../../render/arrow.js';
import { BLACK, Canvas } from '../../render/canvas.js';
import { aacircle, aapolygon, filledCircle, filledPolygon } from '../../render/gfxdraw.js';
import { rotateRad } from '../../render/rotate.js';
import { boundedReal, Env, type EnvSpec, type ResetResult, type StepResult, envMetadata, type EnvMetadata, type RenderMode, type RgbFrame } from '../env.js';

const f32 = Math.fround;

const MAX_SPEED = 8;
const MAX_TORQUE = 2.0;
const DT = 0.05;
const MASS = 1.0;
const LENGTH = 1.0;

export const pendulumKwargs = z.strictObject({
  g: boundedReal().default(10.0),
});

/** Python's float modulo (NumPy's remainder): the result takes the sign of the divisor. */
function pyMod(a: number, b: number): number {
  let mod = a % b;
  if (mod !== 0) {
    if (b < 0 !== mod < 0) mod += b;
  } else {
    mod = b < 0 ? -0 : 0;
  }
  return mod;
}

/** θ mapped into [-π, π), computed as ((θ + π) mod 2π) - π. */
export function angleNormalize(x: number): number {
  return pyMod(x + Math.PI, 2 * Math.PI) - Math.PI;
}

const METADATA = envMetadata({ render_fps: 30, render_modes: ['rgb_array'] });

const SCREEN_DIM = 500;
const ROD_COLOUR = [204, 77, 77] as const;

export class PendulumEnv extends Env<number[], number[]> {
  /** Gymnasium's `metadata` (pendulum.py): 30 frames per second. */
  override get metadata(): EnvMetadata {
    return METADATA;
  }

  readonly observationSpace = new Box([-1.0, -1.0, -MAX_SPEED], [1.0, 1.0, MAX_SPEED], [3], 'float32');
  readonly actionSpace = new Box(-MAX_TORQUE, MAX_TORQUE, [1], 'float32');
  /** [θ, θ̇] in float64, as Gymnasium keeps it. */
  state: number[] = [0, 0];
  /** The last clipped torque (Gymnasium keeps it for rendering); null after reset. */
  lastU: number | null = null;
  readonly g: number;

  constructor(kwargs: z.infer<typeof pendulumKwargs> = { g: 10.0 }) {
    super();
    this.g = kwargs.g;
  }

  reset(): ResetResult<number[]> {
    const rng = this.rng;
    this.state = [rng.uniform(-Math.PI, Math.PI), rng.uniform(-1.0, 1.0)];
    this.lastU = null;
    return { obs: this.#obs(), info: {} };
  }

  step(action: number[]): StepResult<number[]> {
    const state = this.state;
    const th = state[0];
    const thdot = state[1];
    // Clipping a float32 value to float32 bounds keeps it a float32 value.
    const u = Math.min(Math.max(action[0], -MAX_TORQUE), MAX_TORQUE);
    this.lastU = u;
    const thNorm = angleNormalize(th);
    // u² is a float32 power and 0.001·u² a float32 product; the sum is float64. The squares here are
    // correctly rounded; NumPy's come from C pow/powf, and glibc's differ by one ulp on ~0.1% of inputs.
    const costs = thNorm * thNorm + 0.1 * (thdot * thdot) + f32(f32(0.001) * f32(u * u));

    let newthdot = thdot + (((3 * this.g) / (2 * LENGTH)) * Math.sin(th) + f32((3.0 / (MASS * LENGTH ** 2)) * u)) * DT;
    newthdot = Math.min(Math.max(newthdot, -MAX_SPEED), MAX_SPEED);
    const newth = th + newthdot * DT;
    // In place, as CartPole's: a new state array per step is garbage a vector env makes thousands of.
    state[0] = newth;
    state[1] = newthdot;
    return { obs: this.#obs(), reward: -costs, terminated: false, truncated: false, info: {} };
  }

  /**
   * Gymnasium's Pendulum frame (pendulum.py `render`): 500×500, the rod from the centre, and after a
   * step an arrow sized by the last torque (our own drawing: Gymnasium's is an image file).
   */
  override render(mode: RenderMode): RgbFrame | string {
    if (mode !== 'rgb_array') return super.render(mode);
    const canvas = Canvas.reused(SCREEN_DIM, SCREEN_DIM);
    const scale = SCREEN_DIM / (2.2 * 2);
    const offset = Math.floor(SCREEN_DIM / 2);
    const rodLength = 1 * scale;
    const rodWidth = 0.2 * scale;
    const angle = this.state[0] + Math.PI / 2;
    const rod = [[0, -rodWidth / 2], [0, rodWidth / 2], [rodLength, rodWidth / 2], [rodLength, -rodWidth / 2]].map(([x, y]) => {
      const [rx, ry] = rotateRad(x, y, angle);
      return [rx + offset, ry + offset] as const;
    });
    aapolygon(canvas, rod, ROD_COLOUR);
    filledPolygon(canvas, rod, ROD_COLOUR);
    aacircle(canvas, offset, offset, Math.trunc(rodWidth / 2), ROD_COLOUR);
    filledCircle(canvas, offset, offset, Math.trunc(rodWidth / 2), ROD_COLOUR);

    const [endX, endY] = rotateRad(rodLength, 0, angle);
    aacircle(canvas, Math.trunc(endX + offset), Math.trunc(endY + offset), Math.trunc(rodWidth / 2), ROD_COLOUR);
    filledCircle(canvas, Math.trunc(endX + offset), Math.trunc(endY + offset), Math.trunc(rodWidth / 2), ROD_COLOUR);

    if (this.lastU !== null) turnArrow(canvas, offset, offset, Math.trunc((scale * Math.abs(this.lastU)) / 2), this.lastU > 0);

    aacircle(canvas, offset, offset, Math.trunc(0.05 * scale), BLACK);
    filledCircle(canvas, offset, offset, Math.trunc(0.05 * scale), BLACK);
    return canvas;
  }

  #obs(): number[] {
    const theta = this.state[0];
    return [f32(Math.cos(theta)), f32(Math.sin(theta)), f32(this.state[1])];
  }
}

export const pendulumSpecs: EnvSpec<typeof pendulumKwargs>[] = [
  {
    id: 'Pendulum-v1',
    maxEpisodeSteps: 200,
    rewardThreshold: null,
    kwargs: pendulumKwargs,
    make: (kwargs) => new PendulumEnv(kwargs),
    summary: 'Swing a pendulum upright and hold it there with a limited continuous torque.',
  },
];
