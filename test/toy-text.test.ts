import { describe, it, expect } from 'vitest';
import { goldenText, type GoldenEpisode as GoldenEpisodeOf } from './golden.js';
import { PyFloat, toPyJson } from '../src/json/pyjson.js';
import { Box, Discrete, MultiBinary, MultiDiscrete, Tuple, type Space } from '../src/spaces/index.js';
import { EnvRunner } from '../src/envs/runner.js';
import type { Env, EnvSpec } from '../src/envs/env.js';
import { frozenLakeSpecs, FrozenLakeEnv, generateRandomMap } from '../src/envs/toy_text/frozen_lake.js';
import { cliffWalkingSpecs } from '../src/envs/toy_text/cliff_walking.js';
import { taxiSpecs, TaxiEnv } from '../src/envs/toy_text/taxi.js';
import { blackjackSpecs, BlackjackEnv } from '../src/envs/toy_text/blackjack.js';

// ---------------------------------------------------------------------------------------------
// Golden files are read with a small JSON parser that keeps Python's int/float difference:
// a number written with "." or an exponent becomes { $float: value }, an integer stays a number.
// ---------------------------------------------------------------------------------------------

interface Float {
  $float: number;
}
type J = null | boolean | number | string | Float | J[] | { [key: string]: J };

function parseJson(text: string): J {
  let i = 0;
  const ws = () => {
    while (i < text.length && ' \t\r\n'.includes(text[i])) i++;
  };
  const value = (): J => {
    ws();
    const ch = text[i];
    if (ch === '{') {
      i++;
      const obj: { [key: string]: J } = {};
      ws();
      if (text[i] === '}') return i++, obj;
      for (;;) {
        ws();
        const key = value() as string;
        ws();
        i++; // ':'
        obj[key] = value();
        ws();
        if (text[i++] === '}') return obj;
      }
    }
    if (ch === '[') {
      i++;
      const arr: J[] = [];
      ws();
      if (text[i] === ']') return i++, arr;
      for (;;) {
        arr.push(value());
        ws();
        if (text[i++] === ']') return arr;
      }
    }
    if (ch === '"') {
      const start = i;
      i++;
      while (text[i] !== '"') i += text[i] === '\\' ? 2 : 1;
      i++;
      return JSON.parse(text.slice(start, i)) as string;
    }
    const m = /^(?:true|false|null|-?\d+(\.\d+)?([eE][+-]?\d+)?)/.exec(text.slice(i, i + 40));
    if (!m) throw new SyntaxError(`bad JSON at ${i}`);
    i += m[0].length;
    if (m[0] === 'true') return true;
    if (m[0] === 'false') return false;
    if (m[0] === 'null') return null;
    return m[1] !== undefined || m[2] !== undefined ? { $float: Number(m[0]) } : Number(m[0]);
  };
  return value();
}

/** Our values in the same shape: PyFloat and non-integral numbers are floats, integral numbers ints. */
function norm(x: unknown): J {
  if (x instanceof PyFloat) return { $float: x.value };
  if (typeof x === 'number') return Number.isInteger(x) ? x : { $float: x };
  if (Array.isArray(x)) return x.map(norm);
  if (x !== null && typeof x === 'object') {
    return Object.fromEntries(Object.entries(x as Record<string, unknown>).map(([k, v]) => [k, norm(v)]));
  }
  return x as J;
}

/** Drops the int/float marking (for values whose wire type is fixed, like the reward). */
function plain(x: J): unknown {
  if (x !== null && typeof x === 'object' && '$float' in x) return (x as Float).$float;
  if (Array.isArray(x)) return x.map(plain);
  if (x !== null && typeof x === 'object') return Object.fromEntries(Object.entries(x).map(([k, v]) => [k, plain(v)]));
  return x;
}

// ---------------------------------------------------------------------------------------------

const SPECS: EnvSpec[] = [...frozenLakeSpecs, ...cliffWalkingSpecs, ...taxiSpecs, ...blackjackSpecs] as EnvSpec[];

const FILES = [
  'FrozenLake-v1',
  'FrozenLake-v1__is_slippery_False',
  'FrozenLake8x8-v1',
  'CliffWalking-v1',
  'CliffWalkingSlippery-v1',
  'Taxi-v4',
  'Taxi-v4__fickle_passenger_True__is_rainy_True',
  'Blackjack-v1',
  'Blackjack-v1__sab_False',
  'Blackjack-v1__natural_True__sab_False',
];

interface GoldenStep {
  action: number;
  obs: J;
  reward: J;
  terminated: boolean;
  truncated: boolean;
  info: J;
  internal?: J;
}
interface GoldenReset {
  obs: J;
  info: J;
  internal?: J;
}
type GoldenEpisode = GoldenEpisodeOf<GoldenReset, GoldenStep>;
interface Golden {
  env_id: string;
  make_kwargs: Record<string, J>;
  spec: { max_episode_steps: number | null; reward_threshold: J; kwargs: Record<string, J> };
  observation_space: Record<string, J>;
  action_space: Record<string, J>;
  reset_by_seed: (GoldenReset & { seed: number | string })[];
  reset_unseeded_continuation: { seed: number; resets: GoldenReset[] };
  action_sample_by_seed: { seed: number; samples: number[] }[];
  episode_step_cap: { cap: number };
  episodes: GoldenEpisode[];
  goal_episodes?: GoldenEpisode[];
  blackjack_cases?: GoldenEpisode[];
  value_types: Record<string, string[]>;
}

function loadGolden(name: string): Golden {
  const text = goldenText(`${name}.json`);
  return parseJson(text) as unknown as Golden;
}

/** The hidden state the golden files record under `internal`, read from our env. */
function internalOf(env: Env): J | undefined {
  if (env instanceof BlackjackEnv) {
    return {
      player: [...env.player],
      dealer: [...env.dealer],
      dealer_top_card_suit: env.dealerTopCardSuit,
      dealer_top_card_value_str: env.dealerTopCardValueStr,
    };
  }
  if (env instanceof TaxiEnv) return { fickle_step: env.fickleStep };
  return undefined;
}

/** Gymnasium's space summary in the golden files, from our describe(). */
function spaceSummary(space: Space<unknown>): J {
  const d = space.describe();
  if (d.name === 'Tuple') return { class: 'Tuple', spaces: (space as Tuple).spaces.map(spaceSummary) };
  if (d.name === 'Discrete') return { class: 'Discrete', shape: [], dtype: d.dtype as string, n: d.n as number, start: d.start as number };
  throw new Error(`unexpected space ${String(d.name)}`);
}

function checkReset(runner: EnvRunner, got: { obs: unknown; info: unknown }, want: GoldenReset, where: string): void {
  expect(norm(got.obs), `${where} obs`).toStrictEqual(want.obs);
  expect(norm(got.info), `${where} info`).toStrictEqual(want.info);
  expect(runner.env.observationSpace.contains(got.obs), `${where} obs in space`).toBe(true);
  expect(runner.env.observationSpace.encode(got.obs), `${where} obs on the wire`).toBe(toPyJson(plain(want.obs)));
  if (want.internal !== undefined) expect(internalOf(runner.env), `${where} internal`).toStrictEqual(want.internal);
}

function replay(makeRunner: () => EnvRunner, episode: GoldenEpisode, cap: number, where: string): void {
  const runner = makeRunner();
  runner.seed(BigInt(episode.reset_seed));
  checkReset(runner, runner.reset(), episode.reset, `${where} reset`);
  expect(episode.steps.length).toBe(episode.length);
  episode.steps.forEach((want, k) => {
    const at = `${where} step ${k}`;
    const got = runner.step(want.action);
    expect(norm(got.obs), `${at} obs`).toStrictEqual(want.obs);
    // The reward always goes out as a float; Gymnasium's type (int or float) is in value_types.
    expect(got.reward, `${at} reward`).toBe(plain(want.reward));
    expect(got.terminated, `${at} terminated`).toBe(want.terminated);
    expect(got.truncated, `${at} truncated`).toBe(want.truncated);
    expect(norm(got.info), `${at} info`).toStrictEqual(want.info);
    expect(runner.env.observationSpace.encode(got.obs), `${at} obs on the wire`).toBe(toPyJson(plain(want.obs)));
    if (want.internal !== undefined) expect(internalOf(runner.env), `${at} internal`).toStrictEqual(want.internal);
  });
  const last = episode.steps[episode.steps.length - 1];
  if (episode.end === 'terminated') expect(last.terminated).toBe(true);
  if (episode.end === 'truncated') expect(last.truncated && !last.terminated).toBe(true);
  if (episode.end === 'cap') {
    expect(runner.spec.maxEpisodeSteps).toBe(null);
    expect(episode.length).toBe(cap);
    expect(last.terminated || last.truncated).toBe(false);
  }
}

describe.each(FILES)('%s matches Gymnasium 1.3', (file) => {
  const g = loadGolden(file);
  const spec = SPECS.find((s) => s.id === g.env_id)!;
  const kwargs = spec?.kwargs.parse(plain(g.make_kwargs as J));
  const makeRunner = () => new EnvRunner(spec, spec.make(kwargs));

  it('spec: time limit, reward threshold, registered kwargs', () => {
    expect(spec, `no spec for ${g.env_id}`).toBeDefined();
    expect(spec.maxEpisodeSteps).toBe(g.spec.max_episode_steps);
    expect(spec.rewardThreshold).toBe(plain(g.spec.reward_threshold));
    for (const [key, value] of Object.entries(g.spec.kwargs)) {
      expect((kwargs as Record<string, unknown>)[key], key).toStrictEqual(plain(value));
    }
  });

  it('spaces', () => {
    const { env } = makeRunner();
    const strip = ({ class: cls, shape, dtype, n, start, spaces }: Record<string, J>) =>
      cls === 'Tuple' ? { class: cls, spaces } : { class: cls, shape, dtype, n, start };
    expect(spaceSummary(env.observationSpace)).toStrictEqual(strip(g.observation_space));
    expect(spaceSummary(env.actionSpace)).toStrictEqual(strip(g.action_space));
  });

  it('reset_by_seed', () => {
    for (const want of g.reset_by_seed) {
      const runner = makeRunner();
      runner.seed(BigInt(want.seed));
      checkReset(runner, runner.reset(), want, `seed ${want.seed}`);
    }
  });

  it('reset_unseeded_continuation', () => {
    const runner = makeRunner();
    runner.seed(BigInt(g.reset_unseeded_continuation.seed));
    g.reset_unseeded_continuation.resets.forEach((want, k) => checkReset(runner, runner.reset(), want, `reset ${k}`));
  });

  it('action_sample_by_seed', () => {
    for (const { seed, samples } of g.action_sample_by_seed) {
      const runner = makeRunner();
      runner.seed(BigInt(seed));
      expect(samples.map(() => runner.sampleAction()), `seed ${seed}`).toStrictEqual(samples);
    }
  });

  it('episodes', () => {
    expect(g.episodes.length).toBeGreaterThan(0);
    g.episodes.forEach((ep, k) => replay(makeRunner, ep, g.episode_step_cap.cap, `episode ${k}`));
  });

  // Only some golden files have these sections: the tests exist where the data does.
  const goalEpisodes = g.goal_episodes;
  if (goalEpisodes) it('goal_episodes', () => {
    goalEpisodes.forEach((ep, k) => {
      replay(makeRunner, ep, g.episode_step_cap.cap, `goal episode ${k}`);
      expect(ep.end).toBe('terminated');
    });
  });

  const blackjackCases = g.blackjack_cases;
  if (blackjackCases) it('blackjack_cases', () => {
    blackjackCases.forEach((ep) => replay(makeRunner, ep, g.episode_step_cap.cap, ep.label ?? 'case'));
  });

  it('value_types agree with the parsed file', () => {
    // The int/float marking this test relies on is what value_types says Gymnasium returned.
    const kind = (t: string) => (t === 'int' ? 'int' : t === 'float' ? 'float' : null);
    const firstStep = g.episodes[0].steps[0];
    for (const [path, sample] of [
      ['reset_info.prob', (g.episodes[0].reset.info as Record<string, J>).prob],
      ['step_info.prob', (firstStep.info as Record<string, J>).prob],
      ['reward', firstStep.reward],
    ] as const) {
      const types = g.value_types[path];
      if (!types || sample === undefined) continue;
      expect(kind(types[0]), path).toBe(typeof sample === 'number' ? 'int' : 'float');
    }
  });
});

describe('toy-text kwargs', () => {
  it('registered defaults', () => {
    const defaults = (id: string) => SPECS.find((s) => s.id === id)!.kwargs.parse({});
    expect(defaults('FrozenLake-v1')).toStrictEqual({
      desc: null,
      map_name: '4x4',
      is_slippery: true,
      success_rate: 1 / 3,
      reward_schedule: [1, 0, 0],
      map_size: 8,
      map_p: 0.8,
      map_seed: null,
    });
    expect(defaults('FrozenLake8x8-v1')).toMatchObject({ map_name: '8x8' });
    expect(defaults('CliffWalking-v1')).toStrictEqual({ is_slippery: false });
    expect(defaults('CliffWalkingSlippery-v1')).toStrictEqual({ is_slippery: true });
    expect(defaults('Taxi-v4')).toStrictEqual({
      is_rainy: false,
      fickle_passenger: false,
      rainy_probability: 0.8,
      fickle_probability: 0.3,
    });
    expect(defaults('Blackjack-v1')).toStrictEqual({ natural: false, sab: true });
  });

  it('rejects unknown and malformed kwargs', () => {
    const fl = frozenLakeSpecs[0].kwargs;
    expect(fl.safeParse({ render_mode: 'human' }).success).toBe(false);
    expect(fl.safeParse({ desc: ['SF', 'F'] }).success).toBe(false);
    expect(fl.safeParse({ desc: ['SX', 'FG'] }).success).toBe(false);
    expect(fl.safeParse({ desc: ['FF', 'FG'] }).success).toBe(false);
    expect(fl.safeParse({ desc: [] }).success).toBe(false);
    expect(fl.safeParse({ desc: [''] }).success).toBe(false);
    expect(fl.safeParse({ success_rate: 1.5 }).success).toBe(false);
    expect(fl.parse({ desc: [['S', 'F'], ['H', 'G']] }).desc).toStrictEqual(['SF', 'HG']);
    expect(fl.safeParse({ map_name: '5x5' }).success).toBe(false);
    expect(fl.safeParse({ desc: ['SF', 'HG'], reward_schedule: [10, -1, -0.1] }).success).toBe(true);
  });

  it('FrozenLake with a custom map and reward schedule', () => {
    const env = new FrozenLakeEnv({ desc: ['SF', 'HG'], is_slippery: false, reward_schedule: [10, -5, -0.5] });
    const runner = new EnvRunner(frozenLakeSpecs[0] as EnvSpec, env);
    runner.seed(0n);
    expect(runner.reset().obs).toBe(0);
    expect(env.observationSpace.n).toBe(4);
    const right = runner.step(2);
    expect([right.obs, right.reward, right.terminated]).toStrictEqual([1, -0.5, false]);
    const down = runner.step(1);
    expect([down.obs, down.reward, down.terminated]).toStrictEqual([3, 10, true]);
    // Stepping from the goal stays there with reward 0.
    const after = runner.step(0);
    expect([after.obs, after.reward, after.terminated]).toStrictEqual([3, 0, true]);
  });

  it('FrozenLake with map_name null generates an 8x8 map', () => {
    const env = new FrozenLakeEnv({ desc: null, map_name: null });
    expect(env.desc.length).toBe(8);
    expect(env.desc[0][0]).toBe('S');
    expect(env.desc[7][7]).toBe('G');
  });

  it('generateRandomMap reproduces Gymnasium for a seed', () => {
    // generate_random_map(size, p, seed) from Gymnasium 1.3 with NumPy (several of these redraw the board).
    expect(generateRandomMap(8, 0.8, 0)).toStrictEqual([
      'SFFFHHFF', 'FHHFHFFF', 'HFFFFFFF', 'FFHHFFFF', 'FFFFFHHF', 'FFFFFHFF', 'FHFFHFFF', 'FFFFFFFG',
    ]);
    expect(generateRandomMap(5, 0.5, 3)).toStrictEqual(['SFFFH', 'FHHFF', 'FHFFH', 'FHFFH', 'FFFFG']);
    expect(generateRandomMap(4, 0.6, 11)).toStrictEqual(['SFHF', 'HFFF', 'FFFH', 'HFFG']);
    expect(generateRandomMap(4, 0.3, 2)).toStrictEqual(['SFFF', 'HHHF', 'HHFF', 'HHFG']);
    expect(generateRandomMap(6, 0.5, 9)).toStrictEqual(['SHHHFF', 'FFHFFH', 'FHFHHH', 'FHFFFF', 'FFHHHF', 'HFFFFG']);
    expect(generateRandomMap(8, 0.8, 0)).toStrictEqual(generateRandomMap(8, 0.8, 0n));
    expect(() => generateRandomMap(1)).toThrow(RangeError);
  });
});

describe('Tuple, MultiDiscrete, MultiBinary', () => {
  // Expected samples computed with NumPy's default_rng, drawing as Gymnasium's spaces do.
  it('MultiBinary.sample draws int8 integers(0, 2) like NumPy', () => {
    const a = new MultiBinary(10);
    a.seed(0n);
    expect([a.sample(), a.sample(), a.sample()]).toStrictEqual([
      [0, 1, 1, 1, 1, 1, 0, 1, 0, 1],
      [1, 1, 0, 0, 1, 1, 1, 0, 1, 0],
      [0, 1, 0, 0, 1, 0, 0, 0, 0, 0],
    ]);
    const b = new MultiBinary(3);
    b.seed(5n);
    expect([b.sample(), b.sample(), b.sample(), b.sample()]).toStrictEqual([
      [1, 1, 1],
      [1, 1, 0],
      [1, 1, 1],
      [0, 0, 1],
    ]);
    const c = new MultiBinary([2, 3]);
    c.seed(1n);
    expect([c.sample(), c.sample()]).toStrictEqual([
      [1, 1, 0, 0, 1, 1],
      [0, 1, 0, 1, 1, 1],
    ]);
    expect(c.encode([0, 1, 0, 1, 1, 1])).toBe('[[0, 1, 0], [1, 1, 1]]');
  });

  it('MultiBinary contains, describe, parseAction', () => {
    const s = new MultiBinary(3);
    expect(s.contains([0, 1, 1])).toBe(true);
    expect(s.contains([0, 2, 1])).toBe(false);
    expect(s.contains([0, 1])).toBe(false);
    expect(s.contains('011')).toBe(false);
    expect(s.describe()).toStrictEqual({ name: 'MultiBinary', shape: [3], low: [0, 0, 0], high: [1, 1, 1], dtype: 'int8' });
    expect(s.encode([1, 0, 1])).toBe('[1, 0, 1]');
    expect(s.parseAction('[1, 0, 1]')).toStrictEqual([1, 0, 1]);
    expect(s.parseAction([true, false, true])).toStrictEqual([1, 0, 1]);
    expect(() => s.parseAction([1, 2, 0])).toThrow(/0 or 1/);
    expect(() => s.parseAction([1, 0])).toThrow(/list of 3/);
  });

  it('MultiDiscrete.sample is floor(random() * nvec) + start like Gymnasium', () => {
    const s = new MultiDiscrete([3, 5, 2], { start: [0, 1, -1] });
    s.seed(42n);
    expect(Array.from({ length: 5 }, () => s.sample())).toStrictEqual([
      [2, 3, 0],
      [2, 1, 0],
      [2, 4, -1],
      [1, 2, 0],
      [1, 5, -1],
    ]);
  });

  it('MultiDiscrete contains, describe, encode, parseAction', () => {
    const s = new MultiDiscrete([3, 5, 2], { start: [0, 1, -1] });
    expect(s.contains([2, 5, 0])).toBe(true);
    expect(s.contains([3, 5, 0])).toBe(false);
    expect(s.contains([0, 0, 0])).toBe(false);
    expect(s.contains([0, 1.5, 0])).toBe(false);
    const d = s.describe();
    expect(d).toStrictEqual({ name: 'MultiDiscrete', shape: [3], low: [0, 1, -1], high: [2, 5, 0], sizes: [3, 5, 2], dtype: 'int64' });
    // The C++ client reads keys by prefix: nothing but "name" may start with "n".
    expect(Object.keys(d).filter((k) => k !== 'name' && k.startsWith('n'))).toStrictEqual([]);
    expect(toPyJson(d)).toBe(
      '{"name": "MultiDiscrete", "shape": [3], "low": [0, 1, -1], "high": [2, 5, 0], "sizes": [3, 5, 2], "dtype": "int64"}',
    );
    expect(s.encode([2, 3, -1])).toBe('[2, 3, -1]');
    expect(s.parseAction('[2, 3, -1]')).toStrictEqual([2, 3, -1]);
    expect(() => s.parseAction([3, 3, 0])).toThrow(/from 0 to 2/);
    expect(() => s.parseAction(1)).toThrow(/list of 3/);
    const grid = new MultiDiscrete([2, 2, 2, 2], { shape: [2, 2] });
    expect(grid.encode([0, 1, 1, 0])).toBe('[[0, 1], [1, 0]]');
    expect(grid.parseAction([[0, 1], [1, 0]])).toStrictEqual([0, 1, 1, 0]);
    expect(() => new MultiDiscrete([2, 0])).toThrow(RangeError);
  });

  it('Tuple seeds its sub-spaces like Gymnasium and samples them in order', () => {
    const t = new Tuple([new Discrete(3), new Discrete(7), new MultiBinary(5)]);
    t.seed(123n);
    expect(Array.from({ length: 4 }, () => t.sample())).toStrictEqual([
      [1, 4, [0, 0, 0, 1, 0]],
      [0, 3, [0, 1, 0, 1, 0]],
      [0, 3, [1, 0, 0, 1, 0]],
      [0, 0, [1, 0, 0, 0, 1]],
    ]);
  });

  it('Tuple contains, describe, encode, parseAction', () => {
    const t = new Tuple([new Discrete(32), new Discrete(11), new Box(-1, 1, [2], 'float32')]);
    expect(t.length).toBe(3);
    expect(t.contains([21, 10, [0.5, -0.5]])).toBe(true);
    expect(t.contains([21, 11, [0.5, -0.5]])).toBe(false);
    expect(t.contains([21, 10])).toBe(false);
    expect(toPyJson(t.describe())).toBe(
      '{"name": "Tuple", "spaces": [{"name": "Discrete", "n": 32, "start": 0, "dtype": "int64"}, ' +
        '{"name": "Discrete", "n": 11, "start": 0, "dtype": "int64"}, ' +
        '{"name": "Box", "shape": [2], "low": [-1.0, -1.0], "high": [1.0, 1.0], "dtype": "float32"}]}',
    );
    expect(t.encode([21, 10, [1, -0.5]])).toBe('[21, 10, [1.0, -0.5]]');
    expect(t.parseAction('[3, [4], [0.25, 1]]')).toStrictEqual([3, 4, [0.25, 1]]);
    expect(() => t.parseAction([3, 11, [0, 0]])).toThrow(/Tuple element 1/);
    expect(() => t.parseAction([3, 4])).toThrow(/list of 3/);
    const bj = new BlackjackEnv().observationSpace;
    bj.seed(0n);
    expect(bj.contains(bj.sample())).toBe(true);
  });
});
