/**
 * Every environment of the catalogue over a real socket: made by the id a client sends (old ids
 * included), with its keyword arguments, and one recorded Gymnasium episode replayed through the server.
 */
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadEnvSpecs } from '../src/envs/registry.js';
import type { GymTcpServer } from '../src/server/tcp-server.js';
import { CPP } from '../src/protocol/messages.js';
import { RawClient, golden, startServer } from './helpers.js';

let server: GymTcpServer;
beforeAll(async () => {
  server = await startServer();
});
afterAll(() => server.close());

const FILES = [
  'Acrobot-v1.json',
  'Blackjack-v1.json',
  'Blackjack-v1__natural_True__sab_False.json',
  'Blackjack-v1__sab_False.json',
  'CartPole-v0.json',
  'CartPole-v1.json',
  'CliffWalking-v1.json',
  'CliffWalkingSlippery-v1.json',
  'FrozenLake-v1.json',
  'FrozenLake-v1__is_slippery_False.json',
  'FrozenLake8x8-v1.json',
  'MountainCar-v0.json',
  'numpy2-nep50/MountainCarContinuous-v0.json',
  'numpy2-nep50/Pendulum-v1.json',
  'Taxi-v4.json',
  'Taxi-v4__fickle_passenger_True__is_rainy_True.json',
];

/** Equal, with floats allowed a relative 1e-6 (a few float32 ulps, and glibc's pow/sin last bits). */
function expectClose(actual: unknown, expected: unknown, where: string): void {
  if (typeof expected === 'number' && !Number.isInteger(expected)) {
    expect(typeof actual, where).toBe('number');
    expect(Math.abs((actual as number) - expected), where).toBeLessThanOrEqual(1e-6 * Math.max(1, Math.abs(expected)));
  } else if (Array.isArray(expected)) {
    expect(Array.isArray(actual), where).toBe(true);
    expect((actual as unknown[]).length, where).toBe(expected.length);
    expected.forEach((e, i) => expectClose((actual as unknown[])[i], e, `${where}[${i}]`));
  } else {
    expect(actual, where).toEqual(expected);
  }
}

describe('one Gymnasium episode of every golden file, through the server', () => {
  for (const file of FILES) {
    it(file, async () => {
      const g = golden(file);
      const c = await RawClient.connect(server);
      // requested_id is what the client asked Gymnasium for (Taxi-v3 for Taxi-v4): old ids resolve.
      const make = Object.keys(g.make_kwargs).length
        ? JSON.stringify({ env: { name: g.requested_id, kwargs: g.make_kwargs } })
        : CPP.make(g.requested_id);
      expect((await c.ask(make)).instance).toMatch(/^[a-z0-9]{1,16}-[0-9a-f]{13}$/);
      const actionSpace = (await c.ask(CPP.actionSpace)).info;
      expect(actionSpace.name).toBe(g.action_space.class);
      const episode = g.episodes[0];
      c.send(CPP.seed(episode.reset_seed) + '\r\n');
      const reset = await c.ask(CPP.reset);
      expectClose(reset.observation, episode.reset.obs, 'reset');
      for (const [i, step] of episode.steps.entries()) {
        const reply = await c.ask(CPP.step(JSON.stringify(step.action)));
        expect(reply.error, `step ${i}`).toBeUndefined();
        expectClose(reply.observation, step.obs, `step ${i} obs`);
        expectClose(reply.reward, step.reward, `step ${i} reward`);
        expect(reply.terminated, `step ${i}`).toBe(step.terminated);
        expect(reply.truncated, `step ${i}`).toBe(step.truncated);
        expectClose(reply.info, step.info, `step ${i} info`);
      }
      await c.end();
    });
  }
});

describe('keyword arguments and ids', () => {
  it('makes FrozenLake not slippery, an 8x8 map by name, and a custom map', async () => {
    const c = await RawClient.connect(server);
    await c.ask('{"env":{"name": "FrozenLake-v1", "kwargs": {"is_slippery": false}}}');
    await c.ask(CPP.reset);
    // Right, right, down, down, down, right reaches the goal on the default 4x4 map when moves are certain.
    const moves = [2, 2, 1, 1, 1, 2];
    let reply: any;
    for (const a of moves) reply = await c.ask(CPP.step(String(a)));
    expect(reply).toMatchObject({ observation: 15, reward: 1, terminated: true, done: true });
    await c.ask('{"env":{"name": "FrozenLake-v1", "kwargs": {"map_name": "8x8"}}}');
    expect((await c.ask(CPP.observationSpace)).info).toMatchObject({ name: 'Discrete', n: 64 });
    await c.ask('{"env":{"name": "FrozenLake-v1", "kwargs": {"desc": ["SF", "HG"], "is_slippery": false}}}');
    expect((await c.ask(CPP.observationSpace)).info.n).toBe(4);
    await c.end();
  });

  it('rejects unknown and ill-typed keyword arguments by name, keeping the previous env', async () => {
    const c = await RawClient.connect(server);
    await c.ask(CPP.make('CartPole-v1'));
    const unknown = await c.ask('{"env":{"name": "CartPole-v1", "kwargs": {"gravity": 3}}}');
    expect(unknown.error.code).toBe('BAD_KWARGS');
    expect(unknown.error.message).toContain("'gravity'");
    const wrongType = await c.ask('{"env":{"name": "FrozenLake-v1", "kwargs": {"is_slippery": "no"}}}');
    expect(wrongType.error.code).toBe('BAD_KWARGS');
    expect(wrongType.error.message).toContain('is_slippery');
    expect((await c.ask('{"env":{"name": "Pendulum-v1", "kwargs": [1]}}')).error.code).toBe('BAD_REQUEST');
    const proto = await c.ask('{"env":{"name": "FrozenLake-v1", "kwargs": {"__proto__": {"is_slippery": false}}}}');
    expect(proto.error.code).toBe('BAD_KWARGS');
    expect(proto.error.message).toContain("'__proto__'");
    // The CartPole made first is still there.
    expect((await c.ask(CPP.reset)).observation).toHaveLength(4);
    await c.end();
  });

  it('resolves the old ids clients still send', async () => {
    const c = await RawClient.connect(server);
    for (const [old, current] of [
      ['FrozenLake-v0', 16],
      ['FrozenLake8x8-v0', 64],
      ['CliffWalking-v0', 48],
      ['Taxi-v2', 500],
      ['Taxi-v3', 500],
    ] as const) {
      await c.ask(CPP.make(old));
      expect((await c.ask(CPP.observationSpace)).info.n, old).toBe(current);
    }
    await c.ask(CPP.make('Pendulum-v0'));
    expect((await c.ask(CPP.observationSpace)).info.shape).toEqual([3]);
    await c.end();
  });
});

describe('continuous actions', () => {
  it('clips Pendulum torque, and rejects wrong shapes and non-finite numbers', async () => {
    const c = await RawClient.connect(server);
    await c.ask(CPP.make('Pendulum-v1'));
    expect((await c.ask(CPP.actionSpace)).info).toEqual({ name: 'Box', shape: [1], low: [-2.0], high: [2.0], dtype: 'float32' });
    c.send(CPP.seed(1) + '\r\n');
    await c.ask(CPP.reset);
    const big = await c.ask(CPP.step('[100.000000]'));
    c.send(CPP.seed(1) + '\r\n');
    await c.ask(CPP.reset);
    const two = await c.ask(CPP.step('[2.000000]'));
    expect(big.observation).toEqual(two.observation); // clipped to 2 for the dynamics
    for (const bad of ['[1, 2]', '[]', '"[abc]"', '[null]', '[1e400]']) {
      expect((await c.ask(CPP.step(bad))).error.code, bad).toBe('INVALID_ACTION');
    }
    expect((await c.ask(CPP.step('[1e400]'))).error.message).toContain('Infinity');
    expect((await c.ask('{"step":{"action":"[0.5]"}}')).observation).toHaveLength(3);
    await c.end();
  });

  it('samples Box actions within bounds as float32 values', async () => {
    const c = await RawClient.connect(server);
    await c.ask(CPP.make('MountainCarContinuous-v0'));
    for (let i = 0; i < 20; i++) {
      const [x] = (await c.ask(CPP.sample)).sample;
      expect(Math.fround(x)).toBe(x);
      expect(x).toBeGreaterThanOrEqual(-1);
      expect(x).toBeLessThanOrEqual(1);
    }
    await c.end();
  });
});

describe('gym-tcp envs', () => {
  const bin = fileURLToPath(new URL('../bin/gym-tcp.js', import.meta.url));
  it('lists every registered id with spaces, limits and kwargs (--json)', async () => {
    // CarRacing's Box(96, 96, 3) lists 2 x 27,648 bounds: ~2.4 MB, over execFileSync's 1 MB default.
    const rows = JSON.parse(execFileSync(process.execPath, [bin, 'envs', '--json'], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 }));
    expect(rows.map((r: any) => r.id)).toEqual((await loadEnvSpecs()).map((s) => s.id));
    const cartpole = rows.find((r: any) => r.id === 'CartPole-v1');
    expect(cartpole).toMatchObject({ max_episode_steps: 500, reward_threshold: 475, kwargs: { sutton_barto_reward: false } });
    expect(cartpole.action_space).toMatchObject({ name: 'Discrete', n: 2 });
  });
  it('prints a table', async () => {
    const text = execFileSync(process.execPath, [bin, 'envs'], { encoding: 'utf8' });
    for (const spec of await loadEnvSpecs()) expect(text).toContain(spec.id);
  });
});

describe('FrozenLake random maps', () => {
  it('generates the same random map from the same map_seed, a different one from another', async () => {
    const c = await RawClient.connect(server);
    const layout = async (seed: number) => {
      await c.ask(JSON.stringify({ env: { name: 'FrozenLake-v1', kwargs: { map_name: null, map_size: 6, map_seed: seed, is_slippery: false } } }));
      expect((await c.ask(CPP.observationSpace)).info.n).toBe(36);
      // Walk right along the top row and record which moves end the episode (holes) as a fingerprint.
      const trace = [];
      for (let col = 0; col < 5; col++) {
        await c.ask(CPP.reset);
        for (let k = 0; k < col; k++) await c.ask(CPP.step('1'));
        trace.push((await c.ask(CPP.step('2'))).terminated);
      }
      return trace.join();
    };
    const a = await layout(1);
    expect(await layout(1)).toBe(a);
    const others = new Set([await layout(2), await layout(3), await layout(4), await layout(5)]);
    expect(others.size + (others.has(a) ? 0 : 1)).toBeGreaterThan(1);
    await c.end();
  });
});
