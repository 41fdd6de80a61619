/**
 * `npm run build && node dist/scripts/box2d-hash.js`: a fingerprint of the Box2D envs' trajectories,
 * for changes to the engine that must not change a single bit (the allocation-free solvers in
 * src/envs/box2d/engine*.ts: "same arithmetic, same order"). Plays fixed seeded episodes of each env
 * (random actions from the seeded action space, and Gymnasium's heuristics, which land and walk:
 * resting contacts, sleeping bodies, long contact-rich episodes) and hashes, after every step, the
 * observation, reward and flags and every dynamic body's position, angle and velocities as float64
 * bits. Prints one SHA-256 per env and one over all; compare before and after a change.
 *
 * A script, not a test: the hash legitimately changes when the engine's arithmetic does (a float32
 * port of Box2D's contact or time-of-impact code, to get nearer Gymnasium), so it pins a refactor's
 * identity, not a property of the project. Gymnasium's golden episodes (test/box2d.test.ts,
 * test/car-racing.test.ts) are what the suite asserts.
 *
 *   node dist/scripts/box2d-hash.js [--episodes 5] [--car-steps 300]
 */
import { createHash, type Hash } from 'node:crypto';
import { Command } from 'commander';
import { loadEnvFamily, makeEnv } from '../src/envs/registry.js';
import { NpRandom } from '../src/rng/index.js';
import type { Env } from '../src/envs/env.js';
import type { planck } from '../src/envs/box2d/engine.js';
import { landerHeuristic, WalkerHeuristic } from './lib/box2d-heuristics.js';

const opts = new Command('box2d-hash')
  .option('--episodes <n>', 'episodes per env and policy', '5')
  .option('--car-steps <n>', 'CarRacing steps (fixed actions, no frames drawn)', '300')
  .parse()
  .opts();
const EPISODES = Number(opts.episodes);
const CAR_STEPS = Number(opts.carSteps);

const scratch = new Float64Array(1);
const bytes = new Uint8Array(scratch.buffer);
function put(hash: Hash, x: number): void {
  scratch[0] = x;
  hash.update(bytes);
}

function putWorld(hash: Hash, world: planck.World): void {
  for (let b = world.getBodyList(); b; b = b.getNext()) {
    if (b.isStatic()) continue;
    const p = b.getPosition();
    const v = b.getLinearVelocity();
    put(hash, p.x);
    put(hash, p.y);
    put(hash, b.getAngle());
    put(hash, v.x);
    put(hash, v.y);
    put(hash, b.getAngularVelocity());
    put(hash, b.isAwake() ? 1 : 0);
  }
}

function putStep(hash: Hash, obs: ArrayLike<number>, reward: number, terminated: boolean, truncated: boolean, world: planck.World): void {
  for (let i = 0; i < obs.length; i++) put(hash, obs[i]);
  put(hash, reward);
  put(hash, terminated ? 1 : 0);
  put(hash, truncated ? 1 : 0);
  putWorld(hash, world);
}

type Policy = (obs: number[], env: Env) => unknown;

/** One seeded episode to its end (terminated or the time limit); returns its steps. */
function episode(hash: Hash, env: Env, seed: number, limit: number, policy: () => Policy, world: () => planck.World): number {
  env.npRandom = NpRandom.fromSeed(seed);
  env.actionSpace.seed(BigInt(seed));
  let { obs } = env.reset() as { obs: number[] };
  putStep(hash, obs, 0, false, false, world());
  const choose = policy();
  for (let t = 1; t <= limit; t++) {
    const result = env.step(choose(obs, env) as never) as { obs: number[]; reward: number; terminated: boolean };
    obs = result.obs;
    const truncated = t === limit;
    putStep(hash, obs, result.reward, result.terminated, truncated, world());
    if (result.terminated || truncated) return t;
  }
  return limit;
}

const sampled: () => Policy = () => (_obs, env) => env.actionSpace.sample();

const all = createHash('sha256');
const rows: string[] = [];
for (const [id, limit] of [['LunarLander-v3', 1000], ['LunarLanderContinuous-v3', 1000], ['BipedalWalker-v3', 1600], ['BipedalWalkerHardcore-v3', 2000]] as const) {
  await loadEnvFamily(id);
  const { env } = makeEnv(id);
  const hash = createHash('sha256');
  const world = () => (env as unknown as { physics: { world: planck.World } }).physics.world;
  const heuristic: () => Policy = id.startsWith('Lunar')
    ? () => (obs) => landerHeuristic(obs, id.includes('Continuous'))
    : () => {
        const walker = new WalkerHeuristic();
        let first = true;
        return (obs) => {
          if (first) {
            first = false;
            return [0, 0, 0, 0];
          }
          return walker.step(obs);
        };
      };
  let steps = 0;
  for (let seed = 0; seed < EPISODES; seed++) {
    steps += episode(hash, env, seed, limit, sampled, world);
    steps += episode(hash, env, 100 + seed, limit, heuristic, world);
  }
  const digest = hash.digest('hex');
  all.update(digest);
  rows.push(`${id.padEnd(26)} ${String(steps).padStart(6)} steps  ${digest}`);
}

{
  // CarRacing: fixed actions (accelerate, then steer both ways, brake), frames not drawn (the
  // physics is what an engine change touches; drawing reads the same body states).
  const id = 'CarRacing-v3';
  await loadEnvFamily(id);
  const { env } = makeEnv(id);
  (env as unknown as { drawFrames: boolean }).drawFrames = false;
  const world = () => (env as unknown as { race: { world: planck.World } }).race.world;
  const hash = createHash('sha256');
  const fixed: () => Policy = () => {
    let t = 0;
    return () => {
      t++;
      const phase = Math.floor(t / 25) % 4;
      return [phase === 1 ? -0.8 : phase === 3 ? 0.6 : 0, phase === 2 ? 0 : 1, phase === 2 ? 0.5 : 0];
    };
  };
  let steps = 0;
  for (const seed of [0, 1]) steps += episode(hash, env, seed, CAR_STEPS, fixed, world);
  const digest = hash.digest('hex');
  all.update(digest);
  rows.push(`${id.padEnd(26)} ${String(steps).padStart(6)} steps  ${digest}`);
}

for (const row of rows) console.log(row);
console.log(`${'all'.padEnd(40)}  ${all.digest('hex')}`);
