/**
 * CartPole over the wire against Gymnasium's own numbers (test/fixtures/golden): a client that sends
 * what the C++ client sends must see what `gym.make("CartPole-v1")` gives in Python.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { GymTcpServer } from '../src/server/tcp-server.js';
import { CPP } from '../src/protocol/messages.js';
import { RawClient, golden, startServer } from './helpers.js';

let server: GymTcpServer;
beforeAll(async () => {
  server = await startServer();
});
afterAll(() => server.close());

/** float32 values within a few units in the last place (V8's sine is not glibc's: docs/architecture.md, "Exactness against Gymnasium"). */
function expectCloseF32(actual: number[], expected: number[], ulps = 4) {
  expect(actual).toHaveLength(expected.length);
  for (let i = 0; i < expected.length; i++) {
    const tolerance = ulps * Math.max(Math.abs(expected[i]), 1e-30) * 2 ** -23;
    expect(Math.abs(actual[i] - expected[i]), `element ${i}: ${actual[i]} vs ${expected[i]}`).toBeLessThanOrEqual(tolerance);
  }
}

for (const file of ['CartPole-v0.json', 'CartPole-v1.json']) {
  const g = golden(file);
  describe(`${g.env_id} over TCP`, () => {
    it('resets by seed exactly, for every recorded seed (2**63 included)', async () => {
      const c = await RawClient.connect(server);
      await c.ask(CPP.make(g.env_id));
      for (const r of g.reset_by_seed) {
        c.send(CPP.seed(r.seed) + '\r\n');
        const reply = await c.ask(CPP.reset);
        expect(reply.observation, `seed ${r.seed}`).toEqual(r.obs);
        expect(reply.info).toEqual(r.info);
      }
      await c.end();
    });

    it('continues the seeded stream on resets without a seed', async () => {
      const c = await RawClient.connect(server);
      await c.ask(CPP.make(g.env_id));
      c.send(CPP.seed(g.reset_unseeded_continuation.seed) + '\r\n');
      for (const r of g.reset_unseeded_continuation.resets) expect((await c.ask(CPP.reset)).observation).toEqual(r.obs);
      await c.end();
    });

    it('samples actions as action_space.seed(s) + sample()', async () => {
      const c = await RawClient.connect(server);
      await c.ask(CPP.make(g.env_id));
      for (const { seed, samples } of g.action_sample_by_seed) {
        c.send(CPP.seed(seed) + '\r\n');
        const got = [];
        for (let i = 0; i < samples.length; i++) got.push((await c.ask(CPP.sample)).sample);
        expect(got, `seed ${seed}`).toEqual(samples);
      }
      await c.end();
    });

    it('plays the recorded episodes step by step and ends them on the same step with the same flags', async () => {
      const c = await RawClient.connect(server);
      await c.ask(CPP.make(g.env_id));
      const episodes = [...g.episodes, ...g.controlled_episodes];
      for (const episode of episodes) {
        c.send(CPP.seed(episode.reset_seed) + '\r\n');
        expect((await c.ask(CPP.reset)).observation).toEqual(episode.reset.obs);
        let n = 0;
        for (const step of episode.steps) {
          const reply = await c.ask(CPP.step(String(step.action)));
          n++;
          // Chaotic dynamics amplify 1-ulp sine differences over hundreds of steps: exact early on,
          // close later; the flags and rewards must match throughout.
          if (n <= 50) expectCloseF32(reply.observation, step.obs);
          else for (let i = 0; i < 4; i++) expect(Math.abs(reply.observation[i] - step.obs[i])).toBeLessThan(1e-3);
          expect(reply.reward).toBe(step.reward);
          expect(reply.terminated).toBe(step.terminated);
          expect(reply.truncated).toBe(step.truncated);
          expect(reply.done).toBe(step.terminated || step.truncated);
        }
        expect(n).toBe(episode.length);
      }
      await c.end();
    });
  });
}
