/**
 * `npm run bench:box2d`: steps per second of each Box2D env in-process (no protocol), random actions
 * from a seeded action space, resets included, median of a few rounds; beside it Gymnasium's own
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

function round(id: string, seconds: number): number {
  const { env } = makeEnv(id);
  env.actionSpace.seed(0n);
  env.npRandom = NpRandom.fromSeed(0);
  env.reset();
  let steps = 0;
  const t0 = performance.now();
  while (performance.now() - t0 < seconds * 1000) {
    for (let k = 0; k < 50; k++) {
      const result = env.step(env.actionSpace.sample());
      steps++;
      if (result.terminated) env.reset();
    }
  }
  return steps / ((performance.now() - t0) / 1000);
}

const rows: string[][] = [];
for (const id of Object.keys(GYMNASIUM)) {
  await loadEnvFamily(id);
  round(id, 0.3); // warm-up: JIT
  const figures = Array.from({ length: Number(opts.rounds) }, () => round(id, Number(opts.seconds))).sort((a, b) => a - b);
  rows.push([id, Math.round(figures[Math.floor(figures.length / 2)]).toLocaleString('en'), GYMNASIUM[id]]);
}
console.log(table(['env', 'gym-tcp steps/s (in-process)', 'Gymnasium steps/s'], rows));
