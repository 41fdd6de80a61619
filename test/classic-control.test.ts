// Golden test of the five classic-control environments against data recorded from Gymnasium 1.3.0
// (test/fixtures/golden, format in GYMNASIUM_README.md). Every env is driven through EnvRunner, so the
// time limit and the seeding rule are the real ones.
//
// Gymnasium takes sine and cosine from glibc, V8 from fdlibm; they differ by one ulp on a few percent
// of inputs, and such differences grow in chaotic dynamics. So dynamics are checked one step at a time:
// each step starts from the state Gymnasium recorded after the previous step, and the next state and
// observation must agree within a few ulps (rewards and flags exactly). Whole episodes are then replayed
// freely from their seed and must end on the same step with the same flags.
import { describe, expect, it } from 'vitest';
import { goldenText, type GoldenEpisode as GoldenEpisodeOf } from './golden.js';
import type { Env, EnvSpec } from '../src/envs/env.js';
import { EnvRunner } from '../src/envs/runner.js';
import { Box, Discrete } from '../src/spaces/index.js';
import { cartPoleSpecs } from '../src/envs/classic_control/cartpole.js';
import { mountainCarSpecs } from '../src/envs/classic_control/mountain_car.js';
import { continuousMountainCarSpecs } from '../src/envs/classic_control/continuous_mountain_car.js';
import { angleNormalize, pendulumSpecs } from '../src/envs/classic_control/pendulum.js';
import { acrobotSpecs } from '../src/envs/classic_control/acrobot.js';

// ---------------------------------------------------------------- golden file shapes

interface Internal {
  state: number[];
  state_dtype: 'float32' | 'float64';
  steps_beyond_terminated?: number | null;
}
interface GoldenReset {
  obs: number[];
  info: Record<string, unknown>;
  internal: Internal;
}
interface GoldenStep {
  action: unknown;
  obs: number[];
  reward: number;
  terminated: boolean;
  truncated: boolean;
  info: Record<string, unknown>;
  internal: Internal;
  after_termination?: boolean;
}
type GoldenEpisode = GoldenEpisodeOf<GoldenReset, GoldenStep>;
interface GoldenSetState {
  label: string;
  state: number[];
  state_dtype: 'float32' | 'float64';
  reset_seed_before: number;
  internal_before: Internal;
  steps: GoldenStep[];
  first_terminated_step: number | null;
}
interface GoldenSpace {
  class: string;
  shape: number[];
  dtype: string;
  low?: (number | string)[];
  high?: (number | string)[];
  n?: number;
  start?: number;
}
interface Golden {
  env_id: string;
  make_kwargs: Record<string, unknown>;
  spec: {
    id: string;
    max_episode_steps: number | null;
    reward_threshold: number | null;
    kwargs: Record<string, unknown>;
  };
  observation_space: GoldenSpace;
  action_space: GoldenSpace;
  reset_by_seed: (GoldenReset & { seed: number | string })[];
  reset_unseeded_continuation: { seed: number; resets: GoldenReset[] };
  action_sample_by_seed: { seed: number; samples: unknown[] }[];
  episodes: GoldenEpisode[];
  controlled_episodes?: GoldenEpisode[];
  set_state: GoldenSetState[];
}

/** Reads a golden file; the strings "inf", "-inf", "nan" become numbers. */
function loadGolden(name: string): Golden {
  const text = goldenText(name);
  const special: Record<string, number> = { inf: Infinity, '-inf': -Infinity, nan: NaN };
  return JSON.parse(text, (_key, value) => (typeof value === 'string' && value in special ? special[value] : value));
}

// ---------------------------------------------------------------- the envs

/** The hidden state every classic-control env keeps public. */
type StatefulEnv = Env & {
  state: number[];
  stepsBeyondTerminated?: number | null;
  stateDtype?: 'float32' | 'float64';
};

interface Case {
  file: string;
  spec: EnvSpec;
  /** Internal fields besides `state`: golden key → env field, set before and compared after each step. */
  extras: Partial<Record<keyof Internal, keyof StatefulEnv>>;
  /**
   * Rewards Gymnasium could give if a library function rounded the other way, for the steps where that is
   * the only difference (see pendulumAltRewards).
   */
  altRewards?: (before: Internal, action: unknown) => number[];
}

const F32 = new Float32Array(1);
const I32 = new Int32Array(F32.buffer);
const F64 = new Float64Array(1);
const I64 = new BigInt64Array(F64.buffer);

/** The other float32 neighbour of the exact u², or null if u² is a float32. */
function squareOtherF32(u: number): number | null {
  const exact = u * u; // exact in float64: 48 significant bits at most
  const rounded = Math.fround(exact);
  if (rounded === exact) return null;
  F32[0] = rounded;
  I32[0] += exact > rounded ? 1 : -1;
  return F32[0];
}

/** The other float64 neighbour of the exact x², or null if x² is a float64 (Dekker's exact product). */
function squareOtherF64(x: number): number | null {
  const hi = x * x;
  const c = 134217729 * x; // 2^27 + 1: splits x into two 26-bit halves
  const xh = c - (c - x);
  const xl = x - xh;
  const lo = xh * xh - hi + 2 * xh * xl + xl * xl;
  if (lo === 0) return null;
  F64[0] = hi;
  I64[0] += lo > 0 ? 1n : -1n;
  return F64[0];
}

/**
 * Pendulum's reward with some of its three squares rounded to the other neighbour of the exact square.
 * NumPy computes θ**2 and θ̇**2 on float64 scalars with C pow and the float32 u**2 with C powf, and
 * glibc's pow and powf are not correctly rounded: pow(x, 2) differs from x·x on ~0.08% of inputs,
 * powf(u, 2) from f32(u·u) on ~0.07%. The env returns the correctly rounded squares. The rest of the
 * reward is recomputed here in Gymnasium's order, so a match confirms that the rounding of a square is
 * the only difference.
 */
function pendulumAltRewards(before: Internal, action: unknown): number[] {
  const [th, thdot] = before.state;
  const u = Math.min(Math.max((action as number[])[0], -2.0), 2.0);
  const n = angleNormalize(th);
  const squares: [number, number | null][] = [
    [n * n, squareOtherF64(n)],
    [thdot * thdot, squareOtherF64(thdot)],
    [Math.fround(u * u), squareOtherF32(u)],
  ];
  const rewards: number[] = [];
  for (let mask = 1; mask < 8; mask++) {
    const v = squares.map(([rounded, other], i) => ((mask >> i) & 1 ? other : rounded));
    if (v[0] === null || v[1] === null || v[2] === null) continue;
    rewards.push(-(v[0] + 0.1 * v[1] + Math.fround(Math.fround(0.001) * v[2])));
  }
  return rewards;
}

function specById(specs: EnvSpec[], id: string): EnvSpec {
  const spec = specs.find((s) => s.id === id);
  if (!spec) throw new Error(`no spec ${id}`);
  return spec;
}

const CASES: Case[] = [
  {
    file: 'CartPole-v0.json',
    spec: specById(cartPoleSpecs, 'CartPole-v0'),
    extras: { steps_beyond_terminated: 'stepsBeyondTerminated' },
  },
  {
    file: 'CartPole-v1.json',
    spec: specById(cartPoleSpecs, 'CartPole-v1'),
    extras: { steps_beyond_terminated: 'stepsBeyondTerminated' },
  },
  { file: 'MountainCar-v0.json', spec: specById(mountainCarSpecs, 'MountainCar-v0'), extras: {} },
  {
    file: 'numpy2-nep50/MountainCarContinuous-v0.json',
    spec: specById(continuousMountainCarSpecs, 'MountainCarContinuous-v0'),
    extras: { state_dtype: 'stateDtype' },
  },
  {
    file: 'numpy2-nep50/Pendulum-v1.json',
    spec: specById(pendulumSpecs, 'Pendulum-v1'),
    extras: {},
    altRewards: pendulumAltRewards,
  },
  { file: 'Acrobot-v1.json', spec: specById(acrobotSpecs, 'Acrobot-v1'), extras: {} },
];

function makeRunner(spec: EnvSpec, kwargs: Record<string, unknown> = {}): { runner: EnvRunner; env: StatefulEnv } {
  const env = spec.make(spec.kwargs.parse(kwargs)) as StatefulEnv;
  return { runner: new EnvRunner(spec, env), env };
}

function setInternal(env: StatefulEnv, c: Case, internal: Internal): void {
  env.state = [...internal.state];
  for (const [key, field] of Object.entries(c.extras)) {
    (env as unknown as Record<string, unknown>)[field] = internal[key as keyof Internal];
  }
}

// ---------------------------------------------------------------- comparisons

/** Position of a float32 value on the integer line of float32s (+0 and -0 both at 0). */
function f32Ordinal(x: number): number {
  F32[0] = x;
  const bits = I32[0];
  return bits >= 0 ? bits : -(bits & 0x7fffffff);
}

function f32Ulps(a: number, b: number): number {
  if (Number.isNaN(a) || Number.isNaN(b)) return Number.isNaN(a) && Number.isNaN(b) ? 0 : Infinity;
  return Math.abs(f32Ordinal(a) - f32Ordinal(b));
}

const STATE_REL_TOL = 1e-12;
/** Absolute floor for values that come out of a cancellation (a few ulps of the magnitudes involved). */
const STATE_ABS_TOL = 1e-14;
const OBS_MAX_ULPS = 2;

function stateClose(a: number, b: number): boolean {
  if (a === b) return true;
  return Math.abs(a - b) <= Math.max(STATE_REL_TOL * Math.max(Math.abs(a), Math.abs(b)), STATE_ABS_TOL);
}

function sameBits(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((x, i) => Object.is(x, b[i]));
}

interface Tally {
  observations: number;
  bitIdentical: number;
  maxObsUlps: number;
  maxStateRelErr: number;
  /** Steps whose reward matched only with the other rounding of a library function (Case.altRewards). */
  altRewards: string[];
}

/**
 * Steps through `steps`, setting the env's internal state to the recorded one before each step, and checks
 * each step's result. The runner must have been reset; it counts the steps, so `truncated` is its own.
 * Returns a list of failures (empty when all agree).
 */
function checkStepwise(
  c: Case,
  tally: Tally,
  runner: EnvRunner,
  env: StatefulEnv,
  before: Internal,
  steps: GoldenStep[],
  where: string,
): string[] {
  const failures: string[] = [];
  let prev = before;
  steps.forEach((g, i) => {
    setInternal(env, c, prev);
    const r = runner.step(g.action);
    const obs = r.obs as number[];
    const at = `${where} step ${i}`;

    tally.observations += 1;
    if (sameBits(obs, g.obs)) tally.bitIdentical += 1;
    const obsUlps = Math.max(...obs.map((x, k) => f32Ulps(x, g.obs[k])));
    tally.maxObsUlps = Math.max(tally.maxObsUlps, obsUlps);
    if (obs.length !== g.obs.length || !(obsUlps <= OBS_MAX_ULPS) || obs.some((x) => Math.fround(x) !== x)) {
      failures.push(`${at}: obs ${JSON.stringify(obs)} vs ${JSON.stringify(g.obs)} (${obsUlps} float32 ulps)`);
    }

    const state = env.state;
    if (state.length !== g.internal.state.length || state.some((x, k) => !stateClose(x, g.internal.state[k]))) {
      failures.push(`${at}: state ${JSON.stringify(state)} vs ${JSON.stringify(g.internal.state)}`);
    }
    state.forEach((x, k) => {
      const y = g.internal.state[k];
      if (x !== y) {
        tally.maxStateRelErr = Math.max(tally.maxStateRelErr, Math.abs(x - y) / Math.max(Math.abs(x), Math.abs(y)));
      }
    });
    for (const [key, field] of Object.entries(c.extras)) {
      const got = (env as unknown as Record<string, unknown>)[field];
      const want = g.internal[key as keyof Internal];
      if (got !== want) failures.push(`${at}: ${key} ${JSON.stringify(got)} vs ${JSON.stringify(want)}`);
    }

    if (!Object.is(r.reward, g.reward)) {
      if (c.altRewards?.(prev, g.action).includes(g.reward)) tally.altRewards.push(`${at}: ${r.reward} vs ${g.reward}`);
      else failures.push(`${at}: reward ${r.reward} vs ${g.reward}`);
    }
    if (r.terminated !== g.terminated) failures.push(`${at}: terminated ${r.terminated} vs ${g.terminated}`);
    if (r.truncated !== g.truncated) failures.push(`${at}: truncated ${r.truncated} vs ${g.truncated}`);
    if (JSON.stringify(r.info) !== JSON.stringify(g.info)) failures.push(`${at}: info ${JSON.stringify(r.info)}`);
    prev = g.internal;
  });
  return failures;
}

interface Stepwise {
  episodeFailures: string[];
  setStateFailures: string[];
  tally: Tally;
}

/** Checks every recorded step of the episodes and of the set_state cases, each from the recorded state before it. */
function runStepwise(c: Case, golden: Golden, episodes: { name: string; e: GoldenEpisode }[]): Stepwise {
  const tally: Tally = { observations: 0, bitIdentical: 0, maxObsUlps: 0, maxStateRelErr: 0, altRewards: [] };
  const episodeFailures: string[] = [];
  for (const { name, e } of episodes) {
    const { runner, env } = makeRunner(c.spec);
    runner.seed(BigInt(e.reset_seed));
    const obs = runner.reset().obs;
    if (!sameBits(obs as number[], e.reset.obs)) episodeFailures.push(`${name}: reset obs ${JSON.stringify(obs)}`);
    if (!sameBits(env.state, e.reset.internal.state)) {
      episodeFailures.push(`${name}: reset state ${JSON.stringify(env.state)}`);
    }
    if (e.steps.length !== e.length) {
      episodeFailures.push(`${name}: the file holds ${e.steps.length} of ${e.length} steps`);
    }
    episodeFailures.push(...checkStepwise(c, tally, runner, env, e.reset.internal, e.steps, name));
  }
  const setStateFailures: string[] = [];
  for (const s of golden.set_state) {
    const { runner, env } = makeRunner(c.spec);
    runner.seed(BigInt(s.reset_seed_before));
    runner.reset();
    setStateFailures.push(...checkStepwise(c, tally, runner, env, s.internal_before, s.steps, s.label));
  }
  return { episodeFailures, setStateFailures, tally };
}

/** Replays recorded actions from a reset without touching the state; returns where and how it ended. */
function replayFreely(
  runner: EnvRunner,
  steps: GoldenStep[],
): { length: number; terminated: boolean; truncated: boolean } {
  for (let i = 0; i < steps.length; i++) {
    const r = runner.step(steps[i].action);
    if (r.terminated || r.truncated) return { length: i + 1, terminated: r.terminated, truncated: r.truncated };
  }
  return { length: steps.length, terminated: false, truncated: false };
}

/** Fails with the number of failures and the first few of them. */
function expectNoFailures(failures: string[]): void {
  expect({ count: failures.length, first: failures.slice(0, 10) }).toEqual({ count: 0, first: [] });
}

function checkSpace(space: unknown, g: GoldenSpace): void {
  if (g.class === 'Box') {
    expect(space).toBeInstanceOf(Box);
    const box = space as Box;
    expect([...box.shape]).toEqual(g.shape);
    expect(box.dtype).toBe(g.dtype);
    expect(box.low).toEqual(g.low);
    expect(box.high).toEqual(g.high);
  } else if (g.class === 'Discrete') {
    expect(space).toBeInstanceOf(Discrete);
    const d = space as Discrete;
    expect(d.n).toBe(g.n);
    expect(d.start).toBe(g.start);
    expect(d.describe().dtype).toBe(g.dtype);
  } else {
    throw new Error(`unexpected space class ${g.class}`);
  }
}

// ---------------------------------------------------------------- the tests

for (const c of CASES) {
  const golden = loadGolden(c.file);
  const id = c.spec.id;

  describe(`${id} (${c.file})`, () => {
    it('has the registered spec and Gymnasium’s spaces', () => {
      expect(golden.env_id).toBe(id);
      expect(c.spec.maxEpisodeSteps).toBe(golden.spec.max_episode_steps);
      expect(c.spec.rewardThreshold).toBe(golden.spec.reward_threshold);
      const { env } = makeRunner(c.spec, golden.make_kwargs);
      checkSpace(env.observationSpace, golden.observation_space);
      checkSpace(env.actionSpace, golden.action_space);
    });

    it('resets by seed to the same start, state included', () => {
      for (const g of golden.reset_by_seed) {
        const { runner, env } = makeRunner(c.spec);
        runner.seed(BigInt(g.seed));
        const r = runner.reset();
        expect(r.obs, `seed ${g.seed}`).toEqual(g.obs);
        expect(r.info).toEqual(g.info);
        expect(env.state, `seed ${g.seed}`).toEqual(g.internal.state);
      }
    });

    it('continues the same stream on unseeded resets', () => {
      const { runner, env } = makeRunner(c.spec);
      runner.seed(BigInt(golden.reset_unseeded_continuation.seed));
      for (const g of golden.reset_unseeded_continuation.resets) {
        expect(runner.reset().obs).toEqual(g.obs);
        expect(env.state).toEqual(g.internal.state);
      }
    });

    it('samples actions from a seeded action space', () => {
      for (const g of golden.action_sample_by_seed) {
        const { runner, env } = makeRunner(c.spec);
        runner.seed(BigInt(g.seed));
        const samples = Array.from({ length: g.samples.length }, () => env.actionSpace.sample());
        expect(samples, `seed ${g.seed}`).toEqual(g.samples);
      }
    });

    const episodes = [
      ...golden.episodes.map((e, i) => ({ name: `episode ${i} (seed ${e.reset_seed})`, e })),
      ...(golden.controlled_episodes ?? []).map((e, i) => ({
        name: `controlled episode ${i} (seed ${e.reset_seed})`,
        e,
      })),
    ];

    let stepwise: Stepwise | undefined;
    const results = (): Stepwise => (stepwise ??= runStepwise(c, golden, episodes));

    it('matches every recorded episode step by step', () => {
      expectNoFailures(results().episodeFailures);
    });

    it('replays every recorded episode to the same end', () => {
      for (const { name, e } of episodes) {
        const { runner } = makeRunner(c.spec);
        runner.seed(BigInt(e.reset_seed));
        runner.reset();
        const last = e.steps[e.steps.length - 1];
        const end = replayFreely(runner, e.steps);
        expect({ length: end.length, terminated: end.terminated, truncated: end.truncated }, name).toEqual({
          length: e.length,
          terminated: last.terminated,
          truncated: last.truncated,
        });
      }
    });

    it('matches the hand-set states step by step, after termination too', () => {
      expectNoFailures(results().setStateFailures);
    });

    it('gives bit-identical float32 observations on at least 99% of steps', () => {
      const t = results().tally;
      const share = t.bitIdentical / t.observations;
      console.log(
        `${id}: ${t.bitIdentical}/${t.observations} observations bit-identical (${(100 * share).toFixed(2)}%), ` +
          `max ${t.maxObsUlps} float32 ulps, max state relative error ${t.maxStateRelErr.toExponential(2)}` +
          (t.altRewards.length ? `; reward off only by libm's rounding of a square at ${t.altRewards.join(', ')}` : ''),
      );
      expect(t.observations).toBeGreaterThan(0);
      expect(share).toBeGreaterThanOrEqual(0.99);
    });
  });
}

describe('MountainCarContinuous-v0 under NumPy 2 promotion', () => {
  it('compares a float32 position with the goal in float32', () => {
    // Checked against Gymnasium 1.3.0 running on NumPy 2.4.6 (the golden files never land on this case):
    // at position float32(0.45) = 0.44999998807907104, below the double 0.45, with a force that exactly
    // cancels gravity, the car stays put and the episode terminates, because NumPy 2 rounds the Python
    // float 0.45 to float32 before comparing it with the float32 position.
    const spec = specById(continuousMountainCarSpecs, 'MountainCarContinuous-v0');
    const { runner, env } = makeRunner(spec);
    runner.seed(0n);
    runner.reset();
    env.state = [Math.fround(0.45), 0];
    env.stateDtype = 'float32';
    const r = runner.step([0.3650113046169281]);
    expect(env.state).toEqual([0.44999998807907104, 0]);
    expect(r.terminated).toBe(true);
    expect(r.reward).toBe(99.98667667475019);
  });
});
