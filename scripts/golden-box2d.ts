/**
 * `npm run golden -- --box2d [--dir DIR]`: replays Gymnasium's recorded Box2D episodes on gym-tcp's
 * envs and prints, per episode, the reset observation's error, the largest observation error over
 * the first 50 (LunarLander) or 30 (BipedalWalker) steps, and the step at which the trajectory first
 * leaves atol 2e-4. DIR holds Gymnasium's golden files (default: the trimmed copies in
 * test/fixtures/box2d; the full recordings have more steps).
 */
import { readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { Command } from 'commander';
import { replayEpisode, type GoldenBox2DEpisode } from './lib/box2d-golden.js';
import { LunarLanderEnv, lunarLanderKwargs } from '../src/envs/box2d/lunar_lander.js';
import { BipedalWalkerEnv } from '../src/envs/box2d/bipedal_walker.js';
import type { Env } from '../src/envs/env.js';

const opts = new Command('golden')
  .option('--box2d', 'the Box2D envs (the only set this script reports)', true)
  .option('--dir <dir>', "directory of Gymnasium's Box2D golden files", new URL('../../test/fixtures/box2d', import.meta.url).pathname)
  .parse()
  .opts();

const configs: { file: string; window: number; make: () => Env }[] = [
  { file: 'LunarLander-v3.json', window: 50, make: () => new LunarLanderEnv() },
  { file: 'LunarLander-v3__continuous_True.json', window: 50, make: () => new LunarLanderEnv(lunarLanderKwargs.parse({ continuous: true })) },
  { file: 'numpy2-nep50/BipedalWalker-v3.json', window: 30, make: () => new BipedalWalkerEnv({ hardcore: false }) },
  { file: 'numpy2-nep50/BipedalWalker-v3__hardcore_True.json', window: 30, make: () => new BipedalWalkerEnv({ hardcore: true }) },
];

const e = (x: number) => x.toExponential(1);
for (const { file, window, make } of configs) {
  const path = join(opts.dir, file);
  if (!existsSync(path)) {
    console.log(`${file}: not in ${opts.dir}`);
    continue;
  }
  const golden = JSON.parse(readFileSync(path, 'utf8')) as { episodes: GoldenBox2DEpisode[]; heuristic_episodes?: GoldenBox2DEpisode[] };
  console.log(`\n${file}`);
  console.log('  seed policy     steps  reset err  max err (first N)  first step off 2e-4  reward err before');
  for (const episode of [...golden.episodes, ...(golden.heuristic_episodes ?? [])]) {
    const t0 = performance.now();
    const r = replayEpisode(make, episode, window);
    const ms = performance.now() - t0;
    const off = r.firstDivergence === null ? `none (of ${r.length})` : `${r.firstDivergence}`;
    console.log(
      `  ${String(r.seed).padStart(4)} ${r.policy.padEnd(10)} ${String(r.length).padStart(5)}  ${e(r.resetError).padStart(9)}  ${(e(r.maxErrorInWindow) + ` (${window})`).padStart(17)}  ${off.padStart(19)}  ${e(r.maxRewardError).padStart(8)}   ${(ms / Math.max(1, r.length) * 1000).toFixed(0)} µs/step`,
    );
  }
}
