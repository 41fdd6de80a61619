/**
 * The Box2D envs over a real socket, as mlpack's reinforcement-learning examples drive them (a DQN on
 * LunarLander-v2, SAC on BipedalWalker-v3), and rebuilt exactly when the worker holding them dies.
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { GymTcpServer } from '../src/server/tcp-server.js';
import { CPP } from '../src/protocol/messages.js';
import { RawClient, startServer } from './helpers.js';
import { playOverTcp } from '../scripts/lib/tcp-episodes.js';
import { landerHeuristic } from '../scripts/lib/box2d-heuristics.js';

let server: GymTcpServer;
beforeAll(async () => {
  server = await startServer();
});
afterAll(() => server.close());

const lander = JSON.parse(readFileSync(new URL('./fixtures/box2d/LunarLander-v3.json', import.meta.url), 'utf8'));

/** mlpack's client: make, ask both spaces, reset, then step with its own actions until `done`. */
async function mlpackEpisode(c: RawClient, id: string, seed: number, action: (i: number) => string) {
  expect((await c.ask(CPP.make(id))).instance).toMatch(/^[a-z0-9]{1,16}-[0-9a-f]{13}$/);
  const observationSpace = (await c.ask(CPP.observationSpace)).info;
  const actionSpace = (await c.ask(CPP.actionSpace)).info;
  c.send(CPP.seed(seed) + '\r\n');
  const reset = await c.ask(CPP.reset);
  let reply: any;
  let steps = 0;
  do {
    reply = await c.ask(CPP.step(action(steps)));
    expect(reply.error, `step ${steps}`).toBeUndefined();
    steps++;
  } while (!reply.done);
  return { observationSpace, actionSpace, reset, last: reply, steps };
}

describe('Box2D envs over TCP', () => {
  it("runs mlpack's LunarLander-v2 sequence: Gymnasium's spaces, reset and a whole episode", async () => {
    const c = await RawClient.connect(server);
    const episode = lander.episodes[0]; // seed 7, sampled actions, terminated (crash) at step 80
    const actions = episode.steps.map((s: any) => String(s.action));
    // Past the recorded 50 steps the lander keeps its engines off until the episode ends.
    const run = await mlpackEpisode(c, 'LunarLander-v2', episode.reset_seed, (i) => actions[i] ?? '0');
    expect(run.observationSpace).toMatchObject({ name: 'Box', shape: [8], dtype: 'float32' });
    expect(run.observationSpace.high.map(Number)).toEqual(lander.observation_space.high);
    expect(run.actionSpace).toMatchObject({ name: 'Discrete', n: 4 });
    for (let i = 0; i < 8; i++) expect(Math.abs(run.reset.observation[i] - episode.reset.obs[i])).toBeLessThan(1e-5);
    expect(run.last.terminated).toBe(true);
    expect(run.last.reward).toBe(-100);
    await c.end();
  });

  it("runs mlpack's BipedalWalker-v3 sequence until the episode ends", async () => {
    const c = await RawClient.connect(server);
    // A fixed gait-less push: hips forward, knees bent; the walker falls or runs out of time.
    const run = await mlpackEpisode(c, 'BipedalWalker-v3', 3, (i) => (i % 20 < 10 ? '[1.0, -0.5, -1.0, 0.5]' : '[-1.0, 0.5, 1.0, -0.5]'));
    expect(run.observationSpace).toMatchObject({ name: 'Box', shape: [24], dtype: 'float32' });
    expect(run.actionSpace).toMatchObject({ name: 'Box', shape: [4], dtype: 'float32' });
    expect(run.reset.observation).toHaveLength(24);
    expect(run.last.terminated || run.last.truncated).toBe(true);
    expect(run.steps).toBeLessThanOrEqual(1600);
    if (run.last.truncated) expect(run.steps).toBe(1600);
    await c.end();
  });

  // One env per client, both Box2D: snapshots replay the episode, and the in-flight steps run after.
  it('rebuilds Box2D envs exactly when their worker thread dies', async () => {
    const s = await startServer({ workers: 2 });
    const plan = [
      { id: 'LunarLanderContinuous-v3', seed: 11, action: (i: number) => `[${((i * 37) % 17) / 8 - 1}, ${((i * 11) % 13) / 6 - 1}]` },
      { id: 'LunarLander-v3', seed: 12, action: (i: number) => String((i * 7) % 4) },
    ];
    // The reference: the same requests on an undisturbed server .
    const expected: any[][] = [];
    for (const p of plan) {
      const c = await RawClient.connect(server);
      await c.ask(CPP.make(p.id));
      c.send(CPP.seed(p.seed) + '\r\n');
      await c.ask(CPP.reset);
      const replies = [];
      for (let i = 0; i < 150; i++) {
        const reply = await c.ask(CPP.step(p.action(i)));
        replies.push(reply);
        if (reply.done) break;
      }
      expected.push(replies);
      await c.end();
    }
    const clients = await Promise.all(plan.map(() => RawClient.connect(s)));
    for (const [k, p] of plan.entries()) {
      const c = clients[k];
      await c.ask(CPP.make(p.id));
      c.send(CPP.seed(p.seed) + '\r\n');
      await c.ask(CPP.reset);
      // 70 steps answered before the fault (more than one snapshot interval: the snapshot is a replay).
      for (let i = 0; i < 70; i++) expect(await c.ask(CPP.step(p.action(i)))).toEqual(expected[k][i]);
      c.send(expected[k].slice(70).map((_, j) => CPP.step(p.action(70 + j)) + '\r\n').join(''));
    }
    await new Promise((r) => setTimeout(r, 2));
    await s.pool.piscina.threads[0].terminate();
    for (const [k, c] of clients.entries()) {
      for (const [j, reply] of expected[k].slice(70).entries()) expect(await c.nextJson(), `${plan[k].id} step ${70 + j}`).toEqual(reply);
      await c.end();
    }
    await s.close();
  });
});

/**
 * The behaviour targets, played over the protocol as a remote agent plays (a real socket, the
 * server's time limit): Gymnasium's own heuristic lands LunarLander on almost every seed, so its
 * returns over seeds 0..49 show physics, shaping and landing rules working together.
 */
describe('Box2D behaviour over TCP', () => {
  const behaviour = JSON.parse(readFileSync(new URL('./fixtures/box2d/box2d_behaviour.json', import.meta.url), 'utf8'));
  const gymnasium = (kwargs: object) =>
    behaviour.heuristic.find((r: any) => r.env_id === 'LunarLander-v3' && JSON.stringify(r.make_kwargs) === JSON.stringify(kwargs));

  it("lands with Gymnasium's heuristic: mean return over seeds 0..49 within 10% of Gymnasium's, at least 43 of 50 at >= 200", async () => {
    const returns = await playOverTcp({ port: server.address().port, id: 'LunarLander-v3', seeds: 50, newPolicy: () => (obs) => landerHeuristic(obs!, false) });
    const mean = returns.reduce((a, b) => a + b, 0) / returns.length;
    const reference = gymnasium({});
    console.log(`LunarLander heuristic over TCP: mean ${mean.toFixed(1)} (Gymnasium ${reference.mean.toFixed(1)}), ${returns.filter((r) => r >= 200).length}/50 >= 200`);
    expect(Math.abs(mean - reference.mean) / reference.mean).toBeLessThan(0.1);
    expect(returns.filter((r) => r >= 200).length).toBeGreaterThanOrEqual(43);
  }, 120_000);

  it("flies the continuous lander with Gymnasium's heuristic within 5% of Gymnasium's mean", async () => {
    const returns = await playOverTcp({
      port: server.address().port,
      id: 'LunarLanderContinuous-v3',
      seeds: 50,
      newPolicy: () => (obs) => landerHeuristic(obs!, true),
    });
    const mean = returns.reduce((a, b) => a + b, 0) / returns.length;
    const reference = gymnasium({ continuous: true });
    console.log(`LunarLander continuous heuristic over TCP: mean ${mean.toFixed(1)} (Gymnasium ${reference.mean.toFixed(1)})`);
    expect(Math.abs(mean - reference.mean) / reference.mean).toBeLessThan(0.05);
  }, 120_000);
});
