// Vector envs over a real socket: send/recv, limits, bad input (one error, nothing changed), and a
// worker thread dying under a vector env. The exactness against Gymnasium is vector-golden.test.ts.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RawClient, startServer } from './helpers.js';
import { decodeBatch } from './vector-batch.js';
import type { GymTcpServer } from '../src/server/tcp-server.js';

const vec = (body: object) => JSON.stringify({ vector: body });
const make = (name: string, num_envs: number, extra: object = {}) => vec({ make: { name, num_envs, ...extra } });

let server: GymTcpServer;
beforeAll(async () => {
  server = await startServer({ workers: 2, maxEnvs: 100, maxNumEnvs: 64 });
});
afterAll(async () => {
  await server.close();
});

async function envsHeld(n: number): Promise<void> {
  for (let i = 0; i < 300 && server.pool.envBudget.total !== n; i++) await new Promise((r) => setTimeout(r, 10));
  expect(server.pool.envBudget.total).toBe(n);
}

/** Two connections with the same seeded vector env: one takes the bad requests, the other none. */
async function twins(name = 'CartPole-v1', n = 4) {
  const [a, b] = await Promise.all([RawClient.connect(server), RawClient.connect(server)]);
  for (const c of [a, b]) {
    await c.ask(make(name, n));
    await c.ask(vec({ reset: { seed: '3' } }));
  }
  return [a, b];
}

describe('vector send and recv', () => {
  it('steps the sub-envs sent, returns them in finishing order with their ids, and matches a sync step', async () => {
    const [a, b] = await twins('CartPole-v1', 4);
    a.send(vec({ send: { actions: [1, 0], env_ids: [2, 0] } }) + '\r\n');
    a.send(vec({ send: { actions: [1, 1], env_ids: [1, 3] } }) + '\r\n');
    const first = await a.ask(vec({ recv: { batch_size: 3 } }));
    expect(first.env_ids).toEqual([2, 0, 1]);
    const rest = await a.ask(vec({ recv: {} }));
    expect(rest.env_ids).toEqual([3]);
    const sync = await b.ask(vec({ step: { actions: [0, 1, 1, 1] } }));
    expect([...first.observations, ...rest.observations]).toEqual([sync.observations[2], sync.observations[0], sync.observations[1], sync.observations[3]]);
    expect(first.rewards).toEqual([1.0, 1.0, 1.0]);
    await Promise.all([a.end(), b.end()]);
  });

  it('answers a recv with nothing pending, or with a batch bigger than what is pending, with an error', async () => {
    const [a, b] = await twins();
    await b.end();
    expect((await a.ask(vec({ recv: {} }))).error.message).toMatch(/no sub-env has a step pending/);
    a.send(vec({ send: { actions: [0], env_ids: [1] } }) + '\r\n');
    expect((await a.ask(vec({ recv: { batch_size: 2 } }))).error.message).toMatch(/batch_size 2 is more than the 1 sub-env/);
    expect((await a.ask(vec({ send: { actions: [0], env_ids: [1] } }))).error.message).toMatch(/sub-env 1: a step sent to it is not yet received/);
    expect((await a.ask(vec({ step: { actions: [0, 0, 0, 0] } }))).error.message).toMatch(/sub-env 1/);
    expect((await a.ask(vec({ recv: {} }))).env_ids).toEqual([1]);
    await a.end();
  });
});

describe('vector bad input', () => {
  const cases: [string, object, string, RegExp][] = [
    ['a batch of the wrong length', { step: { actions: [0, 1, 0] } }, 'INVALID_ACTION', /3 actions for 4 sub-envs/],
    ['an action out of the space', { step: { actions: [0, 1, 2, 0] } }, 'INVALID_ACTION', /^sub-env 2: /],
    ['a bad dtype', { step: { actions: { dtype: 'float32', shape: [4], data: Buffer.alloc(16).toString('base64') } } }, 'INVALID_ACTION', /dtype float32 cannot hold/],
    ['an unknown dtype', { step: { actions: { dtype: 'int8', shape: [4], data: 'AAAAAA==' } } }, 'INVALID_ACTION', /dtype "int8" is not one of/],
    ['a wrong shape', { step: { actions: { dtype: 'int64', shape: [3], data: Buffer.alloc(24).toString('base64') } } }, 'INVALID_ACTION', /shape \[3\] does not fit 4 actions/],
    ['data of the wrong size', { step: { actions: { dtype: 'int64', shape: [4], data: Buffer.alloc(24).toString('base64') } } }, 'INVALID_ACTION', /holds 24 bytes/],
    ['data that is not base64', { step: { actions: { dtype: 'uint8', shape: [4], data: 'AA!A' } } }, 'INVALID_ACTION', /not base64/],
    ['a duplicate env id', { send: { actions: [0, 1], env_ids: [1, 1] } }, 'BAD_REQUEST', /env id 1 appears twice/],
    ['an env id out of range', { send: { actions: [0], env_ids: [4] } }, 'BAD_REQUEST', /env id 4 is out of range/],
    ['a mask of the wrong length', { reset: { mask: [true] } }, 'BAD_REQUEST', /mask has 1 entry for 4 sub-envs/],
    ['two commands at once', { step: { actions: [0, 0, 0, 0] }, sample: {} }, 'BAD_REQUEST', /exactly one of make, reset, step/],
    ['an unknown field', { step: { actions: [0, 0, 0, 0], render: 1 } }, 'BAD_REQUEST', /unknown field "render"/],
  ];
  it.each(cases)('answers %s with one error naming the fault, and changes no sub-env', async (_what, body, code, message) => {
    const [a, b] = await twins();
    const reply = await a.ask(vec(body));
    expect(reply.error.code).toBe(code);
    expect(reply.error.message).toMatch(message);
    // Both connections' vector envs are still the same: the failed request moved nothing.
    const step = vec({ step: { actions: [1, 0, 1, 0] } });
    expect(await a.ask(step)).toEqual(await b.ask(step));
    await Promise.all([a.end(), b.end()]);
  });

  it('refuses to step before the first reset, and vector requests on a connection without a vector env', async () => {
    const c = await RawClient.connect(server);
    expect((await c.ask(vec({ step: { actions: [0] } }))).error.code).toBe('NO_ENV');
    await c.ask(make('CartPole-v1', 2));
    const refused = await c.ask(vec({ step: { actions: [0, 0] } }));
    expect(refused.error.code).toBe('RESET_NEEDED');
    expect(refused.error.message).toMatch(/^sub-env 0: /);
    expect((await c.ask('{"env":{"action": "reset"}}')).error.message).toMatch(/holds a vector env/);
    await c.end();
  });
});

describe('vector limits', () => {
  it('bounds num_envs by --max-num-envs and counts each sub-env against --max-envs', async () => {
    // The other tests' connections are closed; the server hears of it a moment later.
    await envsHeld(0);
    const c = await RawClient.connect(server);
    expect((await c.ask(make('CartPole-v1', 65))).error.message).toMatch(/--max-num-envs 64/);
    await c.ask(make('CartPole-v1', 64));
    const other = await RawClient.connect(server);
    await other.ask(make('CartPole-v1', 30));
    // 64 + 30 of 100 held: 7 more do not fit, and the failed make leaves the env the connection had.
    expect((await other.ask(make('CartPole-v1', 37))).error.code).toBe('TOO_MANY_ENVS');
    expect((await other.ask(vec({ reset: { seed: '1' } }))).observations).toHaveLength(30);
    await other.ask(make('CartPole-v1', 36));
    expect(server.pool.envBudget.total).toBe(100);
    // A single env in place of a vector one gives the places back.
    await c.ask('{"env":{"name": "CartPole-v1"}}');
    expect(server.pool.envBudget.total).toBe(37);
    await Promise.all([c.end(), other.end()]);
    await envsHeld(0);
  });

  it('answers an unknown env id and bad kwargs as the single make does', async () => {
    const c = await RawClient.connect(server);
    expect((await c.ask(make('Nope-v0', 2))).error.code).toBe('UNKNOWN_ENV');
    expect((await c.ask(make('FrozenLake-v1', 2, { kwargs: { is_slippery: 3 } }))).error.code).toBe('BAD_KWARGS');
    await c.end();
  });
});

describe('vector envs and a worker thread that dies', () => {
  it('rebuilds the vector env on the successor: the client gets the replies it would have got', async () => {
    const s = await startServer({ workers: 2 });
    const n = 16;
    const [a, b] = await Promise.all([RawClient.connect(s), RawClient.connect(s)]);
    for (const c of [a, b]) {
      await c.ask(make('CartPole-v1', n, { encoding: 'base64', autoreset: 'same_step' }));
      c.send('{"record_episode_stats":{"action": "start"}}\r\n');
      await c.ask(vec({ reset: { seed: '11' } }));
      c.send(vec({ seed: '5' }) + '\r\n');
    }
    const steps = 150;
    const trace = async (c: RawClient, kill: boolean) => {
      const out: string[] = [];
      for (let t = 0; t < steps; t++) {
        const { actions } = await c.ask('{"vector":{"sample":{}}}');
        c.send(vec({ step: { actions } }) + '\r\n');
        if (kill && t === 100) await s.pool.piscina.threads[0].terminate().then(() => s.pool.piscina.threads[1]?.terminate());
        const r = await c.nextJson();
        expect(r.error, `step ${t}`).toBeUndefined();
        out.push(JSON.stringify([decodeBatch(r.observations), decodeBatch(r.rewards), decodeBatch(r.terminations), r.infos.episode?.l ?? null]));
      }
      return out;
    };
    const [calm, hit] = [await trace(b, false), await trace(a, true)];
    expect(hit).toEqual(calm);
    await Promise.all([a.end(), b.end()]);
    await s.close();
  });
});
