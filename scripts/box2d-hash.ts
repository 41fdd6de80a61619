/**
 * `npm run build && node dist/scripts/box2d-hash.js`: a fingerprint of the Box2D envs' trajectories,
 * for changes to the engine that must not change a single bit (the allocation-free solvers in
 * src/envs/box2d/engine*.ts: "same arithmetic, same order"). Plays fixed seeded episodes of each env
 * (random actions from the seeded action space, and Gymnasium's heuristics, which land and walk:
 * resting contacts, sleeping bodies, long contact-rich episodes) and hashes, after every step, the
 * observation, reward and flags and every dynamic body's position, angle and velocities as float64
 * bits. Prints one SHA-256 per env and one over all; compare before and after a change.
 *
 * First it plays synthetic scenes twice, on planck's own contact solver, island step, ray cast and
 * revolute-joint solver and on the local-number ones of engine.ts, engine-contact.ts and
 * engine-raycast.ts, and checks that they agree bit for bit: circles, restitution, damping, a
 * bullet, bodies too fast for one step (planck's translation and rotation clamps) and sleeping
 * bodies, which the envs do not all reach, and rays that filter, clip and stop.
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
import * as planck from 'planck';
import type { Env } from '../src/envs/env.js';
import { landerHeuristic, WalkerHeuristic } from './lib/box2d-heuristics.js';

// planck's own solver functions, captured before engine.ts (imported below) replaces them with the
// local-number ones; the scenes run once on each set. Both use engine.ts's polygon mass (a repair
// that changes results on purpose, docs/box2d.md).
const prototypes = {
  contact: planck.Contact.prototype,
  solver: (planck as unknown as { Solver: { prototype: object } }).Solver.prototype,
  world: planck.World.prototype,
  revolute: planck.RevoluteJoint.prototype,
} as unknown as Record<string, Record<string, unknown>>;
const REPLACED: Record<string, string[]> = {
  contact: ['initVelocityConstraint', 'warmStartConstraint', 'solveVelocityConstraint', 'storeConstraintImpulses', 'solvePositionConstraint', 'solvePositionConstraintTOI'],
  solver: ['solveWorld', 'solveIsland'],
  world: ['rayCast'],
  revolute: ['initVelocityConstraints', 'solveVelocityConstraints', 'solvePositionConstraints'],
};
type Functions = Record<string, Record<string, unknown>>;
const capture = (): Functions => Object.fromEntries(Object.entries(REPLACED).map(([k, names]) => [k, Object.fromEntries(names.map((n) => [n, prototypes[k][n]]))]));
const use = (functions: Functions) => Object.entries(functions).forEach(([k, f]) => Object.assign(prototypes[k], f));
const planckOwn = capture();
await import('../src/envs/box2d/engine.js');
const local = capture();
const { loadEnvFamily, makeEnv } = await import('../src/envs/registry.js');
const { NpRandom } = await import('../src/rng/index.js');

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

/**
 * A scene for the A/B check: a box and circle pile on an edge ground and a slope, a hanging chain of
 * revolute joints, a kinematic paddle, a bullet, a body thrown too fast for one step, forces and
 * torques on some bodies; stepped as Gymnasium does (1/50 s, 180, 60) and as planck's default
 * (1/60 s, 8, 3, where the position solver often does not converge), the latter without warm starting.
 */
function scene(hash: Hash, velocityIterations: number, positionIterations: number, dt: number, steps: number, warmStarting: boolean): void {
  const world = new planck.World({ gravity: planck.Vec2(0, -10), warmStarting });
  const ground = world.createBody();
  ground.createFixture(new planck.EdgeShape(planck.Vec2(-40, 0), planck.Vec2(40, 0)), { friction: 0.6 });
  ground.createFixture(new planck.PolygonShape([planck.Vec2(10, 0), planck.Vec2(20, 0), planck.Vec2(20, 5)]), { friction: 0.3 });
  ground.createFixture(new planck.CircleShape(planck.Vec2(-12, 1), 1.5), { friction: 0.4 });
  const bodies: planck.Body[] = [];
  let k = 0;
  for (let row = 0; row < 6; row++) {
    for (let col = 0; col < 5; col++, k++) {
      const body = world.createDynamicBody({
        position: planck.Vec2(-8 + col * 2.1 + (row % 2) * 0.4, 1 + row * 1.6),
        angle: 0.1 * ((k % 5) - 2),
        linearDamping: k % 4 === 0 ? 0.3 : 0,
        angularDamping: k % 3 === 0 ? 0.5 : 0,
        gravityScale: k % 7 === 0 ? 0.5 : 1,
        fixedRotation: k % 11 === 5,
      });
      const shape = k % 3 === 0 ? new planck.CircleShape(0.4 + 0.1 * (k % 4)) : new planck.PolygonShape([planck.Vec2(-0.6, -0.4), planck.Vec2(0.6, -0.4), planck.Vec2(0.5, 0.5), planck.Vec2(-0.3, 0.6)]);
      body.createFixture(shape, { density: 1 + (k % 3), friction: 0.2 + 0.1 * (k % 5), restitution: k % 4 === 1 ? 0.6 : 0 });
      bodies.push(body);
    }
  }
  let previous = ground;
  for (let i = 0; i < 5; i++) {
    const link = world.createDynamicBody({ position: planck.Vec2(25 + i * 1.0, 10) });
    link.createFixture(new planck.BoxShape(0.5, 0.12), { density: 2 });
    // Free, limited, locked (equal limits) and motor-driven joints.
    const locked = i === 1;
    const joint = { lowerAngle: locked ? 0.2 : -0.5, upperAngle: locked ? 0.2 : 0.5, enableLimit: i % 2 === 0 || locked, maxMotorTorque: 5, motorSpeed: 1, enableMotor: i === 2 || i === 4 };
    world.createJoint(new planck.RevoluteJoint(joint, previous, link, planck.Vec2(24.5 + i * 1.0, 10)));
    previous = link;
    bodies.push(link);
  }
  const paddle = world.createKinematicBody({ position: planck.Vec2(0, 12) });
  paddle.createFixture(new planck.BoxShape(3, 0.2));
  paddle.setLinearVelocity(planck.Vec2(1, -1.5));
  paddle.setAngularVelocity(0.4);
  const bullet = world.createDynamicBody({ position: planck.Vec2(-30, 2), bullet: true });
  bullet.createFixture(new planck.CircleShape(0.2), { density: 5, restitution: 0.3 });
  bullet.setLinearVelocity(planck.Vec2(120, 3));
  const thrown = world.createDynamicBody({ position: planck.Vec2(30, 3) });
  thrown.createFixture(new planck.BoxShape(0.3, 0.3), { density: 1 });
  thrown.setLinearVelocity(planck.Vec2(-200, 40));
  thrown.setAngularVelocity(150);
  bodies.push(paddle, bullet, thrown);
  for (let t = 0; t < steps; t++) {
    if (t === 150) paddle.setLinearVelocity(planck.Vec2(0, 0));
    if (t < 100) {
      bodies[3].applyForceToCenter(planck.Vec2(30, 0), true);
      bodies[8].applyTorque(20, true);
    }
    world.step(dt, velocityIterations, positionIterations);
    putWorld(hash, world);
    // Rays through the pile: the closest hit, every hit, and a cast that stops at its first.
    for (let r = 0; r < 3; r++) {
      const from = planck.Vec2(-12 + 8 * r, 14);
      const to = planck.Vec2(-9 + 8 * r - t * 0.01, -1);
      const policy = (fixture: planck.Fixture, point: planck.Vec2, normal: planck.Vec2, fraction: number) => {
        put(hash, point.x);
        put(hash, point.y);
        put(hash, normal.x);
        put(hash, normal.y);
        put(hash, fraction);
        if (r === 0) return fixture.getBody().isStatic() ? -1 : fraction;
        return r === 1 ? 1 : 0;
      };
      world.rayCast(from, to, policy);
    }
  }
  // Everything asleep by the end is part of what is compared.
  for (const body of bodies) put(hash, body.isAwake() ? 1 : 0);
}

function sceneDigest(): string {
  const hash = createHash('sha256');
  scene(hash, 180, 60, 1 / 50, 600, true);
  scene(hash, 8, 3, 1 / 60, 600, false);
  return hash.digest('hex');
}

{
  for (const [k, names] of Object.entries(REPLACED)) for (const n of names) if (planckOwn[k][n] === local[k][n]) throw new Error(`${k}.${n} is not replaced`);
  use(planckOwn);
  const ownDigest = sceneDigest();
  use(local);
  const localDigest = sceneDigest();
  console.log(`synthetic scenes, planck's solvers and ray cast vs engine*.ts's: ${ownDigest === localDigest ? 'identical' : 'DIFFERENT'} (${localDigest})`);
  if (ownDigest !== localDigest) process.exitCode = 1;
}

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
