/**
 * The gym-http-api REST front, over real HTTP connections to a real GymTcpServer pool with real
 * worker threads: every route, every error case, monitor files, lifetime, concurrency, keep-alive.
 */
import { execFileSync } from 'node:child_process';
import http from 'node:http';
import https from 'node:https';
import { mkdtemp, readFile, readdir, rm, symlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RestServer, type RestServerOptions } from '../src/http/rest-server.js';
import type { GymTcpServer } from '../src/server/tcp-server.js';
import { CPP } from '../src/protocol/messages.js';
import { RawClient, golden, startServer } from './helpers.js';

let server: GymTcpServer;
let rest: RestServer;
let root: string;
let base: string;

beforeAll(async () => {
  server = await startServer({ workers: 2 });
  root = await mkdtemp(path.join(os.tmpdir(), 'gym-tcp-monitor-test-'));
  rest = await RestServer.listen(server.pool, { port: 0, monitorRoot: root });
  base = `http://127.0.0.1:${rest.address().port}`;
});
afterAll(async () => {
  await rest.close();
  await server.close();
  await rm(root, { recursive: true, force: true });
});

const cartpole = golden('CartPole-v1.json');

interface Answer {
  status: number;
  text: string;
  json: any;
  headers: Headers;
}

/** One request; `body` is sent as JSON unless it is a string (sent as it is). */
async function call(method: string, route: string, body?: unknown, at = base): Promise<Answer> {
  const init: RequestInit = { method, headers: { 'Content-Type': 'application/json' } };
  if (body !== undefined) init.body = typeof body === 'string' ? body : JSON.stringify(body);
  const res = await fetch(at + route, init);
  const text = await res.text();
  let json: any = null;
  try {
    json = JSON.parse(text);
  } catch {
    // not JSON (204, text)
  }
  return { status: res.status, text, json, headers: res.headers };
}

async function ok(method: string, route: string, body?: unknown, at = base): Promise<any> {
  const answer = await call(method, route, body, at);
  expect(answer.status, `${method} ${route}: ${answer.text}`).toBe(200);
  return answer.json;
}

async function create(envId: string, extra: Record<string, unknown> = {}, at = base): Promise<string> {
  const { instance_id } = await ok('POST', '/v1/envs/', { env_id: envId, ...extra }, at);
  expect(instance_id).toMatch(/^[a-z0-9]{1,16}-[0-9a-f]{13}$/);
  return instance_id;
}

async function expectError(answer: Promise<Answer>, status: number, contains: string): Promise<Answer> {
  const a = await answer;
  expect(a.status, a.text).toBe(status);
  expect(Object.keys(a.json)).toEqual(['message']);
  expect(a.json.message).toContain(contains);
  return a;
}

describe('the gym-http-api routes', () => {
  it('create, list, spaces, reset, step, close — shapes, floats as floats', async () => {
    const id = await create('CartPole-v0');
    expect((await ok('GET', '/v1/envs/')).all_envs[id]).toBe('CartPole-v0');

    const action = await call('GET', `/v1/envs/${id}/action_space/`);
    expect(action.json).toEqual({ info: { name: 'Discrete', n: 2, start: 0, dtype: 'int64' } });
    expect(action.headers.get('content-type')).toBe('application/json');
    const observation = await call('GET', `/v1/envs/${id}/observation_space/`);
    expect(observation.text).toBe(
      '{"info": {"name": "Box", "shape": [4], "low": [-4.800000190734863, -1e+100, -0.41887903213500977, -1e+100], ' +
        '"high": [4.800000190734863, 1e+100, 0.41887903213500977, 1e+100], "dtype": "float32"}}\n',
    );

    const reset = await ok('POST', `/v1/envs/${id}/reset/`, null); // the Python client sends `null`
    expect(reset.observation).toHaveLength(4);
    const step = await call('POST', `/v1/envs/${id}/step/`, { action: 1, render: false });
    expect(step.status).toBe(200);
    expect(step.text).toMatch(/^\{"observation": \[[^\]]+\], "reward": 1\.0, "done": false, "info": \{\}, "terminated": false, "truncated": false\}\n$/);

    const sample = await ok('GET', `/v1/envs/${id}/action_space/sample`);
    expect(Object.keys(sample)).toEqual(['action']);
    expect([0, 1]).toContain(sample.action);

    const closed = await call('POST', `/v1/envs/${id}/close/`, null);
    expect(closed.status).toBe(204);
    expect(closed.text).toBe('');
    expect((await ok('GET', '/v1/envs/')).all_envs[id]).toBeUndefined();
  });

  it('old env ids: FrozenLake-v0 observations are ints, and the listing keeps the id asked for', async () => {
    const id = await create('FrozenLake-v0');
    expect((await ok('GET', '/v1/envs/')).all_envs[id]).toBe('FrozenLake-v0');
    expect((await ok('POST', `/v1/envs/${id}/reset/`)).observation).toBe(0);
    const step = await call('POST', `/v1/envs/${id}/step/`, { action: 0 });
    expect(step.text).toMatch(/^\{"observation": \d+, "reward": 0\.0, /);
    expect((await call('POST', `/v1/envs/${id}/close/`)).status).toBe(204);
  });

  it('seeds as TCP does: the first reset and the action space, exactly Gymnasium', async () => {
    const id = await create('CartPole-v1', { seed: 42 });
    const expected = cartpole.reset_by_seed.find((r: any) => r.seed === 42);
    const samples = [];
    for (let i = 0; i < 5; i++) samples.push((await ok('GET', `/v1/envs/${id}/action_space/sample`)).action);
    expect(samples).toEqual(cartpole.action_sample_by_seed.find((s: any) => s.seed === 42).samples.slice(0, 5));
    expect((await ok('POST', `/v1/envs/${id}/reset/`)).observation).toEqual(expected.obs);

    // Seed 0 seeds too (gym-http-api's `if seed:` skipped it), and so does a string of digits.
    const zero = await create('CartPole-v1', { seed: 0 });
    expect((await ok('POST', `/v1/envs/${zero}/reset/`)).observation).toEqual(cartpole.reset_by_seed.find((r: any) => r.seed === 0).obs);
    const text = await create('CartPole-v1', { seed: '42' });
    expect((await ok('POST', `/v1/envs/${text}/reset/`)).observation).toEqual(expected.obs);
    // gym-tcp: reset takes a seed too; the same trajectory as over TCP.
    expect((await ok('POST', `/v1/envs/${zero}/reset/`, { seed: 42 })).observation).toEqual(expected.obs);
    const episode = cartpole.episodes[0];
    const seeded = await create('CartPole-v1');
    await ok('POST', `/v1/envs/${seeded}/reset/`, { seed: episode.reset_seed });
    const tcp = await RawClient.connect(server);
    await tcp.ask(CPP.make('CartPole-v1'));
    tcp.send(CPP.seed(episode.reset_seed) + '\r\n');
    await tcp.ask(CPP.reset);
    for (const s of episode.steps.slice(0, 20)) {
      const over = await call('POST', `/v1/envs/${seeded}/step/`, { action: s.action });
      tcp.send(CPP.step(String(s.action)) + '\r\n');
      expect(over.text).toBe((await tcp.nextRaw()).toString() + '\n');
      expect(over.json.observation).toEqual(s.obs);
    }
    await tcp.end();
    for (const x of [id, zero, text, seeded]) await call('POST', `/v1/envs/${x}/close/`);
  });

  it('action_space/contains/<x> parses x as an integer; observation_space/contains matches space properties', async () => {
    const id = await create('CartPole-v0');
    expect(await ok('GET', `/v1/envs/${id}/action_space/contains/0`)).toEqual({ member: true });
    expect(await ok('GET', `/v1/envs/${id}/action_space/contains/1`)).toEqual({ member: true });
    expect(await ok('GET', `/v1/envs/${id}/action_space/contains/2`)).toEqual({ member: false });
    expect(await ok('GET', `/v1/envs/${id}/action_space/contains/-1`)).toEqual({ member: false });
    expect(await ok('GET', `/v1/envs/${id}/action_space/contains/%201%20`)).toEqual({ member: true });
    await expectError(call('GET', `/v1/envs/${id}/action_space/contains/abc`), 400, "invalid literal for int() with base 10: 'abc'");

    const contains = (body: unknown) => ok('POST', `/v1/envs/${id}/observation_space/contains`, body);
    expect(await contains({ name: 'Box' })).toEqual({ member: true });
    expect(await contains({ shape: [4] })).toEqual({ member: true });
    expect(await contains({ name: 'Box', shape: [4] })).toEqual({ member: true });
    expect(await contains({ low: [-4.8, -1e100, -0.41887903213500977, -1e100] })).toEqual({ member: true });
    expect(await contains({ name: 'Discrete' })).toEqual({ member: false });
    expect(await contains({ shape: [2] })).toEqual({ member: false });
    expect(await contains({ n: 2 })).toEqual({ member: false });
    expect(await contains({})).toEqual({ member: true });
    await expectError(call('POST', `/v1/envs/${id}/observation_space/contains`, 'null'), 400, 'Request is not a valid json');

    // gym-tcp: other spaces take a JSON value.
    const pendulum = await create('Pendulum-v1');
    expect(await ok('GET', `/v1/envs/${pendulum}/action_space/contains/${encodeURIComponent('[0.5]')}`)).toEqual({ member: true });
    expect(await ok('GET', `/v1/envs/${pendulum}/action_space/contains/${encodeURIComponent('[2.5]')}`)).toEqual({ member: false });
    expect((await ok('GET', `/v1/envs/${pendulum}/action_space/sample`)).action[0]).toEqual(expect.any(Number));
    const step = await call('POST', `/v1/envs/${pendulum}/reset/`);
    expect(step.status).toBe(200);
    expect((await call('POST', `/v1/envs/${pendulum}/step/`, { action: [0.5] })).json.reward).toEqual(expect.any(Number));
    for (const x of [id, pendulum]) await call('POST', `/v1/envs/${x}/close/`);
  });

  it("gym-server's routes: help, create (201), info", async () => {
    const help = await ok('GET', '/v1/help');
    expect(help.v1['/v1/envs/<instance_id>/step/']).toEqual({ methods: 'OPTIONS,POST', doc: expect.stringContaining('timestep') });
    expect(help.v1['/v1/envs/'].methods).toBe('GET,HEAD,OPTIONS,POST');
    expect(Object.keys(help.v1)).toContain('/v1/envs/<instance_id>/action_space/contains/<x>');
    expect(Object.keys(help.v1)).toContain('/v1/envs/create/');

    const made = await call('POST', '/v1/envs/create/', { environment: 'CartPole-v0' });
    expect(made.status).toBe(201);
    const id = made.json.instance_id;
    const info = await ok('GET', `/v1/envs/${id}/info`);
    expect(info.action_space).toEqual({ name: 'Discrete', n: 2, start: 0, dtype: 'int64' });
    expect(info.observation_space).toMatchObject({ name: 'Box', shape: [4] });
    await expectError(call('POST', '/v1/envs/create/', {}), 400, "'environment'");
    await call('POST', `/v1/envs/${id}/close/`);
  });

  it('accepts routes with or without their trailing slash, HEAD and OPTIONS', async () => {
    const id = await create('CartPole-v0');
    expect((await call('GET', '/v1/envs')).status).toBe(200);
    expect((await call('GET', `/v1/envs/${id}/action_space`)).json.info.name).toBe('Discrete'); // the C++ binding's path
    expect((await call('GET', `/v1/envs/${id}/action_space/sample/`)).status).toBe(200);
    const options = await call('OPTIONS', `/v1/envs/${id}/step/`);
    expect(options.status).toBe(204);
    expect(options.headers.get('allow')).toBe('OPTIONS, POST');
    const head = await call('HEAD', '/v1/envs/');
    expect(head.status).toBe(200);
    expect(head.text).toBe('');
    await call('POST', `/v1/envs/${id}/close`);
  });
});

describe('errors, as gym-http-api gives them: {"message": …}', () => {
  it('an unknown instance id is a 400 naming Instance_id, on every route', async () => {
    const routes: [string, string, unknown?][] = [
      ['POST', '/v1/envs/bad_id/reset/'],
      ['POST', '/v1/envs/bad_id/step/', { action: 1 }],
      ['GET', '/v1/envs/bad_id/action_space/'],
      ['GET', '/v1/envs/bad_id/action_space/sample'],
      ['GET', '/v1/envs/bad_id/action_space/contains/1'],
      ['GET', '/v1/envs/bad_id/observation_space/'],
      ['POST', '/v1/envs/bad_id/observation_space/contains', { name: 'Box' }],
      ['GET', '/v1/envs/bad_id/info'],
      ['POST', '/v1/envs/bad_id/monitor/start/', { directory: 'tmp', force: true }],
      ['POST', '/v1/envs/bad_id/monitor/close/'],
      ['POST', '/v1/envs/bad_id/close/'],
    ];
    for (const [method, route, body] of routes) {
      const a = await expectError(call(method, route, body), 400, 'Instance_id');
      expect(a.json.message).toBe('Instance_id bad_id unknown');
    }
  });

  it('a missing parameter is a 400 naming it; null, "" and [] count as missing', async () => {
    await expectError(call('POST', '/v1/envs/', {}), 400, "A required request parameter 'env_id' was not provided");
    await expectError(call('POST', '/v1/envs/', { env_id: '' }), 400, "'env_id'");
    const id = await create('CartPole-v0');
    await ok('POST', `/v1/envs/${id}/reset/`);
    await expectError(call('POST', `/v1/envs/${id}/step/`, {}), 400, "'action'");
    await expectError(call('POST', `/v1/envs/${id}/step/`, { action: [] }), 400, "'action'");
    await expectError(call('POST', `/v1/envs/${id}/monitor/start/`, { force: true, resume: false }), 400, "'directory'");
    // Parameters are checked before the instance, as gym-http-api does.
    await expectError(call('POST', '/v1/envs/bad_id/step/', {}), 400, "'action'");
    await call('POST', `/v1/envs/${id}/close/`);
  });

  it('an unknown env id says malformed environment ID', async () => {
    const a = await expectError(call('POST', '/v1/envs/', { env_id: 'bad string' }), 400, 'malformed environment ID');
    expect(a.json.message).toMatch(/^Attempted to look up malformed environment ID 'bad string'/);
    await expectError(call('POST', '/v1/envs/', { env_id: 'CartPol-v1' }), 400, 'did you mean');
    await expectError(call('POST', '/v1/envs/', { env_id: 42 }), 400, "malformed environment ID '42'");
    await expectError(call('POST', '/v1/envs/', { env_id: 'FrozenLake-v1', kwargs: { nope: 1 } }), 400, "'nope'");
    await expectError(call('POST', '/v1/envs/', { env_id: 'CartPole-v1', seed: -1 }), 400, "'seed'");
    expect(Object.keys((await ok('GET', '/v1/envs/')).all_envs)).toHaveLength(0);
  });

  it("seeds follow the protocol's rule (a number or a string of digits); render never fails a step", async () => {
    const observed = async (seed: unknown) => {
      const id = await create('CartPole-v1');
      const { observation } = await ok('POST', `/v1/envs/${id}/reset/`, { seed });
      await call('POST', `/v1/envs/${id}/close/`);
      return observation;
    };
    const byNumber = await observed(42);
    expect(await observed('42')).toEqual(byNumber);
    expect(await observed('0042')).toEqual(byNumber);
    expect(await observed('18446744073709551657')).not.toEqual(byNumber); // beyond 2^64: any size, as over TCP
    const id = await create('CartPole-v1');
    for (const seed of [-1, 1.5, 2 ** 53, '4 2', 'x', true, [42]]) {
      await expectError(call('POST', `/v1/envs/${id}/reset/`, { seed }), 400, "'seed' must be a non-negative integer");
    }
    await ok('POST', `/v1/envs/${id}/reset/`, { seed: 42 });
    // The protocol's flags (0, 1, booleans), flags as clients write them ("false"), and anything else by truthiness.
    for (const [i, render] of [0, 1, true, false, 'false', 'yes', 2, null, [1], 'maybe'].entries()) {
      const step = await call('POST', `/v1/envs/${id}/step/`, { action: i % 2, render });
      expect(step.status, `render ${JSON.stringify(render)}: ${step.text}`).toBe(200);
    }
    await call('POST', `/v1/envs/${id}/close/`);
  });

  it('bodies that are not JSON are a 400, not a crash', async () => {
    await expectError(call('POST', '/v1/envs/', '{"env_id": '), 400, 'Request is not a valid json');
    await expectError(call('POST', '/v1/envs/', 'env_id=CartPole-v0'), 400, 'Request is not a valid json');
    await expectError(call('POST', '/v1/envs/', ''), 400, 'Request is not a valid json');
    await expectError(call('POST', '/v1/envs/', 'null'), 400, 'Request is not a valid json');
    await expectError(call('POST', '/v1/envs/', '[1, 2]'), 400, 'Request is not a valid json');
    const id = await create('CartPole-v0');
    await expectError(call('POST', `/v1/envs/${id}/reset/`, '{oops'), 400, 'Request is not a valid json');
    await expectError(call('POST', `/v1/envs/${id}/step/`, '\u00ff\u0000'), 400, 'Request is not a valid json');
    // The server is fine afterwards.
    expect((await ok('POST', `/v1/envs/${id}/reset/`)).observation).toHaveLength(4);
    await call('POST', `/v1/envs/${id}/close/`);
  });

  it('environment errors: step before reset, invalid actions', async () => {
    const id = await create('CartPole-v0');
    await expectError(call('POST', `/v1/envs/${id}/step/`, { action: 1 }), 400, `POST /v1/envs/${id}/reset/`);
    await ok('POST', `/v1/envs/${id}/reset/`);
    await expectError(call('POST', `/v1/envs/${id}/step/`, { action: 5 }), 400, 'not in Discrete(2)');
    await expectError(call('POST', `/v1/envs/${id}/step/`, { action: { a: 1 } }), 400, 'not in Discrete(2)');
    await ok('POST', `/v1/envs/${id}/step/`, { action: '1' }); // the string forms of the protocol work too
    await call('POST', `/v1/envs/${id}/close/`);
  });

  it('unknown routes are 404, wrong methods 405, oversized bodies 413 — all {"message"}', async () => {
    await expectError(call('GET', '/v1/nope'), 404, 'GET /v1/help');
    await expectError(call('GET', '/v1/no/such/route/at/all'), 404, 'no route'); // `/` is the live view's page (live.test.ts)
    const a = await expectError(call('GET', '/v1/envs/x/step/'), 405, 'POST');
    expect(a.headers.get('allow')).toBe('OPTIONS, POST');
    await expectError(call('DELETE', '/v1/envs/'), 405, 'GET or POST');
    await expectError(call('POST', '/v1/envs/', JSON.stringify({ env_id: 'x'.repeat(2 * 1024 * 1024) })), 413, 'larger than');
    await expectError(call('GET', '/v1/envs/%E0%A4%A/info'), 400, 'percent-encoding');
  });

  it('upload: required parameters as before, then a clear 410: the service is gone', async () => {
    await expectError(call('POST', '/v1/upload/', { algorithm_id: null, api_key: 'k' }), 400, "'training_dir'");
    await expectError(call('POST', '/v1/upload/', { training_dir: 'tmp', api_key: '', algorithm_id: null }), 400, "'api_key'");
    await expectError(call('POST', '/v1/upload/', { training_dir: 'tmp', api_key: 'k' }), 410, 'no longer exists');
  });

  it('shutdown is a 403 unless the operator allowed it', async () => {
    await expectError(call('POST', '/v1/shutdown/'), 403, '--allow-shutdown');
    let asked = 0;
    const other = await RestServer.listen(server.pool, { port: 0, monitorRoot: root, allowShutdown: true, onShutdown: () => asked++ });
    const answer = await call('POST', '/v1/shutdown/', null, `http://127.0.0.1:${other.address().port}`);
    expect(answer.status).toBe(200);
    expect(answer.text).toBe('Server shutting down');
    await new Promise((r) => setTimeout(r, 50));
    expect(asked).toBe(1);
    await other.close();

    // Without onShutdown, the REST server closes itself (and its envs).
    const alone = await RestServer.listen(server.pool, { port: 0, monitorRoot: root, allowShutdown: true });
    const at = `http://127.0.0.1:${alone.address().port}`;
    await create('CartPole-v0', {}, at);
    expect((await call('POST', '/v1/shutdown/', null, at)).status).toBe(200);
    await new Promise((r) => setTimeout(r, 100));
    expect(alone.envCount).toBe(0);
    await expect(fetch(at + '/v1/envs/')).rejects.toThrow();
  });
});

describe('the monitor', () => {
  async function play(id: string, episodes: number): Promise<number[]> {
    const lengths = [];
    for (let e = 0; e < episodes; e++) {
      await ok('POST', `/v1/envs/${id}/reset/`);
      for (let n = 1; ; n++) {
        const step = await ok('POST', `/v1/envs/${id}/step/`, { action: 1 });
        if (step.done) {
          lengths.push(n);
          break;
        }
      }
    }
    return lengths;
  }

  it("writes Gym's manifest and per-episode stats files when it closes", async () => {
    const id = await create('CartPole-v0', { seed: 3 });
    const start = await call('POST', `/v1/envs/${id}/monitor/start/`, { directory: 'run1', force: true, resume: false, video_callable: false });
    expect(start.status).toBe(204);
    const lengths = await play(id, 3);
    await ok('POST', `/v1/envs/${id}/reset/`); // an episode under way at close: not in the stats
    await ok('POST', `/v1/envs/${id}/step/`, { action: 0 });
    expect((await call('POST', `/v1/envs/${id}/monitor/close/`)).status).toBe(204);

    const dir = path.join(root, 'run1');
    const files = (await readdir(dir)).sort();
    expect(files).toHaveLength(2);
    expect(files[0]).toMatch(new RegExp(`^openaigym\\.episode_batch\\.\\d+\\.${process.pid}\\.stats\\.json$`));
    expect(files[1]).toMatch(new RegExp(`^openaigym\\.manifest\\.\\d+\\.${process.pid}\\.manifest\\.json$`));
    const statsText = await readFile(path.join(dir, files[0]), 'utf8');
    const stats = JSON.parse(statsText);
    expect(Object.keys(stats)).toEqual(['initial_reset_timestamp', 'timestamps', 'episode_lengths', 'episode_rewards', 'episode_types']);
    expect(stats.episode_lengths).toEqual(lengths);
    expect(stats.episode_rewards).toEqual(lengths);
    expect(statsText).toContain(`"episode_rewards": [${lengths.map((l) => `${l}.0`).join(', ')}]`);
    expect(stats.episode_types).toEqual(['t', 't', 't', 't']);
    expect(stats.timestamps).toHaveLength(3);
    expect(stats.initial_reset_timestamp).toBeGreaterThan(1.6e9);
    expect(stats.initial_reset_timestamp).toBeLessThanOrEqual(stats.timestamps[0]);
    const manifest = JSON.parse(await readFile(path.join(dir, files[1]), 'utf8'));
    expect(manifest).toEqual({ stats: files[0], videos: [], env_info: { gym_version: expect.stringContaining('gym-tcp'), env_id: 'CartPole-v0' } });

    // The env carries on unmonitored; a new monitor in the same directory needs force or resume.
    await ok('POST', `/v1/envs/${id}/reset/`);
    await expectError(call('POST', `/v1/envs/${id}/monitor/start/`, { directory: 'run1' }), 400, 'existing monitor files');
    expect((await call('POST', `/v1/envs/${id}/monitor/start/`, { directory: 'run1', resume: true })).status).toBe(204);
    await play(id, 1);
    // Closing the env writes the monitor's files too.
    expect((await call('POST', `/v1/envs/${id}/close/`)).status).toBe(204);
    expect(await readdir(dir)).toHaveLength(4);
    const forced = await create('CartPole-v0');
    expect((await call('POST', `/v1/envs/${forced}/monitor/start/`, { directory: 'run1', force: 'true' })).status).toBe(204);
    expect(await readdir(dir)).toHaveLength(0);
    await call('POST', `/v1/envs/${forced}/close/`);
    expect(await readdir(dir)).toHaveLength(2);
  });

  it('confines directories under the monitor root', async () => {
    const id = await create('CartPole-v0');
    for (const directory of ['..', '../escape', 'a/../../escape', '/../../etc', 'a/..\\..\\..\\escape']) {
      await expectError(call('POST', `/v1/envs/${id}/monitor/start/`, { directory, force: true }), 400, 'escapes the monitor root');
    }
    await expectError(call('POST', `/v1/envs/${id}/monitor/start/`, { directory: 'a\u0000b' }), 400, 'NUL');
    await expectError(call('POST', `/v1/envs/${id}/monitor/start/`, { directory: 7 }), 400, "'directory' must be a string");
    await expectError(call('POST', `/v1/envs/${id}/monitor/start/`, { directory: 'v', video_callable: 'x' }), 400, 'video_callable');
    // A symbolic link inside the root that leads out of it.
    const outside = await mkdtemp(path.join(os.tmpdir(), 'gym-tcp-outside-'));
    await symlink(outside, path.join(root, 'link'));
    await expectError(call('POST', `/v1/envs/${id}/monitor/start/`, { directory: 'link/x' }), 400, 'leads out of the monitor root');
    expect(await readdir(outside)).toHaveLength(0);
    await rm(outside, { recursive: true });
    // A file where a directory should be.
    await writeFile(path.join(root, 'file'), '');
    await expectError(call('POST', `/v1/envs/${id}/monitor/start/`, { directory: 'file/x' }), 400, 'not a directory');

    // Absolute paths (gym-http-api's example agent uses /tmp/random-agent-results) land below the root.
    expect((await call('POST', `/v1/envs/${id}/monitor/start/`, { directory: '/tmp/random-agent-results', force: true })).status).toBe(204);
    expect((await call('POST', `/v1/envs/${id}/monitor/close/`)).status).toBe(204);
    expect(await readdir(path.join(root, 'tmp', 'random-agent-results'))).toHaveLength(2);
    // …unless they are inside it already.
    const inside = path.join(root, 'inside');
    expect((await call('POST', `/v1/envs/${id}/monitor/start/`, { directory: inside })).status).toBe(204);
    expect((await call('POST', `/v1/envs/${id}/monitor/close/`)).status).toBe(204);
    expect(await readdir(inside)).toHaveLength(2);
    // monitor/close without a monitor is fine, as in gym-http-api.
    expect((await call('POST', `/v1/envs/${id}/monitor/close/`)).status).toBe(204);
    await call('POST', `/v1/envs/${id}/close/`);
  });
});

describe('lifetime', () => {
  async function withRest<T>(options: Partial<RestServerOptions>, run: (at: string, r: RestServer) => Promise<T>): Promise<T> {
    const r = await RestServer.listen(server.pool, { port: 0, monitorRoot: root, ...options });
    try {
      return await run(`http://127.0.0.1:${r.address().port}`, r);
    } finally {
      await r.close();
    }
  }

  it('closes envs idle past the timeout (and writes their monitor files); busy envs stay', async () => {
    await withRest({ idleTimeoutMs: 300 }, async (at, r) => {
      const idle = await create('CartPole-v0', {}, at);
      const busy = await create('CartPole-v0', {}, at);
      expect((await call('POST', `/v1/envs/${idle}/monitor/start/`, { directory: 'idle', force: true }, at)).status).toBe(204);
      await ok('POST', `/v1/envs/${idle}/reset/`, undefined, at);
      for (let i = 0; i < 8; i++) {
        await ok('POST', `/v1/envs/${busy}/reset/`, undefined, at);
        await new Promise((res) => setTimeout(res, 75));
      }
      const all = (await ok('GET', '/v1/envs/', undefined, at)).all_envs;
      expect(Object.keys(all)).toEqual([busy]);
      await expectError(call('POST', `/v1/envs/${idle}/reset/`, undefined, at), 400, `Instance_id ${idle} unknown`);
      expect((await readdir(path.join(root, 'idle'))).length).toBe(2);
      expect(r.envCount).toBe(1);
    });
  });

  it('refuses envs beyond the limit with a 429, and takes them again once some are closed', async () => {
    await withRest({ maxEnvs: 2 }, async (at) => {
      const a = await create('CartPole-v0', {}, at);
      await create('CartPole-v0', {}, at);
      await expectError(call('POST', '/v1/envs/', { env_id: 'CartPole-v0' }, at), 429, '--rest-max-envs');
      await call('POST', `/v1/envs/${a}/close/`, undefined, at);
      await create('CartPole-v0', {}, at);
    });
  });

  it('closes its envs when it stops', async () => {
    const dir = 'at-stop';
    const r = await RestServer.listen(server.pool, { port: 0, monitorRoot: root });
    const at = `http://127.0.0.1:${r.address().port}`;
    const id = await create('CartPole-v0', {}, at);
    await call('POST', `/v1/envs/${id}/monitor/start/`, { directory: dir, force: true }, at);
    await r.close();
    expect(r.envCount).toBe(0);
    expect(await readdir(path.join(root, dir))).toHaveLength(2);
  });

  it('rebuilds the envs of a worker thread that dies: REST clients carry on as if nothing happened', async () => {
    const s = await startServer({ workers: 2 });
    const r = await RestServer.listen(s.pool, { port: 0, monitorRoot: root });
    const at = `http://127.0.0.1:${r.address().port}`;
    const episode = cartpole.episodes[0];
    const ids = [];
    for (let i = 0; i < 4; i++) {
      const id = await create('CartPole-v1', { seed: episode.reset_seed }, at);
      expect((await ok('POST', `/v1/envs/${id}/reset/`, undefined, at)).observation).toEqual(episode.reset.obs);
      for (const step of episode.steps.slice(0, 5)) await ok('POST', `/v1/envs/${id}/step/`, { action: step.action }, at);
      ids.push(id);
    }
    // Kill, from outside, every worker thread (Piscina starts new ones).
    await Promise.all(s.pool.piscina.threads.map((t) => t.terminate()));
    for (const id of ids) {
      for (const step of episode.steps.slice(5)) {
        const reply = await ok('POST', `/v1/envs/${id}/step/`, { action: step.action }, at);
        for (let k = 0; k < 4; k++) expect(Math.abs(reply.observation[k] - step.obs[k])).toBeLessThan(1e-6);
        expect(reply.terminated).toBe(step.terminated);
      }
      expect((await call('POST', `/v1/envs/${id}/close/`, undefined, at)).status).toBe(204);
    }
    await r.close();
    await s.close();
  });
});

describe('concurrency and keep-alive', () => {
  it('many clients at once, each with its own env, all get their own trajectories', async () => {
    const episode = cartpole.episodes[0];
    const steps = episode.steps.slice(0, 15);
    const clients = Array.from({ length: 32 }, async () => {
      const id = await create('CartPole-v1');
      await ok('POST', `/v1/envs/${id}/reset/`, { seed: episode.reset_seed });
      const observations = [];
      for (const s of steps) observations.push((await ok('POST', `/v1/envs/${id}/step/`, { action: s.action })).observation);
      expect((await call('POST', `/v1/envs/${id}/close/`)).status).toBe(204);
      return observations;
    });
    for (const observations of await Promise.all(clients)) expect(observations).toEqual(steps.map((s: any) => s.obs));
  });

  it('concurrent requests on one env are serialised: the same samples as one at a time', async () => {
    const id = await create('CartPole-v1', { seed: 5 });
    await ok('POST', `/v1/envs/${id}/reset/`);
    const answers = await Promise.all(Array.from({ length: 20 }, () => call('GET', `/v1/envs/${id}/action_space/sample`)));
    const reference = await create('CartPole-v1', { seed: 5 });
    const expected = [];
    for (let i = 0; i < 20; i++) expected.push((await ok('GET', `/v1/envs/${reference}/action_space/sample`)).action);
    expect(answers.map((a) => a.json.action).sort()).toEqual(expected.sort());
    for (const x of [id, reference]) await call('POST', `/v1/envs/${x}/close/`);
  });

  it('keeps connections alive between requests', async () => {
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    const port = rest.address().port;
    const request = (method: string, route: string, body?: string) =>
      new Promise<{ status: number; body: string; reused: boolean; connection?: string }>((resolve, reject) => {
        const req = http.request({ agent, port, host: '127.0.0.1', method, path: route, headers: { 'Content-Type': 'application/json' } }, (res) => {
          let text = '';
          res.setEncoding('utf8');
          res.on('data', (d) => (text += d));
          res.on('end', () => resolve({ status: res.statusCode!, body: text, reused: req.reusedSocket, connection: res.headers.connection }));
        });
        req.on('error', reject);
        req.end(body);
      });
    const first = await request('POST', '/v1/envs/', JSON.stringify({ env_id: 'CartPole-v0' }));
    expect(first.connection).toBe('keep-alive');
    const id = JSON.parse(first.body).instance_id;
    const reused = [];
    reused.push((await request('POST', `/v1/envs/${id}/reset/`)).reused);
    for (let i = 0; i < 5; i++) reused.push((await request('POST', `/v1/envs/${id}/step/`, '{"action": 0}')).reused);
    reused.push((await request('GET', '/v1/nope')).reused); // errors keep the connection too
    reused.push((await request('POST', `/v1/envs/${id}/close/`)).reused);
    expect(reused.every(Boolean)).toBe(true);
    agent.destroy();
  });
});

describe('the TCP front\'s token, TLS and environment limit apply to REST too', () => {
  it('needs the token (Bearer, or Basic as a client base URL with credentials sends it) when the server has one', async () => {
    const r = await RestServer.listen(server.pool, { port: 0, monitorRoot: root, authToken: 's3cret' });
    const at = `http://127.0.0.1:${r.address().port}`;
    const get = (headers: Record<string, string>) => fetch(at + '/v1/envs/', { headers });
    const refused = await get({});
    expect(refused.status).toBe(401);
    expect(refused.headers.get('www-authenticate')).toContain('Bearer');
    expect(((await refused.json()) as { message: string }).message).toContain('Authorization: Bearer');
    expect((await get({ Authorization: 'Bearer nope' })).status).toBe(401);
    expect((await get({ Authorization: 'Token s3cret' })).status).toBe(401);
    expect((await get({ Authorization: 'Bearer s3cret' })).status).toBe(200);
    const basic = (userinfo: string) => 'Basic ' + Buffer.from(userinfo).toString('base64');
    expect((await get({ Authorization: basic(':s3cret') })).status).toBe(200); // http://:s3cret@host:port
    expect((await get({ Authorization: basic('s3cret:') })).status).toBe(200); // http://s3cret@host:port
    expect((await get({ Authorization: basic('user:wrong') })).status).toBe(401);
    await r.close();
  });

  it('serves HTTPS with the TCP front\'s certificate', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'gym-tcp-rest-tls-'));
    execFileSync('openssl', [
      'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=localhost',
      '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1',
      '-keyout', path.join(dir, 'key.pem'), '-out', path.join(dir, 'cert.pem'),
    ], { stdio: 'ignore' });
    const cert = await readFile(path.join(dir, 'cert.pem'));
    const r = await RestServer.listen(server.pool, { port: 0, monitorRoot: root, tls: { cert, key: await readFile(path.join(dir, 'key.pem')) } });
    const body = await new Promise<string>((resolve, reject) => {
      const req = https.request(
        { host: '127.0.0.1', port: r.address().port, method: 'POST', path: '/v1/envs/', ca: cert, headers: { 'Content-Type': 'application/json' } },
        (res) => {
          let text = '';
          res.on('data', (d) => (text += d));
          res.on('end', () => resolve(text));
        },
      );
      req.on('error', reject);
      req.end('{"env_id": "CartPole-v1"}');
    });
    expect(JSON.parse(body).instance_id).toMatch(/^[a-z0-9]{1,16}-[0-9a-f]{13}$/);
    await r.close();
    await rm(dir, { recursive: true });
  });

  it('counts REST envs against the server-wide --max-envs (429 beyond it)', async () => {
    const s = await startServer({ workers: 1, maxEnvs: 1 });
    const r = await RestServer.listen(s.pool, { port: 0, monitorRoot: root });
    const at = `http://127.0.0.1:${r.address().port}`;
    const id = await create('CartPole-v1', {}, at);
    await expectError(call('POST', '/v1/envs/', { env_id: 'CartPole-v1' }, at), 429, 'max-envs');
    expect(Object.keys((await ok('GET', '/v1/envs/', undefined, at)).all_envs)).toEqual([id]);
    await call('POST', `/v1/envs/${id}/close/`, undefined, at);
    for (let i = 0; i < 50 && s.pool.envBudget.total > 0; i++) await new Promise((res) => setTimeout(res, 10));
    await create('CartPole-v1', {}, at);
    await r.close();
    await s.close();
  });
});

describe('recordings', () => {
  it('points TCP `url` replies at the HTTP front, which says plainly that an env that rendered nothing has no video', async () => {
    const s = await startServer();
    const r = await RestServer.listen(s.pool, { port: 0, monitorRoot: root, recorder: s.recorder });
    s.serveRecordingsOn(r.address().port);
    const c = await RawClient.connect(s);
    const { instance } = await c.ask(CPP.make('CartPole-v1'));
    const { url } = await c.ask(CPP.url);
    expect(url).toBe(`http://127.0.0.1:${r.address().port}/recordings/${instance}.mp4`);
    const answer = await call('GET', new URL(url).pathname, undefined, `http://127.0.0.1:${r.address().port}`);
    expect(answer.status).toBe(404);
    expect(answer.json.message).toContain('nothing was rendered in that episode');
    await c.end();
    await r.close();
    await s.close();
  });
});
