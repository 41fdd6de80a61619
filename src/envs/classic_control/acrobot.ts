/**
 * Acrobot: a two-link chain hanging from a fixed joint, actuated only at the joint between the links;
 * swing the free end above a given height (Sutton 1996; Sutton & Barto's book). Dynamics, constants and
 * order of floating-point operations follow Gymnasium 1.3's acrobot.py: one RK4 step of 0.2 s per action
 * (np.sin/np.cos: Math.sin/cos can differ by one ulp; squares are x·x where NumPy's scalar x**2 calls C
 * pow, which is one ulp off on ~0.1% of inputs).
 *
 * | | |
 * |---|---|
 * | Observation | Box(6,) float32: cos θ1, sin θ1, cos θ2, sin θ2 [-1, 1], θ̇1 [-4π, 4π], θ̇2 [-9π, 9π] (θ2 relative to link 1) |
 * | Action | Discrete(3): torque -1, 0 or +1 on the joint between the links |
 * | Reward | -1.0 every step, 0.0 on the step that reaches the goal |
 * | Start | θ1, θ2, θ̇1, θ̇2 each uniform in [-0.1, 0.1), rounded to float32 |
 * | Termination | -cos θ1 - cos(θ1 + θ2) > 1 (the free end above one link length over the fixed joint) |
 * | Truncation | 500 steps, by the time limit |
 *
 * After each step θ1, θ2 are wrapped into [-π, π] and the velocities clipped to their bounds; the state is
 * float64 from the first step on. `bookOrNips` selects the book's equations (Gymnasium's default) or the
 * NeurIPS paper's, which miss a term.
 */
import { z } from 'zod';
import { Box, Discrete } from '../../spaces/index.js';
import { BLACK, Canvas } from '../../render/canvas.js';
import { line } from '../../render/draw.js';
import { aacircle, aapolygon, filledCircle, filledPolygon } from '../../render/gfxdraw.js';
import { rotateRad } from '../../render/rotate.js';
import { Env, type EnvSpec, type ResetResult, type StepResult, envMetadata, type EnvMetadata, type RenderMode, type RgbFrame } from '../env.js';

const f32 = Math.fround;

const DT = 0.2;
const LINK_LENGTH_1 = 1.0;
const LINK_MASS_1 = 1.0;
const LINK_MASS_2 = 1.0;
const LINK_COM_POS_1 = 0.5;
const LINK_COM_POS_2 = 0.5;
const LINK_MOI = 1.0;
const MAX_VEL_1 = 4 * Math.PI;
const MAX_VEL_2 = 9 * Math.PI;
const AVAIL_TORQUE = [-1.0, 0.0, 1.0];
const G = 9.8;

export const acrobotKwargs = z.strictObject({});

/** Wraps x into [m, M] by whole turns of M - m. */
function wrap(x: number, m: number, M: number): number {
  const diff = M - m;
  while (x > M) x = x - diff;
  while (x < m) x = x + diff;
  return x;
}

function bound(x: number, m: number, M: number): number {
  return Math.min(Math.max(x, m), M);
}

const METADATA = envMetadata({ render_fps: 15, render_modes: ['rgb_array'] });

const SCREEN_DIM = 500;
const LINK_COLOUR = [0, 204, 204] as const;
const JOINT_COLOUR = [204, 204, 0] as const;

export class AcrobotEnv extends Env<number[], number> {
  /** Gymnasium's `metadata` (acrobot.py): 15 frames per second. */
  override get metadata(): EnvMetadata {
    return METADATA;
  }

  readonly observationSpace = new Box(
    [-1.0, -1.0, -1.0, -1.0, -MAX_VEL_1, -MAX_VEL_2],
    [1.0, 1.0, 1.0, 1.0, MAX_VEL_1, MAX_VEL_2],
    [6],
    'float32',
  );
  readonly actionSpace = new Discrete(3);
  /** [θ1, θ2, θ̇1, θ̇2]: float32 values after reset, float64 after a step, as Gymnasium keeps them. */
  state: number[] = [0, 0, 0, 0];
  /** Gymnasium's `book_or_nips` attribute (not a constructor argument): which equations of motion to use. */
  bookOrNips: 'book' | 'nips' = 'book';

  constructor(_kwargs: z.infer<typeof acrobotKwargs> = {}) {
    super();
  }

  reset(): ResetResult<number[]> {
    const rng = this.rng;
    this.state = [0, 0, 0, 0].map(() => f32(rng.uniform(-0.1, 0.1)));
    return { obs: this.#obs(), info: {} };
  }

  step(action: number): StepResult<number[]> {
    const torque = AVAIL_TORQUE[action];
    const ns = this.#rk4(this.state, torque);
    ns[0] = wrap(ns[0], -Math.PI, Math.PI);
    ns[1] = wrap(ns[1], -Math.PI, Math.PI);
    ns[2] = bound(ns[2], -MAX_VEL_1, MAX_VEL_1);
    ns[3] = bound(ns[3], -MAX_VEL_2, MAX_VEL_2);
    this.state = ns;
    const terminated = -Math.cos(ns[0]) - Math.cos(ns[1] + ns[0]) > 1.0;
    return { obs: this.#obs(), reward: terminated ? 0.0 : -1.0, terminated, truncated: false, info: {} };
  }

  /** One classical Runge-Kutta step of length DT from s, with the torque held constant. */
  #rk4(s: number[], torque: number): number[] {
    const dt = DT;
    const dt2 = dt / 2.0;
    const k1 = this.#dsdt(s, torque);
    const k2 = this.#dsdt(s.map((y, i) => y + dt2 * k1[i]), torque);
    const k3 = this.#dsdt(s.map((y, i) => y + dt2 * k2[i]), torque);
    const k4 = this.#dsdt(s.map((y, i) => y + dt * k3[i]), torque);
    const h = dt / 6.0;
    return s.map((y, i) => y + h * (k1[i] + 2 * k2[i] + 2 * k3[i] + k4[i]));
  }

  /** Time derivative of [θ1, θ2, θ̇1, θ̇2] under torque `a`. */
  #dsdt(s: number[], a: number): number[] {
    const m1 = LINK_MASS_1;
    const m2 = LINK_MASS_2;
    const l1 = LINK_LENGTH_1;
    const lc1 = LINK_COM_POS_1;
    const lc2 = LINK_COM_POS_2;
    const I1 = LINK_MOI;
    const I2 = LINK_MOI;
    const [theta1, theta2, dtheta1, dtheta2] = s;
    const cos2 = Math.cos(theta2);
    const sin2 = Math.sin(theta2);
    const d1 = m1 * lc1 ** 2 + m2 * (l1 ** 2 + lc2 ** 2 + 2 * l1 * lc2 * cos2) + I1 + I2;
    const d2 = m2 * (lc2 ** 2 + l1 * lc2 * cos2) + I2;
    const phi2 = m2 * lc2 * G * Math.cos(theta1 + theta2 - Math.PI / 2.0);
    const phi1 =
      -m2 * l1 * lc2 * (dtheta2 * dtheta2) * sin2 -
      2 * m2 * l1 * lc2 * dtheta2 * dtheta1 * sin2 +
      (m1 * lc1 + m2 * l1) * G * Math.cos(theta1 - Math.PI / 2) +
      phi2;
    let ddtheta2: number;
    if (this.bookOrNips === 'nips') {
      ddtheta2 = (a + (d2 / d1) * phi1 - phi2) / (m2 * lc2 ** 2 + I2 - (d2 * d2) / d1);
    } else {
      ddtheta2 =
        (a + (d2 / d1) * phi1 - m2 * l1 * lc2 * (dtheta1 * dtheta1) * sin2 - phi2) /
        (m2 * lc2 ** 2 + I2 - (d2 * d2) / d1);
    }
    const ddtheta1 = -(d2 * ddtheta2 + phi1) / d1;
    return [dtheta1, dtheta2, ddtheta1, ddtheta2];
  }

  #obs(): number[] {
    const s = this.state;
    return [Math.cos(s[0]), Math.sin(s[0]), Math.cos(s[1]), Math.sin(s[1]), s[2], s[3]].map(f32);
  }

  /** Gymnasium's Acrobot frame (acrobot.py `render`): 500×500, the goal line one link above the pivot. */
  override render(mode: RenderMode): RgbFrame | string {
    if (mode !== 'rgb_array') return super.render(mode);
    const canvas = Canvas.reused(SCREEN_DIM, SCREEN_DIM);
    const [theta1, theta2] = this.state;
    const linkLength2 = 1.0;
    const bound = LINK_LENGTH_1 + linkLength2 + 0.2;
    const scale = SCREEN_DIM / (bound * 2);
    const offset = SCREEN_DIM / 2;
    // Joint positions with x and y swapped, as Gymnasium's `[:, ::-1]` does.
    const joints = [
      [0, 0],
      [LINK_LENGTH_1 * Math.sin(theta1) * scale, -LINK_LENGTH_1 * Math.cos(theta1) * scale],
    ];
    const angles = [theta1 - Math.PI / 2, theta1 + theta2 - Math.PI / 2];
    const lengths = [LINK_LENGTH_1 * scale, linkLength2 * scale];

    line(canvas, [-2.2 * scale + offset, 1 * scale + offset], [2.2 * scale + offset, 1 * scale + offset], BLACK);
    for (let i = 0; i < 2; i++) {
      const x = joints[i][0] + offset;
      const y = joints[i][1] + offset;
      const half = 0.1 * scale;
      const link = [[0, -half], [0, half], [lengths[i], half], [lengths[i], -half]].map(([px, py]) => {
        const [rx, ry] = rotateRad(px, py, angles[i]);
        return [rx + x, ry + y] as const;
      });
      aapolygon(canvas, link, LINK_COLOUR);
      filledPolygon(canvas, link, LINK_COLOUR);
      aacircle(canvas, Math.trunc(x), Math.trunc(y), Math.trunc(0.1 * scale), JOINT_COLOUR);
      filledCircle(canvas, Math.trunc(x), Math.trunc(y), Math.trunc(0.1 * scale), JOINT_COLOUR);
    }
    return canvas;
  }
}

export const acrobotSpecs: EnvSpec<typeof acrobotKwargs>[] = [
  {
    id: 'Acrobot-v1',
    maxEpisodeSteps: 500,
    rewardThreshold: -100.0,
    kwargs: acrobotKwargs,
    make: (kwargs) => new AcrobotEnv(kwargs),
    summary: 'Swing the end of a two-link chain above a line by torquing the middle joint.',
  },
];
