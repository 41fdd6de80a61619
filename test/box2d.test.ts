/**
 * LunarLander and BipedalWalker against Gymnasium's own numbers (test/fixtures/box2d): everything
 * random exactly (generator calls, terrain, action samples), resets and early trajectories within
 * the tolerances docs/box2d.md gives for a double-precision engine (Box2D 2.3.0's own C++ built in
 * double leaves Gymnasium's float32 build where gym-tcp does), snapshots by replay bit for bit.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { NpRandom } from '../src/rng/index.js';
import { PCG64 } from '../src/rng/pcg64.js';
import { canonicalEnvId, loadEnvFamily, makeEnv } from '../src/envs/registry.js';
import { LunarLanderEnv, lunarLanderKwargs } from '../src/envs/box2d/lunar_lander.js';
import { BipedalWalkerEnv } from '../src/envs/box2d/bipedal_walker.js';
import type { Env } from '../src/envs/env.js';
import { replayEpisode } from '../scripts/lib/box2d-golden.js';
import { WalkerHeuristic, landerHeuristic } from '../scripts/lib/box2d-heuristics.js';

/** A fixture, with seeds beyond 2^53 kept as decimal strings. */
function fixture(file: string): any {
  const text = readFileSync(new URL(`./fixtures/box2d/${file}`, import.meta.url), 'utf8');
  return JSON.parse(text.replace(/"(seed|reset_seed)":(\d{16,})/g, '"$1":"$2"'));
}

const seedOf = (seed: number | string) => BigInt(seed);
const f32 = Math.fround;

/** A generator that writes down what each call returned, as Gymnasium's rng_trace does. */
class RecordingRandom extends NpRandom {
  readonly draws: number[] = [];
  override uniform(low: number, high: number): number {
    const x = super.uniform(low, high);
    this.draws.push(x);
    return x;
  }
  override integers(n: number): number {
    const x = super.integers(n);
    this.draws.push(x);
    return x;
  }
  override random(): number {
    const x = super.random();
    this.draws.push(x);
    return x;
  }
}

/** Gymnasium's calls flattened to what our generator returns: integers(low, high) as the draw below high - low. */
function tracedDraws(calls: { call: string; args: number[]; result: number | number[] }[]): number[] {
  return calls.flatMap(({ call, args, result }) => (call === 'integers' ? [(result as number) - args[0]] : Array.isArray(result) ? result : [result]));
}

function maxAbsDiff(a: readonly number[], b: readonly number[]): number {
  return Math.max(...b.map((x, i) => Math.abs(a[i] - x)));
}

const configs = [
  { file: 'LunarLander-v3.json', window: 50, make: (): Env => new LunarLanderEnv() },
  { file: 'LunarLander-v3__continuous_True.json', window: 50, make: (): Env => new LunarLanderEnv(lunarLanderKwargs.parse({ continuous: true })) },
  { file: 'BipedalWalker-v3.nep50.json', window: 30, make: (): Env => new BipedalWalkerEnv({ hardcore: false }) },
  { file: 'BipedalWalker-v3__hardcore_True.nep50.json', window: 30, make: (): Env => new BipedalWalkerEnv({ hardcore: true }) },
];

for (const { file, window, make } of configs) {
  const g = fixture(file);
  const walker = file.startsWith('Bipedal');
  const hardcore = file.includes('hardcore');
  describe(`${g.requested_id}(${JSON.stringify(g.make_kwargs)}) against Gymnasium`, () => {
    it('has the same spaces', () => {
      const env = make();
      const obs = env.observationSpace.describe() as { low: { value: number }[]; high: { value: number }[]; shape: number[] };
      expect(obs.shape).toEqual(g.observation_space.shape);
      expect(obs.low.map((x) => Number(x.value))).toEqual(g.observation_space.low);
      expect(obs.high.map((x) => Number(x.value))).toEqual(g.observation_space.high);
      const act = env.actionSpace.describe() as Record<string, unknown>;
      if (g.action_space.class === 'Discrete') expect(act.n).toBe(g.action_space.n);
      else expect(act.shape).toEqual(g.action_space.shape);
    });

    it('samples actions exactly as action_space.seed(s) + sample()', () => {
      const env = make();
      for (const { seed, samples } of g.action_sample_by_seed) {
        env.actionSpace.seed(seedOf(seed));
        expect(samples.map(() => env.actionSpace.sample()), `seed ${seed}`).toEqual(samples);
      }
    });

    it("draws exactly Gymnasium's random numbers in a seeded reset and 5 steps", () => {
      const { reset_seed, reset_calls, step_calls } = g.rng_trace;
      const env = make();
      const rng = new RecordingRandom(PCG64.fromSeed(seedOf(reset_seed)));
      env.npRandom = rng;
      env.reset();
      expect(rng.draws).toEqual(tracedDraws(reset_calls));
      rng.draws.length = 0;
      for (const { action, calls } of step_calls) env.step(action);
      expect(rng.draws).toEqual(step_calls.flatMap((s: any) => tracedDraws(s.calls)));
    });

    it('builds the same world for every recorded seed (2**63 included), and resets within 1e-5', () => {
      for (const r of g.reset_by_seed) {
        const env = make() as any;
        env.npRandom = NpRandom.fromSeed(seedOf(r.seed));
        const { obs } = env.reset();
        expect(maxAbsDiff(obs, r.obs), `seed ${r.seed}`).toBeLessThan(1e-5);
        const layout = env.physics.layout;
        if (walker) {
          expect(layout.terrainX).toEqual(r.world.terrain_x);
          expect(layout.terrainY).toEqual(r.world.terrain_y);
          // Gymnasium lists terrain bodies last-made first, and Box2D keeps a polygon's hull from its
          // rightmost vertex: compare each polygon's vertex set, in the order they were made.
          const sorted = (polys: number[][][]) => polys.map((p) => p.map(([x, y]) => [f32(x), f32(y)]).sort((a, b) => a[0] - b[0] || a[1] - b[1]));
          expect(sorted(layout.obstacles)).toEqual(sorted([...r.world.terrain_polygons_float32].reverse()));
          expect(layout.clouds).toEqual(r.world.clouds);
        } else {
          expect([layout.helipadX1, layout.helipadX2, layout.helipadY]).toEqual([r.world.helipad_x1, r.world.helipad_x2, r.world.helipad_y]);
          expect(layout.terrain).toEqual(r.world.terrain_points_float64);
          const edges = r.world.moon_fixture_vertices_float32.slice(1);
          expect(edges).toEqual(layout.terrain.slice(0, -1).map((p: number[], i: number) => [p.map(f32), layout.terrain[i + 1].map(f32)]));
        }
      }
    });

    if (!walker) {
      it(`follows every recorded episode within atol 2e-4 for its first ${window} steps`, () => {
        for (const episode of [...g.episodes, ...g.heuristic_episodes]) {
          const agreement = replayEpisode(make, episode, window);
          expect(agreement.resetError).toBeLessThan(1e-5);
          expect(agreement.firstDivergence, `seed ${episode.reset_seed} ${agreement.policy}`).toBeNull();
        }
      });
    } else {
      // Measured (npm run golden -- --box2d): with Box2D 2.3.0's contact and box orders (engine-order.ts)
      // 10 of the 12 recorded walker episodes hold 2e-4 through all 30 steps the fixture keeps; the
      // two that leave do so where Box2D 2.3.0's own C++ built in double leaves Gymnasium's float32
      // build too (docs/box2d.md, "How far the rest is"): seed 10's out-of-bounds actions at step 10
      // (both configurations), hardcore seed 9 at step 13. Asserted two steps early: a regression
      // in the engine shows up as an earlier step, and before the repair every episode left at 0.
      const leaves: Record<string, number> = hardcore ? { '10 out-of-bounds': 8, '9 random': 11 } : { '10 out-of-bounds': 8 };
      it(`follows the recorded episodes within atol 2e-4 for ${window} steps, all but ${Object.keys(leaves).length}, and those for at least 8`, () => {
        for (const episode of [...g.episodes, ...g.heuristic_episodes]) {
          const agreement = replayEpisode(make, episode, window);
          const name = `${episode.reset_seed} ${agreement.policy}`;
          expect(agreement.resetError, name).toBeLessThan(1e-5);
          if (leaves[name] === undefined) expect(agreement.firstDivergence, name).toBeNull();
          else expect(agreement.firstDivergence ?? window, name).toBeGreaterThanOrEqual(leaves[name]);
        }
      });
    }

    it('snapshots by replay: a restored env continues bit for bit', () => {
      const episode = g.episodes[0];
      const env = make();
      env.npRandom = NpRandom.fromSeed(seedOf(episode.reset_seed));
      env.reset();
      for (const step of episode.steps.slice(0, 10)) env.step(step.action);
      const copy = make();
      copy.restore(JSON.parse(JSON.stringify(env.snapshot())));
      for (const step of episode.steps.slice(10, 20)) expect(copy.step(step.action)).toEqual(env.step(step.action));
    });
  });
}

describe('Box2D ids', () => {
  it('registers the current ids with their limits, and resolves the old ones', async () => {
    const expected = { 'LunarLander-v3': [1000, 200], 'LunarLanderContinuous-v3': [1000, 200], 'BipedalWalker-v3': [1600, 300], 'BipedalWalkerHardcore-v3': [2000, 300] };
    for (const [id, [limit, threshold]] of Object.entries(expected)) {
      await loadEnvFamily(id);
      const { spec, env } = makeEnv(id);
      expect([spec.maxEpisodeSteps, spec.rewardThreshold]).toEqual([limit, threshold]);
      expect(env.metadata.render_fps).toBe(50);
    }
    expect((makeEnv('LunarLanderContinuous-v3').env as LunarLanderEnv).continuous).toBe(true);
    expect((makeEnv('BipedalWalkerHardcore-v3').env as BipedalWalkerEnv).hardcore).toBe(true);
    for (const old of ['LunarLander-v2', 'LunarLanderContinuous-v2', 'BipedalWalker-v2', 'BipedalWalkerHardcore-v2']) {
      expect(canonicalEnvId(old)).toBe(old.replace('-v2', '-v3'));
    }
    expect(() => makeEnv('LunarLander-v3', { gravity: -13 })).toThrow(/gravity/);
  });

  it('blows wind from a drawn index when enable_wind is set', () => {
    const calm = new LunarLanderEnv();
    const windy = new LunarLanderEnv(lunarLanderKwargs.parse({ enable_wind: true }));
    calm.npRandom = NpRandom.fromSeed(5);
    windy.npRandom = NpRandom.fromSeed(5);
    calm.reset();
    windy.reset();
    // integers(-9999, 9999) twice after the initial force, then one step of each during reset.
    const rng = NpRandom.fromSeed(5);
    for (let i = 0; i < 14; i++) rng.random();
    expect(windy.windIdx).toBe(-9999 + rng.integers(19998) + 1);
    expect(windy.torqueIdx).toBe(-9999 + rng.integers(19998) + 1);
    expect(windy.step(0).obs).not.toEqual(calm.step(0).obs);
  });
});

describe("Gymnasium's LunarLander heuristic, ported", () => {
  for (const file of ['LunarLander-v3.json', 'LunarLander-v3__continuous_True.json']) {
    it(`chooses Gymnasium's recorded actions (${file})`, () => {
      const g = fixture(file);
      const continuous = g.make_kwargs.continuous === true;
      for (const episode of g.heuristic_episodes) {
        // The policy sees the observation just returned: Gymnasium's own, so no physics is involved.
        const observations = [episode.reset.obs, ...episode.steps.map((s: any) => s.obs)];
        const chosen = episode.steps.map((_: unknown, i: number) => landerHeuristic(observations[i], continuous));
        expect(chosen).toEqual(episode.steps.map((s: any) => s.action));
      }
    });
  }
});

describe("Gymnasium's BipedalWalker heuristic, ported", () => {
  it('chooses the recorded actions from the recorded observations (NumPy 1 arithmetic)', () => {
    const g = fixture('BipedalWalker-v3.heuristic.json');
    for (const episode of g.heuristic_episodes) {
      const walker = new WalkerHeuristic();
      expect(episode.steps[0].action).toEqual([0, 0, 0, 0]);
      for (let i = 1; i < episode.steps.length; i++) {
        expect(walker.step(episode.steps[i - 1].obs), `seed ${episode.reset_seed} step ${i}`).toEqual(episode.steps[i].action);
      }
    }
  });
});
