/**
 * LunarLander: land a rocket on the pad between the flags, with a main engine and two side engines.
 * Gymnasium 1.3's lunar_lander.py on planck (engine.ts); the physics core is `LanderWorld`, the
 * Gymnasium adapter (spaces, reward, termination) is `LunarLanderEnv`.
 *
 * | | |
 * |---|---|
 * | Observation | Box(8,) float32: x, y (pad at 0, 0; ±2.5), vx, vy (±10), angle (±2π), angular velocity (±10), left and right leg contact (0 or 1) |
 * | Action | Discrete(4): nothing, left engine, main engine, right engine; or (`continuous`) Box(2,) float32 in [-1, 1]: main throttle (off below 0, 50–100% from 0 to 1), side throttle (off in (-0.5, 0.5), left below, right above) |
 * | Reward | shaping: -100·distance -100·speed -100·|angle| +10 per leg on the ground, as the change since the last step; -0.3 per frame of main engine (times throttle), -0.03 of side engine; -100 on a crash or leaving the screen, +100 when the lander comes to rest |
 * | Start | top centre, pushed by a random force (uniform ±1000 N in x and y); random terrain of 11 chunks, flat pad in the middle |
 * | Termination | the hull touches the ground, |x| ≥ 1, or the lander is asleep (at rest) |
 * | Truncation | 1000 steps, by the time limit |
 *
 * Keyword arguments: `continuous`, `gravity` in (-12, 0) (default -10), `enable_wind` with
 * `wind_power` (default 15) and `turbulence_power` (default 1.5): wind and torque follow
 * tanh(sin(0.02·k) + sin(0.01·π·k)) from a random index k in [-9999, 9999) that counts steps.
 */
import { z } from 'zod';
import { Box, Discrete } from '../../spaces/index.js';
import { envMetadata, type EnvMetadata, type EnvSpec, type RenderMode, type ResetResult, type RgbFrame, type StepResult } from '../env.js';
import { BLACK, Canvas, WHITE, type Rgb } from '../../render/canvas.js';
import { aapolygon, filledPolygon } from '../../render/gfxdraw.js';
import { line } from '../../render/draw.js';
import { drawBody, drawPatch, type View } from './draw.js';
import { FPS, addFixture, planck, polygon, stepWorld } from './engine.js';
import { ReplayedEnv } from './replayed_env.js';
import type { NpRandom } from '../../rng/index.js';

const f32 = Math.fround;

const SCALE = 30.0;
const MAIN_ENGINE_POWER = 13.0;
const SIDE_ENGINE_POWER = 0.6;
const INITIAL_RANDOM = 1000.0;
const LANDER_POLY: readonly [number, number][] = [[-14, +17], [-17, 0], [-17, -10], [+17, -10], [+17, 0], [+14, +17]];
const LEG_AWAY = 20;
const LEG_DOWN = 18;
const LEG_W = 2;
const LEG_H = 8;
const LEG_SPRING_TORQUE = 40;
const SIDE_ENGINE_HEIGHT = 14;
const SIDE_ENGINE_AWAY = 12;
const MAIN_ENGINE_Y_LOCATION = 4;
const VIEWPORT_W = 600;
const VIEWPORT_H = 400;
const W = VIEWPORT_W / SCALE;
const H = VIEWPORT_H / SCALE;
const CHUNKS = 11;

export const lunarLanderKwargs = z.strictObject({
  continuous: z.boolean().default(false),
  gravity: z
    .number()
    .default(-10.0)
    .refine((g) => -12.0 < g && g < 0.0, { message: 'gravity must be between -12 and 0' }),
  enable_wind: z.boolean().default(false),
  wind_power: z.number().default(15.0),
  turbulence_power: z.number().default(1.5),
});
export type LunarLanderKwargs = z.infer<typeof lunarLanderKwargs>;

/** The layout a reset builds (Gymnasium's `helipad_*` and terrain points), for tests and the report. */
export interface LanderLayout {
  helipadX1: number;
  helipadX2: number;
  helipadY: number;
  /** The 11 smoothed chunk points (x, y) in float64, as Python computes them. */
  terrain: [number, number][];
}

/** The Box2D world of one episode: moon, lander, legs, and the contacts that end an episode. */
export class LanderWorld {
  readonly world: planck.World;
  readonly lander: planck.Body;
  readonly legs: planck.Body[] = [];
  readonly legContact = [false, false];
  gameOver = false;
  readonly layout: LanderLayout;

  constructor(rng: NpRandom, gravity: number, afterForce: () => void) {
    this.world = new planck.World({ gravity: planck.Vec2(0, gravity) });
    const height: number[] = [];
    for (let i = 0; i < CHUNKS + 1; i++) height.push(rng.uniform(0, H / 2));
    const chunkX = Array.from({ length: CHUNKS }, (_, i) => (W / (CHUNKS - 1)) * i);
    const helipadY = H / 4;
    for (let k = -2; k <= 2; k++) height[Math.floor(CHUNKS / 2) + k] = helipadY;
    // height[i - 1] for i = 0 is Python's height[-1], the last of the 12.
    const smoothY = chunkX.map((_, i) => 0.33 * (height[i === 0 ? CHUNKS : i - 1] + height[i] + height[i + 1]));
    this.layout = {
      helipadX1: chunkX[Math.floor(CHUNKS / 2) - 1],
      helipadX2: chunkX[Math.floor(CHUNKS / 2) + 1],
      helipadY,
      terrain: chunkX.map((x, i) => [x, smoothY[i]]),
    };

    const moon = this.world.createBody();
    addFixture(moon, new planck.EdgeShape(planck.Vec2(0, 0), planck.Vec2(W, 0)));
    for (let i = 0; i < CHUNKS - 1; i++) {
      const edge = new planck.EdgeShape(planck.Vec2(chunkX[i], smoothY[i]), planck.Vec2(chunkX[i + 1], smoothY[i + 1]));
      addFixture(moon, edge, { density: 0, friction: 0.1 });
    }

    const initialX = VIEWPORT_W / SCALE / 2;
    const initialY = VIEWPORT_H / SCALE;
    this.lander = this.world.createDynamicBody({ position: planck.Vec2(initialX, initialY), angle: 0.0 });
    addFixture(this.lander, polygon(LANDER_POLY.map(([x, y]) => [x / SCALE, y / SCALE])), {
      density: 5.0,
      friction: 0.1,
      categoryBits: 0x0010,
      maskBits: 0x001,
      restitution: 0.0,
    });
    const fx = rng.uniform(-INITIAL_RANDOM, INITIAL_RANDOM);
    const fy = rng.uniform(-INITIAL_RANDOM, INITIAL_RANDOM);
    this.lander.applyForceToCenter(planck.Vec2(fx, fy), true);
    afterForce();

    for (const i of [-1, +1]) {
      const leg = this.world.createDynamicBody({ position: planck.Vec2(initialX - (i * LEG_AWAY) / SCALE, initialY), angle: i * 0.05 });
      addFixture(leg, new planck.BoxShape(LEG_W / SCALE, LEG_H / SCALE), { density: 1.0, restitution: 0.0, categoryBits: 0x0020, maskBits: 0x001 });
      // No referenceAngle: pybox2d's joint def takes bodyB.angle - bodyA.angle, as planck does
      // (Box2D's C++ default, 0, put the legs 0.05 rad off Gymnasium's from the first step).
      const joint = new planck.RevoluteJoint({
          bodyA: this.lander,
          bodyB: leg,
          localAnchorA: planck.Vec2(0, 0),
          localAnchorB: planck.Vec2((i * LEG_AWAY) / SCALE, LEG_DOWN / SCALE),
          enableMotor: true,
          enableLimit: true,
          maxMotorTorque: LEG_SPRING_TORQUE,
          motorSpeed: +0.3 * i,
          lowerAngle: i === -1 ? +0.9 - 0.5 : -0.9,
          upperAngle: i === -1 ? +0.9 : -0.9 + 0.5,
        });
      this.world.createJoint(joint);
      this.legs.push(leg);
    }

    this.world.on('begin-contact', (contact) => {
      const a = contact.getFixtureA().getBody();
      const b = contact.getFixtureB().getBody();
      if (a === this.lander || b === this.lander) this.gameOver = true;
      for (let i = 0; i < 2; i++) if (a === this.legs[i] || b === this.legs[i]) this.legContact[i] = true;
    });
    this.world.on('end-contact', (contact) => {
      const a = contact.getFixtureA().getBody();
      const b = contact.getFixtureB().getBody();
      for (let i = 0; i < 2; i++) if (a === this.legs[i] || b === this.legs[i]) this.legContact[i] = false;
    });
  }
}

const METADATA = envMetadata({ render_fps: FPS, render_modes: ['rgb_array'] });
const LANDER_FILL: Rgb = [128, 102, 230];
const LANDER_STROKE: Rgb = [77, 77, 128];
const FLAG: Rgb = [204, 204, 0];
const VIEW: View = { scale: SCALE, offsetX: 0 };

/** tanh(sin(0.02·k) + sin(π·0.01·k)), Gymnasium's wind and turbulence profile. */
function windProfile(k: number): number {
  return Math.tanh(Math.sin(0.02 * k) + Math.sin(Math.PI * 0.01 * k));
}

export class LunarLanderEnv extends ReplayedEnv<number[], number | number[]> {
  override get metadata(): EnvMetadata {
    return METADATA;
  }

  readonly observationSpace = new Box(
    [-2.5, -2.5, -10.0, -10.0, -2 * Math.PI, -10.0, -0.0, -0.0],
    [2.5, 2.5, 10.0, 10.0, 2 * Math.PI, 10.0, 1.0, 1.0],
    [8],
    'float32',
  );
  readonly actionSpace: Box | Discrete;
  readonly continuous: boolean;
  readonly gravity: number;
  readonly enableWind: boolean;
  readonly windPower: number;
  readonly turbulencePower: number;
  /** The current episode's world; null before the first reset and after close. */
  physics: LanderWorld | null = null;
  prevShaping: number | null = null;
  windIdx = 0;
  torqueIdx = 0;

  constructor(kwargs: LunarLanderKwargs = lunarLanderKwargs.parse({})) {
    super();
    this.continuous = kwargs.continuous;
    this.gravity = kwargs.gravity;
    this.enableWind = kwargs.enable_wind;
    this.windPower = kwargs.wind_power;
    this.turbulencePower = kwargs.turbulence_power;
    this.actionSpace = this.continuous ? new Box(-1, +1, [2], 'float32') : new Discrete(4);
  }

  protected resetWorld(): ResetResult<number[]> {
    const rng = this.rng;
    this.prevShaping = null;
    this.physics = new LanderWorld(rng, this.gravity, () => {
      if (this.enableWind) {
        // np_random.integers(-9999, 9999) = -9999 + a draw below 19998.
        this.windIdx = -9999 + rng.integers(19998);
        this.torqueIdx = -9999 + rng.integers(19998);
      }
    });
    return { obs: this.stepWorld(this.continuous ? [0, 0] : 0).obs, info: {} };
  }

  protected stepWorld(action: number | number[]): StepResult<number[]> {
    const physics = this.physics!;
    const lander = physics.lander;
    const rng = this.rng;
    if (this.enableWind && !(physics.legContact[0] || physics.legContact[1])) {
      const windMag = windProfile(this.windIdx) * this.windPower;
      this.windIdx += 1;
      lander.applyForceToCenter(planck.Vec2(windMag, 0.0), true);
      const torqueMag = windProfile(this.torqueIdx) * this.turbulencePower;
      this.torqueIdx += 1;
      lander.applyTorque(torqueMag, true);
    }
    let main = 0;
    let lateral = 0;
    if (this.continuous) {
      const a = action as number[];
      main = Math.min(Math.max(a[0], -1), 1);
      lateral = Math.min(Math.max(a[1], -1), 1);
    }
    const angle = lander.getAngle();
    const tip = [Math.sin(angle), Math.cos(angle)];
    const side = [-tip[1], tip[0]];
    const dispersion = [rng.uniform(-1.0, +1.0) / SCALE, rng.uniform(-1.0, +1.0) / SCALE];

    let mPower = 0.0;
    if ((this.continuous && main > 0.0) || (!this.continuous && action === 2)) {
      mPower = this.continuous ? (Math.min(Math.max(main, 0.0), 1.0) + 1.0) * 0.5 : 1.0;
      const ox = tip[0] * (MAIN_ENGINE_Y_LOCATION / SCALE + 2 * dispersion[0]) + side[0] * dispersion[1];
      const oy = -tip[1] * (MAIN_ENGINE_Y_LOCATION / SCALE + 2 * dispersion[0]) - side[1] * dispersion[1];
      const pos = lander.getPosition();
      lander.applyLinearImpulse(
        planck.Vec2(-ox * MAIN_ENGINE_POWER * mPower, -oy * MAIN_ENGINE_POWER * mPower),
        planck.Vec2(pos.x + ox, pos.y + oy),
        true,
      );
    }

    let sPower = 0.0;
    if ((this.continuous && Math.abs(lateral) > 0.5) || (!this.continuous && (action === 1 || action === 3))) {
      let direction: number;
      if (this.continuous) {
        direction = Math.sign(lateral);
        sPower = Math.min(Math.max(Math.abs(lateral), 0.5), 1.0);
      } else {
        direction = (action as number) - 2;
        sPower = 1.0;
      }
      const ox = tip[0] * dispersion[0] + side[0] * (3 * dispersion[1] + (direction * SIDE_ENGINE_AWAY) / SCALE);
      const oy = -tip[1] * dispersion[0] - side[1] * (3 * dispersion[1] + (direction * SIDE_ENGINE_AWAY) / SCALE);
      const pos = lander.getPosition();
      lander.applyLinearImpulse(
        planck.Vec2(-ox * SIDE_ENGINE_POWER * sPower, -oy * SIDE_ENGINE_POWER * sPower),
        planck.Vec2(pos.x + ox - (tip[0] * 17) / SCALE, pos.y + oy + (tip[1] * SIDE_ENGINE_HEIGHT) / SCALE),
        true,
      );
    }

    stepWorld(physics.world);

    const pos = lander.getPosition();
    const vel = lander.getLinearVelocity();
    const state = [
      (pos.x - VIEWPORT_W / SCALE / 2) / (VIEWPORT_W / SCALE / 2),
      (pos.y - (physics.layout.helipadY + LEG_DOWN / SCALE)) / (VIEWPORT_H / SCALE / 2),
      (vel.x * (VIEWPORT_W / SCALE / 2)) / FPS,
      (vel.y * (VIEWPORT_H / SCALE / 2)) / FPS,
      lander.getAngle(),
      (20.0 * lander.getAngularVelocity()) / FPS,
      physics.legContact[0] ? 1.0 : 0.0,
      physics.legContact[1] ? 1.0 : 0.0,
    ];
    const shaping =
      -100 * Math.sqrt(state[0] * state[0] + state[1] * state[1]) -
      100 * Math.sqrt(state[2] * state[2] + state[3] * state[3]) -
      100 * Math.abs(state[4]) +
      10 * state[6] +
      10 * state[7];
    let reward = 0;
    if (this.prevShaping !== null) reward = shaping - this.prevShaping;
    this.prevShaping = shaping;
    reward -= mPower * 0.3;
    reward -= sPower * 0.03;

    let terminated = false;
    if (physics.gameOver || Math.abs(state[0]) >= 1.0) {
      terminated = true;
      reward = -100;
    }
    if (!lander.isAwake()) {
      terminated = true;
      reward = +100;
    }
    return { obs: state.map(f32), reward, terminated, truncated: false, info: {} };
  }

  /**
   * Gymnasium's LunarLander frame (lunar_lander.py `render`), 600×400: black sky above the moon's
   * surface, the lander and its legs, the two helipad flags. Not drawn: the engines' exhaust
   * particles, which Gymnasium creates as extra Box2D bodies only when a render mode is set; here a
   * frame can be asked of any env, and bodies added for it would make a rendered episode's world
   * differ from an unrendered one's.
   */
  override render(mode: RenderMode): RgbFrame | string {
    if (mode !== 'rgb_array') return super.render(mode);
    const canvas = Canvas.reused(VIEWPORT_W, VIEWPORT_H, WHITE);
    const physics = this.physics;
    if (physics === null) return canvas;
    const { terrain, helipadX1, helipadX2, helipadY } = physics.layout;
    for (let i = 0; i + 1 < terrain.length; i++) {
      const [p1, p2] = [terrain[i], terrain[i + 1]];
      drawPatch(canvas, [p1, p2, [p2[0], H], [p1[0], H]], BLACK, VIEW);
    }
    for (const body of [physics.lander, ...physics.legs]) drawBody(canvas, body, LANDER_FILL, LANDER_STROKE, VIEW, 'aalines');
    for (const x of [helipadX1 * SCALE, helipadX2 * SCALE]) {
      const flagY1 = helipadY * SCALE;
      const flagY2 = flagY1 + 50;
      line(canvas, [x, flagY1], [x, flagY2], WHITE);
      const flag: [number, number][] = [[x, flagY2], [x, flagY2 - 10], [x + 25, flagY2 - 5]];
      filledPolygon(canvas, flag, FLAG);
      aapolygon(canvas, flag, FLAG);
    }
    return canvas;
  }

  override close(): void {
    this.physics = null;
  }
}

const summary = (what: string) => `Land a rocket on the pad between the flags (Box2D), ${what}.`;

export const lunarLanderSpecs: EnvSpec<typeof lunarLanderKwargs>[] = [
  {
    id: 'LunarLander-v3',
    maxEpisodeSteps: 1000,
    rewardThreshold: 200,
    kwargs: lunarLanderKwargs,
    make: (kwargs) => new LunarLanderEnv(kwargs),
    summary: summary('four discrete engine commands (continuous=True: two throttles)'),
  },
  {
    id: 'LunarLanderContinuous-v3',
    maxEpisodeSteps: 1000,
    rewardThreshold: 200,
    kwargs: lunarLanderKwargs.extend({ continuous: z.boolean().default(true) }),
    make: (kwargs) => new LunarLanderEnv(kwargs),
    summary: summary('main and side engine throttles in [-1, 1]'),
  },
];
