/**
 * `npm run build && node dist/scripts/box2d-reference.js --box2d <dir> [--double] [--dir <golden dir>]`:
 * measures gym-tcp's BipedalWalker against Box2D 2.3.0's own C++ (docs/box2d.md, "How far the rest is").
 * <dir> holds Box2D 2.3.0's `Box2D/` sources as pybox2d 2.3.10 bundles them (github.com/pybox2d/pybox2d,
 * tag 2.3.10); the script builds them with g++ -O2 into scripts/box2d-reference/walker.cpp, in float
 * (Gymnasium's engine) or with --double in double, and, for each recorded walker episode, builds the
 * world gym-tcp's reset made, steps Gymnasium's actions in both engines and prints the first step at
 * which each leaves the other or Gymnasium's recorded body states by more than 2e-4.
 */
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import { BipedalWalkerEnv } from '../src/envs/box2d/bipedal_walker.js';
import { planck } from '../src/envs/box2d/engine.js';
import { NpRandom } from '../src/rng/index.js';

const opts = new Command('box2d-reference')
  .requiredOption('--box2d <dir>', "directory holding Box2D 2.3.0's Box2D/ sources (pybox2d 2.3.10)")
  .option('--double', 'build Box2D with float32 as double (and sin/cos/sqrt in double)')
  .option('--dir <dir>', "Gymnasium's Box2D golden files", new URL('../../test/fixtures/box2d', import.meta.url).pathname)
  .option('--steps <n>', 'steps compared per episode', '200')
  .parse()
  .opts();

/** Copies the sources, switches pybox2d's Python assertions off (and float32 to double), builds. */
function build(): string {
  const work = join(tmpdir(), `gym-tcp-box2d-${opts.double ? 'double' : 'float'}`);
  const binary = join(work, 'walker');
  mkdirSync(work, { recursive: true });
  cpSync(join(opts.box2d, 'Box2D'), join(work, 'Box2D'), { recursive: true });
  const sources: string[] = [];
  const walk = (dir: string): void => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (/\.(cpp|h)$/.test(entry.name)) {
        let text = readFileSync(path, 'utf8');
        if (entry.name === 'b2Settings.h') {
          text = text.replace('#define USE_EXCEPTIONS', '');
          if (opts.double) text = text.replace('typedef float float32;', 'typedef double float32;');
        }
        // In double, float literals and the float maths functions would round back to float.
        if (opts.double) text = text.replace(/\b(\d+\.\d*)f\b/g, '$1').replace(/\b(sinf|cosf|sqrtf)\(/g, (_, fn: string) => `${fn.slice(0, -1)}(`);
        writeFileSync(path, text);
        if (entry.name.endsWith('.cpp')) sources.push(path);
      }
    }
  };
  walk(join(work, 'Box2D'));
  const harness = new URL('../../scripts/box2d-reference/walker.cpp', import.meta.url).pathname;
  execFileSync('g++', ['-O2', '-I', work, '-o', binary, harness, ...sources], { stdio: 'inherit' });
  return binary;
}

interface Episode {
  reset_seed: number;
  policy?: string;
  steps: { action: number[]; internal?: BodyStates }[];
  reset: { internal?: BodyStates };
}
interface BodyState { position: number[]; angle: number; linearVelocity: number[]; angularVelocity: number }
interface BodyStates { hull: BodyState; legs: BodyState[]; joints: { angle: number; speed: number }[] }

const flatten = (s: BodyStates): number[] => [
  ...[s.hull, ...s.legs].flatMap((b) => [...b.position, b.angle, ...b.linearVelocity, b.angularVelocity]),
  ...s.joints.flatMap((j) => [j.angle, j.speed]),
];

/** gym-tcp's states (reset, then each step) and the world file for the C++ harness. */
function runGymTcp(episode: Episode, hardcore: boolean, steps: number): { states: number[][]; world: string } {
  let push = 0;
  const applyForceToCenter = planck.Body.prototype.applyForceToCenter;
  planck.Body.prototype.applyForceToCenter = function (this: planck.Body, force: planck.Vec2Value, wake?: boolean) {
    push = force.x;
    applyForceToCenter.call(this, force, wake);
  };
  const env = new BipedalWalkerEnv({ hardcore });
  env.npRandom = NpRandom.fromSeed(episode.reset_seed);
  env.reset();
  planck.Body.prototype.applyForceToCenter = applyForceToCenter;
  const physics = env.physics!;
  const state = (): number[] => [
    ...[physics.hull, ...physics.legs].flatMap((b) => [b.getPosition().x, b.getPosition().y, b.getAngle(), b.getLinearVelocity().x, b.getLinearVelocity().y, b.getAngularVelocity()]),
    ...physics.joints.flatMap((j) => [j.getJointAngle(), j.getJointSpeed()]),
  ];
  const states = [state()];
  const actions = episode.steps.slice(0, steps).map((s) => s.action);
  for (const action of actions) {
    const { terminated } = env.step(action);
    states.push(state());
    if (terminated) break;
  }
  const { obstacles, terrainX, terrainY } = physics.layout;
  const p = (x: number) => x.toPrecision(17);
  const lines = [`push ${p(push)}`, `obstacles ${obstacles.length}`, ...obstacles.map((o) => `${o.length} ${o.flat().map(p).join(' ')}`)];
  lines.push(`terrain ${terrainX.length}`, ...terrainX.map((x, i) => `${p(x)} ${p(terrainY[i])}`));
  lines.push(`steps ${states.length - 1}`, ...actions.slice(0, states.length - 1).map((a) => a.map(p).join(' ')));
  return { states, world: lines.join('\n') + '\n' };
}

/** First step (0-based; -1 the reset) at which two state sequences differ by more than 2e-4, or null. */
function firstOff(a: (number[] | undefined)[], b: (number[] | undefined)[]): number | null {
  for (let i = 0; i < Math.min(a.length, b.length); i++) {
    const x = a[i];
    const y = b[i];
    if (x === undefined || y === undefined) continue;
    if (x.some((v, k) => Math.abs(v - y[k]) > 2e-4)) return i - 1;
  }
  return null;
}

const binary = build();
const steps = Number(opts.steps);
const worldFile = join(tmpdir(), 'gym-tcp-walker-world.txt');
for (const [file, hardcore] of [
  ['BipedalWalker-v3.nep50.json', false],
  ['BipedalWalker-v3__hardcore_True.nep50.json', true],
  ['numpy2-nep50/BipedalWalker-v3.json', false],
  ['numpy2-nep50/BipedalWalker-v3__hardcore_True.json', true],
] as const) {
  const path = join(opts.dir, file);
  if (!existsSync(path)) continue;
  const golden = JSON.parse(readFileSync(path, 'utf8')) as { episodes: Episode[]; heuristic_episodes?: Episode[] };
  console.log(`\n${file} (Box2D in ${opts.double ? 'double' : 'float'}; first step off 2e-4 in body states)`);
  console.log('  seed policy           steps  Box2D vs Gymnasium  gym-tcp vs Box2D  gym-tcp vs Gymnasium');
  for (const episode of [...golden.episodes, ...(golden.heuristic_episodes ?? [])]) {
    const ours = runGymTcp(episode, hardcore, steps);
    writeFileSync(worldFile, ours.world);
    const output = execFileSync(binary, [worldFile], { encoding: 'utf8', maxBuffer: 1 << 28 });
    const box2d = output.trim().split('\n').map((line) => line.trim().split(/\s+/).map(Number));
    const recorded = [episode.reset.internal, ...episode.steps.map((s) => s.internal)].map((s) => (s ? flatten(s) : undefined));
    const show = (n: number | null) => String(n ?? 'none').padStart(18);
    const policy = /heuristic/i.test(episode.policy ?? '') ? 'heuristic' : (episode.policy ?? '').startsWith('env.action_space') ? 'random' : 'out-of-bounds';
    console.log(`  ${String(episode.reset_seed).padStart(4)} ${policy.padEnd(14)} ${String(box2d.length - 1).padStart(6)}  ${show(firstOff(box2d, recorded))}  ${show(firstOff(ours.states, box2d)).slice(2)}  ${show(firstOff(ours.states, recorded)).slice(-20)}`);
  }
}
