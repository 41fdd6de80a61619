/**
 * `npm run bench:frames`: what a frame costs, on one thread (an env worker draws its env's frames on
 * its own thread). For each classic-control and Box2D env: drawing the `rgb_array` frame, the whole `render`
 * reply as a session builds it (frame, base64, JSON), and encoding the frame as PNG (what a page of
 * frames or gym-server's `rendered/` serves). States come from a seeded random episode, so the shapes
 * drawn vary as they do in use. Figures are printed, not asserted.
 *
 *   npm run bench:frames -- [--ms 400] [--ndjson]
 */
import { performance } from 'node:perf_hooks';
import { Command } from 'commander';
import ndjson from 'ndjson';
import type { RgbFrame } from '../src/envs/env.js';
import { loadEnvSpecs, makeEnv } from '../src/envs/registry.js';
import { EnvRunner } from '../src/envs/runner.js';
import { Session } from '../src/protocol/session.js';
import { encodePng } from '../src/render/png.js';
import { fmt, table } from '../scripts/lib/format.js';

const opts = new Command('bench:frames')
  .option('--ms <n>', 'measured milliseconds per figure', '400')
  .option('--ndjson', 'also print every result as a JSON line')
  .parse()
  .opts();
const budgetMs = Number(opts.ms);

await loadEnvSpecs();

/**
 * Microseconds per call of `fn(i)` after a warm-up, over about `budgetMs`: wall time, and the
 * process's CPU time (on a shared machine the wall figure includes waiting for a core; the CPU figure
 * does not, GC threads included).
 */
function microsPerCall(fn: (i: number) => void): { wall: number; cpu: number } {
  for (let i = 0; i < 200; i++) fn(i);
  let calls = 0;
  const start = performance.now();
  const cpuStart = process.cpuUsage();
  let elapsed = 0;
  while (elapsed < budgetMs) {
    for (let k = 0; k < 10; k++) fn(calls++);
    elapsed = performance.now() - start;
  }
  const cpu = process.cpuUsage(cpuStart);
  return { wall: (elapsed * 1000) / calls, cpu: (cpu.user + cpu.system) / calls };
}

const us = (m: { wall: number; cpu: number }) => `${m.cpu.toFixed(0)} (${m.wall.toFixed(0)})`;

/** 64 snapshots of a seeded random episode (reset again whenever it ends). */
function statesOf(id: string): unknown[] {
  const { spec, env } = makeEnv(id);
  const runner = new EnvRunner(spec, env);
  runner.seed(7n);
  runner.reset();
  const states: unknown[] = [];
  while (states.length < 64) {
    const r = runner.step(runner.sampleAction());
    if (r.terminated || r.truncated) runner.reset();
    states.push(env.snapshot());
  }
  return states;
}

const ENVS = ['CartPole-v1', 'MountainCar-v0', 'MountainCarContinuous-v0', 'Pendulum-v1', 'Acrobot-v1', 'LunarLander-v3', 'BipedalWalker-v3'];
/** Envs whose snapshot replays the episode (a physics world): their frames are drawn from one state, not 64. */
const REPLAYED = new Set(['LunarLander-v3', 'BipedalWalker-v3']);
const rows: (string | number)[][] = [];
const serializer = opts.ndjson ? ndjson.stringify() : null;
serializer?.pipe(process.stdout);

for (const id of ENVS) {
  const states = statesOf(id);
  const { env } = makeEnv(id);
  const at = REPLAYED.has(id) ? () => {} : (i: number) => env.restore(states[i % states.length]);
  if (REPLAYED.has(id)) env.restore(states[states.length - 1]);
  const draw = microsPerCall((i) => {
    at(i);
    env.render('rgb_array');
  });

  // The reply a client gets: a session with the env, stepped, asked to render.
  const session = new Session({ urlBase: 'http://bench', compression: 0, lastInstance: null, lost: false });
  session.handle(JSON.stringify({ env: { name: id } }));
  session.handle('{"env":{"seed": "7"}}');
  session.handle('{"env":{"action": "reset"}}');
  const replyBytes = session.handle('{"env":{"action": "render"}}').reply!.json.length;
  const reply = microsPerCall(() => session.handle('{"env":{"action": "render"}}'));

  const frames: RgbFrame[] = states.slice(0, 16).map((s) => {
    if (!REPLAYED.has(id)) env.restore(s);
    const f = env.render('rgb_array') as RgbFrame;
    return { width: f.width, height: f.height, data: f.data.slice() };
  });
  const png = (level: number) => {
    let bytes = 0;
    const cost = microsPerCall((i) => {
      const f = frames[i % frames.length];
      bytes = encodePng({ width: f.width, height: f.height, channels: 3, data: f.data }, level).length;
    });
    return { cost, bytes };
  };
  const fast = png(1);
  const standard = png(6);
  const { width, height } = frames[0];
  rows.push([id, `${width}×${height}`, us(draw), us(reply), fmt(replyBytes), us(fast.cost), fmt(fast.bytes), us(standard.cost), fmt(standard.bytes)]);
  serializer?.write({ bench: 'frames', env: id, width, height, draw, reply, replyBytes, png1: fast.cost, png1Bytes: fast.bytes, png6: standard.cost, png6Bytes: standard.bytes });
}
serializer?.end();

console.log(`Frames on one thread: CPU µs per frame (wall µs in brackets); ${budgetMs} ms per figure; node ${process.version}\n`);
console.log(
  table(['env', 'size', 'draw µs', 'render reply µs', 'reply bytes', 'PNG z1 µs', 'PNG z1 bytes', 'PNG z6 µs', 'PNG z6 bytes'], rows),
);
