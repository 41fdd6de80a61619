/**
 * `npm run bench:box2d`: steps per second of each Box2D env in-process (no protocol), random actions
 * from a seeded action space, resets included (at the end of an episode or at the env's time limit,
 * as Gymnasium's TimeLimit would), median of a few rounds (per wall second and per
 * second of the process's CPU time, which a loaded machine inflates less); beside it Gymnasium's own
 * in-process figures on this kind of machine (docs/box2d.md, "Speed").
 *
 *   npm run bench:box2d -- [--seconds 2] [--rounds 3]
 */
import { Command } from 'commander';
import { loadEnvFamily, makeEnv } from '../src/envs/registry.js';
import { NpRandom } from '../src/rng/index.js';
import { table } from '../scripts/lib/format.js';

const opts = new Command('bench:box2d')
  .option('--seconds <n>', 'measured seconds per round', '2')
  .option('--rounds <n>', 'rounds per env; the median is reported', '3')
  .parse()
  .opts();

const GYMNASIUM: Record<string, string> = {
  'LunarLander-v3': '~31,000',
  'LunarLanderContinuous-v3': '~13,000',
  'BipedalWalker-v3': '~4,500',
  'BipedalWalkerHardcore-v3': '',
  'CarRacing-v3': '~170',
};

/** Steps per second of wall time, and per second of this process's CPU time (what a shared machine's load does not take away). */
function round(id: string, seconds: number): [number, number] {
  const { spec, env } = makeEnv(id);
  const limit = spec.maxEpisodeSteps ?? Infinity;
  env.actionSpace.seed(0n);
  env.npRandom = NpRandom.fromSeed(0);
  env.reset();
  let steps = 0;
  let elapsed = 0;
  const t0 = performance.now();
  const cpu0 = process.cpuUsage();
  while (performance.now() - t0 < seconds * 1000) {
    for (let k = 0; k < 50; k++) {
      const result = env.step(env.actionSpace.sample());
      steps++;
      if (result.terminated || ++elapsed >= limit) {
        env.reset();
        elapsed = 0;
      }
    }
  }
  const cpu = process.cpuUsage(cpu0);
  return [steps / ((performance.now() - t0) / 1000), steps / ((cpu.user + cpu.system) / 1e6)];
}

const rows: string[][] = [];
for (const id of Object.keys(GYMNASIUM)) {
  await loadEnvFamily(id);
  round(id, 0.3); // warm-up: JIT
  const figures = Array.from({ length: Number(opts.rounds) }, () => round(id, Number(opts.seconds)));
  const median = (k: 0 | 1) => Math.round(figures.map((f) => f[k]).sort((a, b) => a - b)[Math.floor(figures.length / 2)]).toLocaleString('en');
  rows.push([id, median(0), median(1), GYMNASIUM[id]]);
}
console.log(table(['env', 'gym-tcp steps/s (in-process)', 'per CPU second', 'Gymnasium steps/s'], rows));
