/**
 * CartPole: balance a pole on a cart by pushing the cart left or right (Barto, Sutton & Anderson 1983).
 * Dynamics, constants and order of floating-point operations follow Gymnasium 1.3's cartpole.py.
 *
 * | | |
 * |---|---|
 * | Observation | Box(4,) float32: cart position [-4.8, 4.8], cart velocity (-inf, inf), pole angle [-0.418, 0.418] rad, pole angular velocity (-inf, inf) |
 * | Action | Discrete(2): 0 pushes the cart left, 1 right, with a force of 10 N |
 * | Reward | +1.0 every step, including the terminating one; 0.0 for steps after termination. With `sutton_barto_reward`: 0.0 per step, -1.0 on termination |
 * | Start | every state variable uniform in (-0.05, 0.05) |
 * | Termination | pole angle beyond ±12° or cart position beyond ±2.4 |
 * | Truncation | 500 steps (v1), 200 (v0), by the time limit |
 */
import { z } from 'zod';
import { Box, Discrete } from '../../spaces/index.js';
import { Canvas, BLACK } from '../../render/canvas.js';
import { aacircle, aapolygon, filledCircle, filledPolygon, hline } from '../../render/gfxdraw.js';
import { rotateRad } from '../../render/rotate.js';
import { Env, type EnvSpec, type ResetResult, type StepResult, envMetadata, type EnvMetadata, type RenderMode, type RgbFrame } from '../env.js';

const GRAVITY = 9.8;
const MASS_CART = 1.0;
const MASS_POLE = 0.1;
const TOTAL_MASS = MASS_POLE + MASS_CART;
const LENGTH = 0.5; // half the pole's length
const POLEMASS_LENGTH = MASS_POLE * LENGTH;
const FORCE_MAG = 10.0;
const TAU = 0.02;
const THETA_THRESHOLD = (12 * 2 * Math.PI) / 360;
const X_THRESHOLD = 2.4;

export const cartPoleKwargs = z.strictObject({
  sutton_barto_reward: z.boolean().default(false),
});

const METADATA = envMetadata({ render_fps: 50, render_modes: ['rgb_array'] });

const SCREEN_WIDTH = 600;
const SCREEN_HEIGHT = 400;
const POLE_COLOUR = [202, 152, 101] as const;
const AXLE_COLOUR = [129, 132, 203] as const;

export class CartPoleEnv extends Env<number[], number> {
  /** Gymnasium's `metadata` (cartpole.py): 50 frames per second. */
  override get metadata(): EnvMetadata {
    return METADATA;
  }

  readonly observationSpace = new Box(
    [-X_THRESHOLD * 2, -Infinity, -THETA_THRESHOLD * 2, -Infinity],
    [X_THRESHOLD * 2, Infinity, THETA_THRESHOLD * 2, Infinity],
    [4],
    'float32',
  );
  readonly actionSpace = new Discrete(2);
  /** [x, x_dot, theta, theta_dot] in float64, as Gymnasium keeps it. */
  state: number[] = [0, 0, 0, 0];
  stepsBeyondTerminated: number | null = null;
  readonly #suttonBarto: boolean;

  constructor(kwargs: z.infer<typeof cartPoleKwargs> = { sutton_barto_reward: false }) {
    super();
    this.#suttonBarto = kwargs.sutton_barto_reward;
  }

  reset(): ResetResult<number[]> {
    const rng = this.rng;
    const state = [rng.uniform(-0.05, 0.05), rng.uniform(-0.05, 0.05), rng.uniform(-0.05, 0.05), rng.uniform(-0.05, 0.05)];
    this.state = state;
    this.stepsBeyondTerminated = null;
    // Written out as `step` writes it, so that a batch reads observations of one kind of array.
    return { obs: [Math.fround(state[0]), Math.fround(state[1]), Math.fround(state[2]), Math.fround(state[3])], info: {} };
  }

  step(action: number): StepResult<number[]> {
    // The state is updated in place and the observation written element by element: a vector env
    // steps thousands of these per request, and the new state array and `map`'s array per step were
    // garbage collected again and again (GC was a quarter of a 4,096-CartPole vector step).
    const state = this.state;
    let x = state[0];
    let xDot = state[1];
    let theta = state[2];
    let thetaDot = state[3];
    const force = action === 1 ? FORCE_MAG : -FORCE_MAG;
    const cosTheta = Math.cos(theta);
    const sinTheta = Math.sin(theta);
    const temp = (force + POLEMASS_LENGTH * (thetaDot * thetaDot) * sinTheta) / TOTAL_MASS;
    const thetaAcc =
      (GRAVITY * sinTheta - cosTheta * temp) / (LENGTH * (4.0 / 3.0 - (MASS_POLE * (cosTheta * cosTheta)) / TOTAL_MASS));
    const xAcc = temp - (POLEMASS_LENGTH * thetaAcc * cosTheta) / TOTAL_MASS;
    x = x + TAU * xDot;
    xDot = xDot + TAU * xAcc;
    theta = theta + TAU * thetaDot;
    thetaDot = thetaDot + TAU * thetaAcc;
    state[0] = x;
    state[1] = xDot;
    state[2] = theta;
    state[3] = thetaDot;

    const terminated = x < -X_THRESHOLD || x > X_THRESHOLD || theta < -THETA_THRESHOLD || theta > THETA_THRESHOLD;
    let reward: number;
    if (!terminated) {
      reward = this.#suttonBarto ? 0.0 : 1.0;
    } else if (this.stepsBeyondTerminated === null) {
      this.stepsBeyondTerminated = 0;
      reward = this.#suttonBarto ? -1.0 : 1.0;
    } else {
      this.stepsBeyondTerminated += 1;
      reward = this.#suttonBarto ? -1.0 : 0.0;
    }
    return { obs: [Math.fround(x), Math.fround(xDot), Math.fround(theta), Math.fround(thetaDot)], reward, terminated, truncated: false, info: {} };
  }

  /** Gymnasium's CartPole frame (cartpole.py `render`): 600×400, the cart 100 px above the bottom. */
  override render(mode: RenderMode): RgbFrame | string {
    if (mode !== 'rgb_array') return super.render(mode);
    const canvas = Canvas.reused(SCREEN_WIDTH, SCREEN_HEIGHT);
    const scale = SCREEN_WIDTH / (X_THRESHOLD * 2);
    const poleWidth = 10.0;
    const poleLength = scale * (2 * LENGTH);
    const [x, , theta] = this.state;
    const cartX = x * scale + SCREEN_WIDTH / 2.0;
    const cartY = 100;
    const axleOffset = 30.0 / 4.0;

    const cart = [[-25, -15], [-25, 15], [25, 15], [25, -15]].map(([px, py]) => [px + cartX, py + cartY] as const);
    aapolygon(canvas, cart, BLACK);
    filledPolygon(canvas, cart, BLACK);

    const l = -poleWidth / 2;
    const r = poleWidth / 2;
    const t = poleLength - poleWidth / 2;
    const b = -poleWidth / 2;
    const pole = [[l, b], [l, t], [r, t], [r, b]].map(([px, py]) => {
      const [rx, ry] = rotateRad(px, py, -theta);
      return [rx + cartX, ry + cartY + axleOffset] as const;
    });
    aapolygon(canvas, pole, POLE_COLOUR);
    filledPolygon(canvas, pole, POLE_COLOUR);

    const axleX = Math.trunc(cartX);
    const axleY = Math.trunc(cartY + axleOffset);
    aacircle(canvas, axleX, axleY, Math.trunc(poleWidth / 2), AXLE_COLOUR);
    filledCircle(canvas, axleX, axleY, Math.trunc(poleWidth / 2), AXLE_COLOUR);

    hline(canvas, 0, SCREEN_WIDTH, cartY, BLACK);
    return canvas;
  }
}

export const cartPoleSpecs: EnvSpec<typeof cartPoleKwargs>[] = [
  { id: 'CartPole-v0', maxEpisodeSteps: 200, rewardThreshold: 195.0 },
  { id: 'CartPole-v1', maxEpisodeSteps: 500, rewardThreshold: 475.0 },
].map((s) => ({
  ...s,
  kwargs: cartPoleKwargs,
  make: (kwargs) => new CartPoleEnv(kwargs),
  summary: 'Balance a pole on a cart by pushing it left or right.',
}));
