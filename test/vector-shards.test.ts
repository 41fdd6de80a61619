// A vector env split over the worker threads (docs/vector.md, "Shards"), over real sockets and real
// workers: it answers byte for byte what one thread answers, refuses bad requests whole, steps sent
// sub-envs in the background, survives a worker's death, and gives its sessions back. (The golden
// runs replay through shards too: vector-golden.test.ts.)
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RawClient, startServer } from './helpers.js';
import { Rng } from '../scripts/lib/rng.js';
import type { GymTcpServer } from '../src/server/tcp-server.js';

const vec = (body: object) => JSON.stringify({ vector: body });
const make = (name: string, num_envs: number, extra: object = {}) => vec({ make: { name, num_envs, ...extra } });
/** Episode times are each env's own clock. */
const untimed = (raw: Buffer) => raw.toString().replace(/"t": \[[^\]]*\]/g, (t) => `"t": ${t.split(',').length}`);

let whole: GymTcpServer;
let split: GymTcpServer;
beforeAll(async () => {
  whole = await startServer({ workers: 2, vectorShardSize: 0 });
  split = await startServer({ workers: 2, vectorShardSize: 4 });
});
afterAll(async () => {
  await Promise.all([whole.close(), split.close()]);
});

/** A line with no reply (seed, a send that goes through, record_episode_stats). */
const silent = (line: string) => ({ silent: line });

/** The same lines to both servers; every reply's bytes, side by side (instance ids masked). */
async function sideBySide(lines: (string | { silent: string })[]): Promise<[string[], string[]]> {
  const replies = await Promise.all(
    [whole, split].map(async (server) => {
      const c = await RawClient.connect(server);
      const out: string[] = [];
      for (const line of lines) {
        if (typeof line !== 'string') {
          c.send(line.silent + '\r\n');
          continue;
        }
        c.send(line + '\r\n');
        out.push(untimed(await c.nextRaw()).replace(/"instance": "[^"]*"/, '"instance": I'));
      }
      await c.end();
      return out;
    }),
  );
  return replies as [string[], string[]];
}

describe('a vector env split over the workers', () => {
  it('holds its sub-envs on both workers and answers byte for byte as one thread, in both encodings', async () => {
    for (const encoding of ['json', 'base64']) {
      const lines = [make('CartPole-v1', 13, { encoding, autoreset: 'same_step' }), silent('{"record_episode_stats":{"action": "start"}}'), vec({ reset: { seed: '3' } }), silent(vec({ seed: '9' }))];
      for (let t = 0; t < 40; t++) lines.push(vec({ sample: {} }), vec({ step: { actions: Array.from({ length: 13 }, (_, i) => (i + t) % 2) } }));
      const [a, b] = await sideBySide(lines);
      expect(b).toEqual(a);
      expect(a.some((r) => r.includes('"final_obs"'))).toBe(true);
    }
    const c = await RawClient.connect(split);
    await c.ask(make('Pendulum-v1', 13, { encoding: 'base64' }));
    const envs = split.pool.stats().workers.map((w) => w.envs);
    expect(envs.every((n) => n > 0)).toBe(true);
    expect(envs.reduce((x, y) => x + y, 0)).toBe(13);
    await c.end();
  });

  it('takes lines pipelined behind its make, in order', async () => {
    const lines = [make('CartPole-v1', 12), vec({ reset: { seed: '1' } }), vec({ step: { actions: new Array(12).fill(1) } }), '{"env":{"action": "reset"}}', vec({ step: { actions: new Array(12).fill(0) } })];
    const replies = await Promise.all(
      [whole, split].map(async (server) => {
        const c = await RawClient.connect(server);
        c.send(lines.map((l) => l + '\r\n').join(''));
        const out = [];
        for (let i = 0; i < lines.length; i++) out.push((await c.nextRaw()).toString().replace(/"instance": "[^"]*"/, ''));
        await c.end();
        return out;
      }),
    );
    expect(replies[1]).toEqual(replies[0]);
    expect(replies[1][3]).toContain('BAD_REQUEST');
  });

  it('refuses a bad step whole, naming the first bad sub-env, and no sub-env moves', async () => {
    const good = new Array(12).fill(0);
    const bad = [...good];
    bad[9] = 7;
    bad[10] = 5;
    const badFirstShard = [...good];
    badFirstShard[2] = 3;
    const [a, b] = await sideBySide([
      make('CartPole-v1', 12),
      vec({ step: { actions: good } }),
      vec({ reset: { seed: '4' } }),
      vec({ step: { actions: bad } }),
      vec({ step: { actions: badFirstShard } }),
      vec({ step: { actions: good.slice(1) } }),
      vec({ send: { actions: [0, 1], env_ids: [11, 11] } }),
      vec({ reset: { mask: [true] } }),
      vec({ reset: { seed: '5', options: { randomize: false } } }),
      vec({ step: { actions: good } }),
    ]);
    expect(b).toEqual(a);
    expect(b[1]).toContain('RESET_NEEDED');
    expect(b[3]).toContain('sub-env 9:');
    expect(b[4]).toContain('sub-env 2:');
    expect(b[5]).toContain('INVALID_ACTION');
    expect(b[6]).toContain('appears twice');
    expect(b[7]).toContain('mask');
    // Reset options are the env's own: CartPole reads none, and the refused reset moved nothing.
    expect(b[8]).toMatch(/BAD_REQUEST.*unknown reset option 'randomize'/);
    expect(b[9]).toContain('"observations"');
  });

  it('steps sent sub-envs in the background; recv gives the first K that finished, each as one thread steps it', async () => {
    const n = 12;
    const c = await RawClient.connect(split);
    const ref = await RawClient.connect(whole);
    for (const x of [c, ref]) {
      await x.ask(make('CartPole-v1', n, { encoding: 'base64' }));
      await x.ask(vec({ reset: { seed: '8' } }));
    }
    const ids = [11, 0, 5, 6, 1];
    const actions = [1, 0, 1, 1, 0];
    c.send(vec({ send: { actions, env_ids: ids } }) + '\r\n');
    ref.send(vec({ send: { actions, env_ids: ids } }) + '\r\n');
    const first = await c.ask(vec({ recv: { batch_size: 2 } }));
    const rest = await c.ask(vec({ recv: {} }));
    expect(first.env_ids).toHaveLength(2);
    expect([...first.env_ids, ...rest.env_ids].sort((x: number, y: number) => x - y)).toEqual([...ids].sort((x, y) => x - y));
    const all = await ref.ask(vec({ recv: {} }));
    // Each sub-env's step is the one-thread step of that sub-env, whichever order they finished in.
    const obsOf = (r: any) => {
      const bytes = Buffer.from(r.observations.data, 'base64');
      return new Map<number, string>(r.env_ids.map((id: number, j: number) => [id, bytes.subarray(j * 16, j * 16 + 16).toString('hex')]));
    };
    const want = obsOf(all);
    for (const [id, obs] of [...obsOf(first), ...obsOf(rest)]) expect(obs, `sub-env ${id}`).toBe(want.get(id));
    expect((await c.ask(vec({ recv: {} }))).error.code).toBe('BAD_REQUEST');
    expect((await c.ask(vec({ recv: { batch_size: 1 } }))).error.message).toMatch(/no sub-env has a step pending/);
    await Promise.all([c.end(), ref.end()]);
  });

  it('gives every sub-env back when it is replaced by a small env, and when the connection closes', async () => {
    const c = await RawClient.connect(split);
    await c.ask(make('CartPole-v1', 16));
    expect(split.pool.envBudget.total).toBe(16);
    await c.ask('{"env":{"name": "CartPole-v1"}}');
    // The other shard's session is dropped after the reply.
    await split.pool.sessionCounts();
    expect(split.pool.envBudget.total).toBe(1);
    // Direct again: a single env's requests work.
    expect((await c.ask('{"env":{"action": "reset"}}')).observation).toHaveLength(4);
    await c.ask(make('CartPole-v1', 16));
    await c.ask(make('CartPole-v1', 9));
    await split.pool.sessionCounts();
    expect(split.pool.envBudget.total).toBe(9);
    await c.end();
    await new Promise((r) => setTimeout(r, 100));
    await split.pool.sessionCounts();
    expect(split.pool.envBudget.total).toBe(0);
  });

  it('is rebuilt on a dead worker\'s successor: the client gets the replies it would have got', async () => {
    const s = await startServer({ workers: 2, vectorShardSize: 4 });
    const run = async (kill: boolean) => {
      const c = await RawClient.connect(s);
      await c.ask(make('CartPole-v1', 12, { encoding: 'base64', autoreset: 'same_step' }));
      await c.ask(vec({ reset: { seed: '21' } }));
      c.send(vec({ seed: '2' }) + '\r\n');
      const out: string[] = [];
      for (let t = 0; t < 120; t++) {
        const { actions } = await c.ask(vec({ sample: {} }));
        c.send(vec({ step: { actions } }) + '\r\n');
        // Both workers, one after the other: the lead's and the other shard's sessions are rebuilt.
        // (The oldest thread each time: a successor has a larger threadId.)
        if (kill && (t === 40 || t === 80)) await [...s.pool.piscina.threads].sort((x, y) => x.threadId - y.threadId)[0].terminate();
        const r = await c.nextJson();
        expect(r.error, `step ${t}`).toBeUndefined();
        out.push(JSON.stringify([r.observations, r.rewards, r.terminations]));
      }
      await c.end();
      return out;
    };
    const calm = await run(false);
    const hit = await run(true);
    expect(hit).toEqual(calm);
    expect(s.pool.stats().workers.map((w) => w.restarts)).toEqual([1, 1]);
    await s.close();
  });
});

describe('a split vector env whose client goes away', () => {
  it('leaves no session behind, whatever was in flight', async () => {
    const s = await startServer({ workers: 2, vectorShardSize: 4 });
    // Eight clients for 3 s, each connection a make then bursts of random vector lines (big and small
    // makes among them, valid and not), gone by FIN or RST at a random moment. A plan (the answer to a
    // big make) that came back after its socket closed once made shards nobody dropped: 2–17 sessions
    // were left per worker after 840–2,700 such connections.
    const rng = new Rng(7);
    const rand = () => rng.next();
    const pick = <T,>(items: T[]): T => rng.pick(items);
    const line = () =>
      pick([
        make('CartPole-v1', pick([12, 3, 24])),
        vec({ reset: pick([{}, { seed: '1' }, { mask: [true] }]) }),
        vec({ step: { actions: Array.from({ length: 12 }, () => Math.floor(rand() * 3)) } }),
        vec({ send: { actions: [1, 0], env_ids: [Math.floor(rand() * 13), Math.floor(rand() * 13)] } }),
        vec({ recv: pick([{}, { batch_size: 1 }]) }),
        '{"env":{"name": "CartPole-v1"}}',
        'garbage',
      ]);
    const deadline = Date.now() + 3000;
    let connections = 0;
    await Promise.all(
      Array.from({ length: 8 }, async () => {
        while (Date.now() < deadline) {
          await new Promise<void>((done) => {
            const socket = net.connect(s.address().port, '127.0.0.1');
            connections += 1;
            socket.on('error', () => {});
            socket.on('close', () => done());
            socket.on('data', () => {});
            socket.on('connect', () => {
              socket.write(make('CartPole-v1', 12) + '\r\n');
              let bursts = 2 + Math.floor(rand() * 20);
              const tick = () => {
                if (bursts-- <= 0) return rand() < 0.5 ? socket.destroy() : socket.end();
                for (let k = Math.floor(rand() * 4); k >= 0; k--) socket.write(line() + '\r\n');
                setTimeout(tick, Math.floor(rand() * 4));
              };
              tick();
            });
          });
        }
      }),
    );
    expect(connections).toBeGreaterThan(50);
    await new Promise((r) => setTimeout(r, 300));
    expect(await s.pool.sessionCounts()).toEqual([0, 0]);
    expect(s.pool.envBudget.total).toBe(0);
    await s.close();
  });
});

describe('vector reset options', () => {
  it('reach every sub-env as its own reset(options=…): CarRacing keeps its colours with randomize false', async () => {
    const c = await RawClient.connect(whole);
    await c.ask(make('CarRacing-v3', 2, { kwargs: { domain_randomize: true }, encoding: 'base64' }));
    const reset = async (options?: object) => (await c.ask(vec({ reset: { seed: '3', ...(options ? { options } : {}) } }))).observations.data as string;
    // Kept: no colour draws, so the track comes from the seed's first draws, in the colours each sub-env
    // has (here those it drew when made, from OS entropy, as Gymnasium's constructor does).
    const kept = await reset({ randomize: false });
    expect(await reset({ randomize: false })).toBe(kept);
    // Drawn (the default): new colours from the seeded generator first, so another track and colours.
    const drawn = await reset();
    expect(drawn).not.toBe(kept);
    expect(await reset()).toBe(drawn);
    expect((await c.ask(vec({ reset: { options: { randomize: 'no' } } }))).error.code).toBe('BAD_REQUEST');
    await c.end();
  });
});
