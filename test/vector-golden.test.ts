// Replays every vector run Gymnasium 1.3.0 recorded (test/fixtures/vector, README there) over a real
// socket, in both encodings: sampled actions, observations, rewards, flags and infos step by step.
// Where Gymnasium reports something other than the truth (docs/vector.md, "Where gym-tcp differs"),
// the expected value is the true one, worked out here from the recorded run itself.
import { readdirSync, readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RawClient, startServer } from './helpers.js';
import { decodeBatch } from './vector-batch.js';
import type { GymTcpServer } from '../src/server/tcp-server.js';

const dir = new URL('./fixtures/vector/', import.meta.url);
const runs = readdirSync(dir).filter((f) => f.endsWith('.json') && !f.includes('step_without_reset'));
const load = (file: string): any => JSON.parse(readFileSync(new URL(file, dir), 'utf8'));

const MODES: Record<string, string> = { NextStep: 'next_step', SameStep: 'same_step', Disabled: 'disabled' };
/**
 * FrozenLake's slippery transitions: the intended move with probability 1/3, each side move with
 * (1 - 1/3) / 2, which differ in the last bit. Where Gymnasium cast the `prob` to 0, the record does
 * not say which move was taken; the true value is one of these.
 */
const SLIPPERY_PROBS = [1 / 3, (1 - 1 / 3) / 2];

/** The base64 batch of actions of one sub-env each (int64 for Discrete, float32 for Box). */
function base64Actions(actions: any[]): object {
  if (typeof actions[0] === 'number') {
    const b = Buffer.alloc(actions.length * 8);
    actions.forEach((a, i) => b.writeBigInt64LE(BigInt(a), i * 8));
    return { dtype: 'int64', shape: [actions.length], data: b.toString('base64') };
  }
  const size = actions[0].length;
  const b = Buffer.alloc(actions.length * size * 4);
  actions.flat().forEach((a: number, i: number) => b.writeFloatLE(a, i * 4));
  return { dtype: 'float32', shape: [actions.length, size], data: b.toString('base64') };
}

/** Float32 ulps between two values (observations are float32). */
function ulps(a: number, b: number): number {
  if (a === b) return 0;
  return Math.abs(a - b) / (Math.max(Math.abs(a), Math.abs(b), 1e-30) * 2 ** -23);
}

interface Tally {
  values: number;
  exact: number;
  maxUlps: number;
  maxDiff: number;
}

/** Compares observations, flattened; floats may differ in their last bits where V8's sin/cos differ from glibc's. */
function compareObs(got: any[], want: any[], where: string, tally: Tally, failures: string[], tolerance = 1e-6): void {
  const g = got.flat(2) as number[];
  const w = want.flat(2) as number[];
  if (g.length !== w.length) return void failures.push(`${where}: ${g.length} values, want ${w.length}`);
  for (let k = 0; k < g.length; k++) {
    tally.values += 1;
    if (g[k] === w[k]) tally.exact += 1;
    else {
      const u = ulps(g[k], w[k]);
      tally.maxUlps = Math.max(tally.maxUlps, u);
      tally.maxDiff = Math.max(tally.maxDiff, Math.abs(g[k] - w[k]));
      if (!(u <= MAX_OBS_ULPS) && Math.abs(g[k] - w[k]) > tolerance * Math.max(1, Math.abs(w[k]))) failures.push(`${where}[${k}]: ${g[k]} vs ${w[k]} (${u.toFixed(1)} ulps)`);
    }
  }
}
const MAX_OBS_ULPS = 8;

/**
 * Rewards exactly, except Pendulum's: these runs were recorded with NumPy 1.24's legacy type
 * promotion (`numpy_promotion_state` in each file), where `u**2` of a float32 torque is computed
 * differently from NumPy 2 (NEP 50), which Gymnasium's current installs and gym-tcp's Pendulum follow
 * (docs/architecture.md, "Exactness against Gymnasium"). The state is then float64 in one and
 * float32 in the other: they agree to ~1e-12 on the first step and drift apart slowly (at most
 * LEGACY_TOLERANCE relative, or absolute below 1, over these 205 steps). Pendulum observations are
 * compared with the same tolerance; the single env's own golden files, recorded with NEP 50,
 * hold it to a few ulps.
 */
const LEGACY_TOLERANCE = 1e-4;
function compareRewards(got: number[], want: number[], where: string, run: any, failures: string[]): void {
  const legacy = run.env_id === 'Pendulum-v1' && run.numpy_promotion_state === 'legacy';
  got.forEach((g, i) => {
    if (g === want[i] || (legacy && Math.abs(g - want[i]) <= LEGACY_TOLERANCE * Math.max(1, Math.abs(want[i])))) return;
    failures.push(`${where}[${i}]: ${g}, want ${want[i]}`);
  });
}

/** Stands for either slippery transition probability (see SLIPPERY_PROBS). */
const SLIPPERY = 'one of the slippery transition probabilities';
const sameValue = (got: unknown, want: unknown): boolean =>
  want === SLIPPERY ? SLIPPERY_PROBS.includes(got as number) : Array.isArray(want) ? Array.isArray(got) && got.length === want.length && want.every((w, i) => sameValue(got[i], w)) : got === want;

/** Infos: Gymnasium's layout and values, with final_obs compared as observations. */
function compareInfos(got: any, want: any, where: string, tally: Tally, failures: string[], tolerance = 1e-6): void {
  expectSameKeys(got, want, where, failures);
  for (const key of Object.keys(want)) {
    if (key === 'final_obs') {
      want[key].forEach((o: any, i: number) => {
        if (o === null) {
          if (got[key][i] !== null) failures.push(`${where}.final_obs[${i}]: ${JSON.stringify(got[key][i])}, want null`);
        } else compareObs([got[key][i]], [o], `${where}.final_obs[${i}]`, tally, failures, tolerance);
      });
    } else if (key !== 'episode' && !sameValue(got[key], want[key])) {
      if (typeof want[key] === 'object' && want[key] !== null && !Array.isArray(want[key])) compareInfos(got[key], want[key], `${where}.${key}`, tally, failures, tolerance);
      else failures.push(`${where}.${key}: ${JSON.stringify(got[key])}, want ${JSON.stringify(want[key])}`);
    }
  }
}

function expectSameKeys(got: any, want: any, where: string, failures: string[]): void {
  const g = Object.keys(got ?? {}).join(',');
  const w = Object.keys(want ?? {}).join(',');
  if (g !== w) failures.push(`${where}: keys ${g}, want ${w} (Gymnasium's order)`);
}

/**
 * Gymnasium's infos with the true values put back where it reports others: FrozenLake's `prob` of
 * a stepped sub-env is 1/3 even where the array took the int64 dtype of a reset sub-env's `prob: 1`.
 */
function trueInfos(infos: any, dtypes: any, resetNow: boolean[], path = ''): any {
  const out: any = {};
  for (const [key, value] of Object.entries(infos)) {
    const full = path ? `${path}.${key}` : key;
    if (key === 'prob' && String(dtypes?.[full]).startsWith('int64')) {
      const mask = infos._prob as boolean[];
      out[key] = (value as number[]).map((v, i) => (mask[i] && !resetNow[i] ? SLIPPERY : v));
    } else if (value !== null && typeof value === 'object' && !Array.isArray(value) && key !== 'episode') {
      out[key] = trueInfos(value, dtypes, new Array(resetNow.length).fill(false), full);
    } else out[key] = value;
  }
  return out;
}

/**
 * Every run is replayed twice: each vector env on one worker thread, and split over both workers in
 * shards of at least one sub-env (docs/vector.md, "Shards"), whose parts the main thread joins.
 */
const servers: Record<string, GymTcpServer> = {};
beforeAll(async () => {
  servers.whole = await startServer({ vectorShardSize: 0 });
  servers.split = await startServer({ vectorShardSize: 1 });
});
afterAll(async () => {
  await Promise.all(Object.values(servers).map((s) => s.close()));
});

describe.each(runs.flatMap((file) => ['whole', 'split'].map((layout) => [file, layout])))('%s (%s)', (file, layout) => {
  const server = { address: () => servers[layout].address() } as GymTcpServer;
  const run = load(file);
  const mode = MODES[run.autoreset_mode_value];
  const n = run.num_envs;
  const withStats = run.wrapped_in !== null;
  const resetSeed = Number(/seed=(\d+)/.exec(run.reset.call)![1]);

  it.each(['json', 'base64'])('replays over TCP with %s batches', async (encoding) => {
    const c = await RawClient.connect(server);
    const made = await c.ask(JSON.stringify({ vector: { make: { name: run.env_id, num_envs: n, kwargs: run.make_kwargs ?? {}, autoreset: mode, encoding } } }));
    expect(made).toMatchObject({ num_envs: n, autoreset: mode, encoding });
    if (withStats) c.send('{"record_episode_stats":{"action": "start"}}\r\n');
    const failures: string[] = [];
    const tally: Tally = { values: 0, exact: 0, maxUlps: 0, maxDiff: 0 };
    const obsTolerance = run.env_id === 'Pendulum-v1' && run.numpy_promotion_state === 'legacy' ? LEGACY_TOLERANCE : 1e-6;

    const reset = await c.ask(JSON.stringify({ vector: { reset: { seed: String(resetSeed) } } }));
    compareObs(decodeBatch(reset.observations), run.reset.obs, 'reset.obs', tally, failures);
    compareInfos(reset.infos, run.reset.infos, 'reset.infos', tally, failures);
    c.send(JSON.stringify({ vector: { seed: String(run.action_space_seed.returned) } }) + '\r\n');

    // The true episode statistics, from the recorded rewards and flags alone.
    const ret = new Array<number>(n).fill(0);
    const len = new Array<number>(n).fill(0);
    let prevDone = new Array<boolean>(n).fill(false);
    let episodesChecked = 0;
    for (const step of run.steps) {
      const at = `t=${step.t}`;
      const sampled = decodeBatch((await c.ask('{"vector":{"sample":{}}}')).actions);
      if (JSON.stringify(sampled) !== JSON.stringify(step.actions)) failures.push(`${at}: sampled ${JSON.stringify(sampled)}, want ${JSON.stringify(step.actions)}`);
      const actions = encoding === 'base64' ? base64Actions(step.actions) : step.actions;
      const r = await c.ask(JSON.stringify({ vector: { step: { actions } } }));
      if (r.error) throw new Error(`${at}: ${JSON.stringify(r.error)}`);
      compareObs(decodeBatch(r.observations), step.obs, `${at} obs`, tally, failures, obsTolerance);
      compareRewards(decodeBatch(r.rewards), step.rewards, `${at} rewards`, run, failures);
      expect(decodeBatch(r.terminations), `${at} terminations`).toEqual(step.terminations);
      expect(decodeBatch(r.truncations), `${at} truncations`).toEqual(step.truncations);

      const done = step.terminations.map((t: boolean, i: number) => t || step.truncations[i]);
      const resetNow = mode === 'next_step' ? prevDone : mode === 'same_step' ? done : new Array(n).fill(false);
      compareInfos(r.infos, trueInfos(step.infos, step.infos_dtypes, resetNow), `${at} infos`, tally, failures, obsTolerance);

      for (let i = 0; i < n; i++) {
        if (mode === 'next_step' && prevDone[i]) continue; // the autoreset step: no step of an episode
        ret[i] += step.rewards[i];
        len[i] += 1;
      }
      if (withStats && done.some(Boolean)) {
        const ep = r.infos.episode;
        expect(r.infos._episode, `${at} _episode`).toEqual(done);
        for (let i = 0; i < n; i++) {
          if (!done[i]) {
            expect([ep.r[i], ep.l[i], ep.t[i]]).toEqual([0, 0, 0]);
            continue;
          }
          expect([ep.r[i], ep.l[i]], `${at} episode of sub-env ${i}`).toEqual([ret[i], len[i]]);
          expect(ep.t[i]).toBeGreaterThanOrEqual(0);
          // In next_step mode Gymnasium's own figures are the true ones.
          if (mode === 'next_step') expect([step.infos.episode.r[i], step.infos.episode.l[i]]).toEqual([ret[i], len[i]]);
          episodesChecked += 1;
        }
      } else if (withStats) {
        expect(r.infos.episode).toBeUndefined();
      }
      for (let i = 0; i < n; i++) if (done[i]) ret[i] = len[i] = 0;
      prevDone = done;

      if (step.reset_call) {
        const rr = await c.ask(JSON.stringify({ vector: { reset: { mask: step.reset_call.reset_mask } } }));
        compareObs(decodeBatch(rr.observations), step.reset_call.obs, `${at} masked reset obs`, tally, failures, obsTolerance);
        compareInfos(rr.infos, step.reset_call.infos, `${at} masked reset infos`, tally, failures);
      }
    }
    if (withStats) expect(episodesChecked).toBeGreaterThan(10);
    expect(failures.slice(0, 10)).toEqual([]);
    // Bit for bit where the single env is: integer observations always, floats but for sin/cos's last bits.
    if (run.env_id === 'FrozenLake-v1') expect(tally.exact).toBe(tally.values);
    else if (run.env_id === 'CartPole-v1') expect(tally.exact / tally.values).toBeGreaterThan(0.9);
    console.log(`${file} ${encoding}: ${tally.exact}/${tally.values} observation values exact, max ${tally.maxUlps.toFixed(1)} ulps, max difference ${tally.maxDiff.toExponential(2)}`);
    await c.end();
  });
});

describe.each(['whole', 'split'])('disabled autoreset (%s)', (layout) => {
  const server = { address: () => servers[layout].address() } as GymTcpServer;
  it('refuses to step a finished sub-env without a masked reset, as Gymnasium does, and changes no sub-env', async () => {
    const g = load('CartPole-v1__N8__Disabled__step_without_reset.json');
    const run = load('CartPole-v1__N8__Disabled.json');
    const c = await RawClient.connect(server);
    await c.ask(JSON.stringify({ vector: { make: { name: 'CartPole-v1', num_envs: 8, autoreset: 'disabled' } } }));
    await c.ask('{"vector":{"reset":{"seed": "0"}}}');
    for (const step of run.steps.slice(0, g.first_done_step)) await c.ask(JSON.stringify({ vector: { step: { actions: step.actions } } }));
    const ended = g.dones_at_that_step.indexOf(true);
    const refused = await c.ask(JSON.stringify({ vector: { step: { actions: new Array(8).fill(0) } } }));
    expect(refused.error.code).toBe('RESET_NEEDED');
    expect(refused.error.message).toContain(`sub-env ${ended}`);
    // Nothing moved: the masked reset and the recorded next step still match.
    const next = run.steps[g.first_done_step - 1];
    const rr = await c.ask(JSON.stringify({ vector: { reset: { mask: next.reset_call.reset_mask } } }));
    expect(rr.observations).toEqual(next.reset_call.obs);
    const after = await c.ask(JSON.stringify({ vector: { step: { actions: run.steps[g.first_done_step].actions } } }));
    expect(after.observations).toEqual(run.steps[g.first_done_step].obs);
    await c.end();
  });
});
