/**
 * `npm run golden -- --box2d [--dir DIR]`: replays Gymnasium's recorded Box2D episodes on gym-tcp's
 * envs and prints, per episode, the reset observation's error, the largest observation error over
 * the first 50 (LunarLander) or 30 (BipedalWalker) steps, and the step at which the trajectory first
 * leaves atol 2e-4. DIR holds Gymnasium's golden files (default: the trimmed copies in
 * test/fixtures/box2d; the full recordings have more steps).
 *
 * CarRacing: per reset seed the track against Gymnasium's (tile count, largest point difference);
 * per episode whether every reward, `terminated` and `info` is Gymnasium's, the first recorded step
 * whose body state leaves 2e-4, and the pixels (largest per-channel mean difference; on the frames
 * recorded raw, the mean |difference| per byte and the share of bytes within 16 levels).
 *
 * With `--behaviour`, it also plays whole episodes over many seeds, over the protocol (a `gym-tcp
 * serve` child process, two connections, a fresh env per episode as Gymnasium's figures were made,
 * the server's own time limits) and prints their returns beside Gymnasium's
 * (box2d_behaviour.json): Gymnasium's LunarLander heuristic over seeds 0..49 and the random policy
 * over seeds 0..99; `--walker` adds BipedalWalker's: the heuristic over 0..19 and random episodes
 * over 0..99 (slow: ~600-1600 steps each).
 */
import { readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { Command } from 'commander';
import { replayEpisode, type GoldenBox2DEpisode } from './lib/box2d-golden.js';
import { LunarLanderEnv, lunarLanderKwargs } from '../src/envs/box2d/lunar_lander.js';
import { BipedalWalkerEnv } from '../src/envs/box2d/bipedal_walker.js';
import type { Env } from '../src/envs/env.js';
import { NpRandom } from '../src/rng/index.js';
import { WalkerHeuristic, landerHeuristic } from './lib/box2d-heuristics.js';
import { playOverTcp, type Policy } from './lib/tcp-episodes.js';
import { spawnServer } from './lib/spawn.js';
import { makeCarRacing, replayCarEpisode, trackError, type GoldenCarEpisode } from './lib/car-racing-golden.js';

const opts = new Command('golden')
  .option('--box2d', 'the Box2D envs (the only set this script reports)', true)
  .option('--behaviour', 'also play whole episodes over many seeds and compare returns with Gymnasium')
  .option('--walker', "with --behaviour, BipedalWalker's random episodes too (slow)")
  .option('--dir <dir>', "directory of Gymnasium's Box2D golden files", new URL('../../test/fixtures/box2d', import.meta.url).pathname)
  .parse()
  .opts();

/** Each file under its name in test/fixtures/box2d, then under its name in Gymnasium's full set. */
const configs: { files: string[]; window: number; make: () => Env }[] = [
  { files: ['LunarLander-v3.json'], window: 50, make: () => new LunarLanderEnv() },
  { files: ['LunarLander-v3__continuous_True.json'], window: 50, make: () => new LunarLanderEnv(lunarLanderKwargs.parse({ continuous: true })) },
  { files: ['BipedalWalker-v3.nep50.json', 'numpy2-nep50/BipedalWalker-v3.json'], window: 30, make: () => new BipedalWalkerEnv({ hardcore: false }) },
  {
    files: ['BipedalWalker-v3__hardcore_True.nep50.json', 'numpy2-nep50/BipedalWalker-v3__hardcore_True.json'],
    window: 30,
    make: () => new BipedalWalkerEnv({ hardcore: true }),
  },
];

const e = (x: number) => x.toExponential(1);
for (const { files, window, make } of configs) {
  const file = files.find((name) => existsSync(join(opts.dir, name)));
  if (file === undefined) {
    console.log(`${files[0]}: not in ${opts.dir}`);
    continue;
  }
  const path = join(opts.dir, file);
  const golden = JSON.parse(readFileSync(path, 'utf8')) as { episodes: GoldenBox2DEpisode[]; heuristic_episodes?: GoldenBox2DEpisode[] };
  console.log(`\n${file}`);
  console.log('  seed policy     steps  reset err  max err (first N)  first step off 2e-4  reward err before');
  for (const episode of [...golden.episodes, ...(golden.heuristic_episodes ?? [])]) {
    const r = replayEpisode(make, episode, window);
    const off = r.firstDivergence === null ? `none (of ${r.length})` : `${r.firstDivergence}`;
    console.log(
      `  ${String(r.seed).padStart(4)} ${r.policy.padEnd(13)} ${String(r.length).padStart(5)}  ${e(r.resetError).padStart(9)}  ${(e(r.maxErrorInWindow) + ` (${window})`).padStart(17)}  ${off.padStart(19)}  ${e(r.maxRewardError).padStart(8)}`,
    );
  }
}

const carFile = join(opts.dir, 'CarRacing-v3.json');
if (existsSync(carFile)) {
  const g = JSON.parse(readFileSync(carFile, 'utf8').replace(/"(seed|reset_seed)":\s*(\d{16,})/g, '"$1":"$2"'));
  console.log('\nCarRacing-v3.json');
  console.log('  reset seed            tiles (Gymnasium)  track calls  largest track point difference');
  for (const r of [...g.reset_by_seed, g.track_retry_reset]) {
    const env = makeCarRacing();
    env.npRandom = NpRandom.fromSeed(BigInt(r.seed));
    env.reset();
    const race = env.race!;
    const err = r.world.track_alpha_beta_x_y ? e(trackError(race, r.world)) : '(not in file)';
    console.log(`  ${String(r.seed).padEnd(20)}  ${`${race.track.length} (${r.world.n_tiles})`.padStart(17)}  ${`${race.createTrackCalls} (${r.world.create_track_calls})`.padStart(11)}  ${err}`);
  }
  console.log('  seed policy          steps  outcomes (reward, end, info)  first body step off 2e-4  channel mean err  raw frames: mean |d|, within 16');
  for (const episode of [...g.episodes, ...g.controlled_episodes] as GoldenCarEpisode[]) {
    const r = replayCarEpisode(episode);
    const outcome = r.firstOutcomeDifference === null ? 'all equal' : `differ from step ${r.firstOutcomeDifference}`;
    const body = r.firstBodyDivergence === null ? `none (of ${r.ourLength})` : String(r.firstBodyDivergence);
    const raw = r.rawFrames.map((f) => `${f.meanAbs.toFixed(2)}, ${(f.within16 * 100).toFixed(1)}%`).join('; ');
    console.log(`  ${r.seed.padStart(4)} ${r.label.padEnd(14)} ${String(r.ourLength).padStart(5)}  ${outcome.padEnd(28)}  ${body.padStart(24)}  ${r.maxChannelMeanError.toFixed(2).padStart(16)}  ${raw}`);
  }
}

interface BehaviourRecord {
  env_id: string;
  make_kwargs: Record<string, unknown>;
  n: number;
  mean: number;
  std_ddof1: number;
  returns: number[];
}

function describeReturns(label: string, returns: number[], gymnasium: BehaviourRecord | undefined): void {
  const n = returns.length;
  const mean = returns.reduce((a, b) => a + b, 0) / n;
  const sd = Math.sqrt(returns.reduce((a, b) => a + (b - mean) ** 2, 0) / (n - 1));
  const atLeast200 = returns.filter((r) => r >= 200).length;
  let line = `  ${label.padEnd(44)} mean ${mean.toFixed(1).padStart(7)} (sd ${sd.toFixed(1)}, ${atLeast200}/${n} >= 200)`;
  if (gymnasium) {
    const g200 = gymnasium.returns.filter((r) => r >= 200).length;
    const se = Math.sqrt(sd ** 2 / n + gymnasium.std_ddof1 ** 2 / gymnasium.n);
    line += `   Gymnasium ${gymnasium.mean.toFixed(1).padStart(7)} (sd ${gymnasium.std_ddof1.toFixed(1)}, ${g200}/${gymnasium.n} >= 200)   difference ${((mean - gymnasium.mean) / se).toFixed(2)} standard errors, ${(((mean - gymnasium.mean) / Math.abs(gymnasium.mean)) * 100).toFixed(1)}%`;
  }
  console.log(line);
}

if (opts.behaviour) {
  const path = join(opts.dir, 'box2d_behaviour.json');
  const gymnasium = existsSync(path) ? (JSON.parse(readFileSync(path, 'utf8')) as { heuristic: BehaviourRecord[]; random: BehaviourRecord[] }) : null;
  const find = (kind: 'heuristic' | 'random', id: string, kwargs: Record<string, unknown>) =>
    gymnasium?.[kind].find((r) => r.env_id === id && JSON.stringify(r.make_kwargs) === JSON.stringify(kwargs));
  console.log('\nbehaviour (whole episodes over TCP, fresh env each)');
  const t0 = performance.now();
  const server = await spawnServer();
  const play = (id: string, kwargs: Record<string, unknown>, seeds: number, newPolicy: () => Policy, blindStart = false) =>
    playOverTcp({ port: server.port, id, kwargs, seeds, newPolicy, blindStart });
  // The server answers `sample` from the action space that `seed` seeded: Gymnasium's action_space.sample().
  const random: () => Policy = () => (_obs, client) => client.sample();
  try {
    for (const continuous of [false, true]) {
      const kwargs = continuous ? { continuous: true } : {};
      const heuristic = await play('LunarLander-v3', kwargs, 50, () => (obs) => landerHeuristic(obs!, continuous));
      describeReturns(`LunarLander${continuous ? ' continuous' : ''} heuristic, seeds 0..49`, heuristic, find('heuristic', 'LunarLander-v3', kwargs));
      const randomReturns = await play('LunarLander-v3', kwargs, 100, random);
      describeReturns(`LunarLander${continuous ? ' continuous' : ''} random, seeds 0..99`, randomReturns, find('random', 'LunarLander-v3', kwargs));
    }
    if (opts.walker) {
      for (const hardcore of [false, true]) {
        const kwargs = hardcore ? { hardcore: true } : {};
        // As bipedal_walker.py's __main__: [0, 0, 0, 0] first, the reset observation unused.
        const heuristic = await play('BipedalWalker-v3', kwargs, 20, () => {
          const walker = new WalkerHeuristic();
          return (obs) => (obs === null ? [0, 0, 0, 0] : walker.step(obs));
        }, true);
        describeReturns(`BipedalWalker${hardcore ? ' hardcore' : ''} heuristic, seeds 0..19`, heuristic, find('heuristic', 'BipedalWalker-v3', kwargs));
        const randomReturns = await play('BipedalWalker-v3', kwargs, 100, random);
        describeReturns(`BipedalWalker${hardcore ? ' hardcore' : ''} random, seeds 0..99`, randomReturns, find('random', 'BipedalWalker-v3', kwargs));
      }
    }
  } finally {
    await server.stop();
  }
  console.log(`  (${((performance.now() - t0) / 1000).toFixed(0)} s)`);
}
