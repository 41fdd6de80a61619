/**
 * `npm run bench:car-racing`: CarRacing-v3's step cost, in-process, per second of this process's CPU
 * time (what a shared machine's load takes away least), split where the picture differs: the first
 * second after a reset (the view zooms in over the whole track) and after it (zoomed in, the steps
 * an agent spends most of its time in). Fixed seeds and actions, so it also prints a hash of every
 * observation and of an `rgb_array` frame every 50 steps: a faster frame must leave it unchanged.
 *
 *   npm run bench:car-racing -- [--seeds 4] [--steps 260]
 */
import { createHash } from 'node:crypto';
import { Command } from 'commander';
import { loadEnvFamily, makeEnv } from '../src/envs/registry.js';
import type { CarRacingEnv } from '../src/envs/box2d/car_racing.js';
import { NpRandom } from '../src/rng/index.js';
import { table } from '../scripts/lib/format.js';

const opts = new Command('bench:car-racing')
  .option('--seeds <n>', 'episodes measured (seeds 2, 3, …); the median is reported', '4')
  .option('--steps <n>', 'steps per episode (the first 50 are the zoom)', '260')
  .parse()
  .opts();

const ZOOM_STEPS = 50;
/** Steering that weaves, gas with pauses, some braking: skid marks and both kinds of frame. */
const action = (i: number): number[] => [Math.sin(i / 17) * 0.6, i % 40 < 30 ? 0.7 : 0, i % 40 >= 36 ? 0.5 : 0];

await loadEnvFamily('CarRacing-v3');
const hash = createHash('sha256');
const zooming: number[] = [];
const zoomedIn: number[] = [];
const cpuMs = (from: NodeJS.CpuUsage): number => {
  const c = process.cpuUsage(from);
  return (c.user + c.system) / 1000;
};
for (let s = 0; s < Number(opts.seeds); s++) {
  const env = makeEnv('CarRacing-v3').env as CarRacingEnv;
  env.npRandom = NpRandom.fromSeed(2 + s);
  hash.update(env.reset().obs as unknown as Uint8Array);
  let first = 0;
  let rest = 0;
  let restSteps = 0;
  for (let i = 0; i < Number(opts.steps); i++) {
    const c0 = process.cpuUsage();
    const r = env.step(action(i));
    const ms = cpuMs(c0);
    if (i < ZOOM_STEPS) first += ms;
    else {
      rest += ms;
      restSteps++;
    }
    hash.update(r.obs as unknown as Uint8Array);
    if (i % 50 === 49) hash.update((env.render('rgb_array') as { data: Uint8Array }).data);
    if (r.terminated) break;
  }
  zooming.push((ZOOM_STEPS * 1000) / first);
  if (restSteps > 0) zoomedIn.push((restSteps * 1000) / rest);
}
const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? Math.round(s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2) : NaN;
};
console.log(
  table(
    ['CarRacing-v3 steps', 'steps per CPU second (median of seeds)', 'ms CPU per step'],
    [
      ['first second (zooming in)', String(median(zooming)), (1000 / median(zooming)).toFixed(2)],
      ['after it (zoomed in)', String(median(zoomedIn)), (1000 / median(zoomedIn)).toFixed(2)],
    ],
  ),
);
console.log(`observation hash (seeds 2..${1 + Number(opts.seeds)}, ${opts.steps} steps): ${hash.digest('hex').slice(0, 16)}`);
