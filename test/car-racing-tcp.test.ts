/**
 * CarRacing over a real socket: an old id, Gymnasium's spaces, the 96×96×3 observation as nested
 * lists, Gymnasium's rewards for recorded actions; and the env rebuilt exactly (by replaying its
 * episode) when the worker holding it dies.
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { GymTcpServer } from '../src/server/tcp-server.js';
import { RestServer } from '../src/http/rest-server.js';
import { CPP, request, requestLine } from '../src/protocol/messages.js';
import { RawClient, startServer } from './helpers.js';

let server: GymTcpServer;
beforeAll(async () => {
  server = await startServer();
});
afterAll(() => server.close());

const golden = JSON.parse(readFileSync(new URL('./fixtures/box2d/CarRacing-v3.json', import.meta.url), 'utf8'));

describe('CarRacing over TCP', () => {
  it("plays a short episode under an old id with Gymnasium's spaces and rewards", async () => {
    const c = await RawClient.connect(server);
    expect((await c.ask(CPP.make('CarRacing-v2'))).instance).toBeTruthy();
    expect((await c.ask(CPP.observationSpace)).info).toMatchObject({ name: 'Box', shape: [96, 96, 3], dtype: 'uint8' });
    expect((await c.ask(CPP.actionSpace)).info).toMatchObject({ name: 'Box', shape: [3], dtype: 'float32' });
    const episode = golden.controlled_episodes[1]; // left_playfield, seed 7
    c.send(CPP.seed(episode.reset_seed) + '\r\n');
    const reset = await c.ask(CPP.reset);
    expect(reset.observation).toHaveLength(96);
    expect(reset.observation[0]).toHaveLength(96);
    expect(reset.observation[95][95]).toHaveLength(3);
    const sums = [0, 0, 0];
    for (const row of reset.observation) for (const px of row) for (let k = 0; k < 3; k++) sums[k] += px[k];
    // Channel means within 1.5 levels of Gymnasium's frame (docs/box2d.md).
    for (let k = 0; k < 3; k++) expect(Math.abs(sums[k] - episode.reset.obs.sum_rgb[k]) / 9216).toBeLessThan(1.5);
    for (const [i, step] of episode.steps.slice(0, 25).entries()) {
      const reply = await c.ask(CPP.step(JSON.stringify(step.action)));
      expect(reply.reward, `step ${i}`).toBe(step.reward);
      expect(reply.done).toBe(false);
    }
    await c.end();
  });

  it("renders state_pixels: the 96x96 frame of the observation; other envs refuse the mode", async () => {
    const c = await RawClient.connect(server);
    await c.ask(CPP.make('CarRacing-v3'));
    c.send(CPP.seed(3) + '\r\n');
    await c.ask(CPP.reset);
    let obs: number[][][] = [];
    for (let i = 0; i < 60; i++) obs = (await c.ask(CPP.step('[0.3, 0.6, 0]'))).observation;
    const state = (await c.ask('{"env":{"action": "render", "mode": "state_pixels"}}')).frame;
    expect(state.shape).toEqual([96, 96, 3]);
    const frame = Buffer.from(state.data, 'base64');
    const seen = Buffer.from(obs.flat(2));
    // The same picture, but for the score: a step draws its observation before taking its 0.1 off
    // the score, and render() draws the score after (as in Gymnasium). The score text covers
    // columns 0..25 of rows 84..95.
    const differing: number[] = [];
    for (let i = 0; i < frame.length; i++) if (frame[i] !== seen[i]) differing.push(i);
    expect(frame.subarray(0, 84 * 96 * 3)).toEqual(seen.subarray(0, 84 * 96 * 3));
    expect(differing.every((i) => Math.floor(i / 3 / 96) >= 84 && Math.floor(i / 3) % 96 <= 25)).toBe(true);
    // rgb_array is the bigger picture, with skid marks.
    expect((await c.ask('{"env":{"action": "render"}}')).frame.shape).toEqual([400, 600, 3]);
    await c.ask(CPP.make('CartPole-v1'));
    await c.ask(CPP.reset);
    const refused = await c.ask('{"env":{"action": "render", "mode": "state_pixels"}}');
    expect(refused.error.code).toBe('BAD_REQUEST');
    expect(refused.error.message).toContain("no 'state_pixels' rendering; it renders: rgb_array");
    await c.end();
  });

  it('keeps a domain_randomize env\'s colours on a reset with {"randomize": false}, over TCP and REST; bad options are refused', async () => {
    const c = await RawClient.connect(server);
    await c.ask(requestLine(request.make('CarRacing-v3', { domain_randomize: true })));
    // The commonest colour but black: the background or grass (the reset's view is zoomed out on the whole field).
    const commonest = (obs: number[][][]) => {
      const counts = new Map<string, number>();
      for (const px of obs.flat()) if (px.some((v) => v > 0)) counts.set(px.join(), (counts.get(px.join()) ?? 0) + 1);
      return [...counts].sort((a, b) => b[1] - a[1])[0][0];
    };
    const first = commonest((await c.ask(CPP.reset)).observation);
    const kept = commonest((await c.ask('{"env":{"action": "reset", "options": {"randomize": false}}}')).observation);
    expect(kept).toEqual(first);
    const redrawn = commonest((await c.ask(requestLine(request.reset({ randomize: true })))).observation);
    expect(redrawn).not.toEqual(first);
    for (const [line, message] of [
      ['{"env":{"action": "reset", "options": {"randomize": 1}}}', "'randomize'"],
      ['{"env":{"action": "reset", "options": {"colours": false}}}', "unknown reset option 'colours' (accepted: randomize)"],
      ['{"env":{"action": "reset", "options": [false]}}', 'must be an object of reset options'],
      ['{"env":{"action": "observationspace", "options": {}}}', 'only "reset" takes options'],
    ]) {
      const reply = await c.ask(line);
      expect(reply.error?.code, line).toBe('BAD_REQUEST');
      expect(reply.error.message).toContain(message);
    }
    // Refused requests changed nothing: the colours are still the last ones drawn.
    expect(commonest((await c.ask('{"env":{"action": "reset", "options": {"randomize": false}}}')).observation)).toEqual(redrawn);
    await c.ask(CPP.make('CartPole-v1'));
    expect((await c.ask('{"env":{"action": "reset", "options": {"low": -0.1}}}')).error.message).toContain("CartPole-v1: unknown reset option 'low' (accepted: none)");
    await c.end();

    const rest = await RestServer.listen(server.pool, { port: 0 });
    try {
      const base = `http://127.0.0.1:${rest.address().port}/v1/envs/`;
      const post = async (url: string, body: unknown) => {
        const res = await fetch(url, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
        return { status: res.status, json: (await res.json()) as any };
      };
      const { instance_id } = (await post(base, { env_id: 'CarRacing-v3', kwargs: { domain_randomize: true } })).json;
      const reset = (body: unknown) => post(`${base}${instance_id}/reset/`, body);
      const before = commonest((await reset({ seed: 3 })).json.observation);
      expect(commonest((await reset({ options: { randomize: false } })).json.observation)).toEqual(before);
      expect(commonest((await reset({})).json.observation)).not.toEqual(before);
      const bad = await reset({ options: { randomize: 'no' } });
      expect([bad.status, bad.json.message]).toEqual([400, expect.stringContaining("'randomize'")]);
      expect((await reset({ options: 7 })).status).toBe(400);
    } finally {
      await rest.close();
    }
  });

  // The snapshot (taken every 64 requests) is the seed and the actions since the reset; a restore
  // replays them without drawing, then the requests sent since run. ~150 steps of 150 KB replies.
  it('rebuilds CarRacing exactly when its worker thread dies', { timeout: 120_000 }, async () => {
    const s = await startServer({ workers: 2 });
    const plan = [{ seed: 11, action: (i: number) => `[${((i * 37) % 17) / 8 - 1}, ${((i * 11) % 13) / 12}, ${i % 9 === 0 ? 0.5 : 0}]` }];
    const total = 76;
    const before = 68; // past the first snapshot
    const expected: any[][] = [];
    for (const p of plan) {
      const c = await RawClient.connect(server);
      await c.ask(CPP.make('CarRacing-v3'));
      c.send(CPP.seed(p.seed) + '\r\n');
      await c.ask(CPP.reset);
      const replies = [];
      for (let i = 0; i < total; i++) replies.push(await c.ask(CPP.step(p.action(i))));
      expected.push(replies);
      await c.end();
    }
    const clients = await Promise.all(plan.map(() => RawClient.connect(s)));
    for (const [k, p] of plan.entries()) {
      const c = clients[k];
      await c.ask(CPP.make('CarRacing-v3'));
      c.send(CPP.seed(p.seed) + '\r\n');
      await c.ask(CPP.reset);
      for (let i = 0; i < before; i++) expect(await c.ask(CPP.step(p.action(i)))).toEqual(expected[k][i]);
      c.send(expected[k].slice(before).map((_, j) => CPP.step(p.action(before + j)) + '\r\n').join(''));
    }
    await new Promise((r) => setTimeout(r, 2));
    await s.pool.piscina.threads[0].terminate();
    for (const [k, c] of clients.entries()) {
      // A new worker first loads the engine and replays the episode: allow more than the default 5 s.
      for (const [j, reply] of expected[k].slice(before).entries()) {
        expect(JSON.parse((await c.nextRaw(30_000)).toString()), `client ${k} step ${before + j}`).toEqual(reply);
      }
      await c.end();
    }
    await s.close();
  });
});
