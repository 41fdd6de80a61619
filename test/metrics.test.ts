/**
 * `/metrics` (src/ops/metrics.ts) scraped over HTTP from a real server with real worker threads, on
 * the REST port and on the health port, after real TCP and REST traffic: the series are there, and
 * they move as the traffic says (requests and errors by command and code, envs by id, connections by
 * front, step times, workers restarted and sessions rebuilt), without taking anything from the
 * pool's own readers.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HealthServer } from '../src/http/health.js';
import { RestServer } from '../src/http/rest-server.js';
import { Metrics } from '../src/ops/metrics.js';
import { STEP_MICROS_BUCKETS } from '../src/pool/worker-figures.js';
import { CPP } from '../src/protocol/messages.js';
import type { GymTcpServer } from '../src/server/tcp-server.js';
import { until } from '../scripts/lib/wait.js';
import { RawClient, startServer } from './helpers.js';

/** One scrape: each sample's value by `name{labels}` as printed (labels in prom-client's order). */
type Samples = Map<string, number>;

function parse(text: string): Samples {
  const samples: Samples = new Map();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const at = line.lastIndexOf(' ');
    samples.set(line.slice(0, at), Number(line.slice(at + 1)));
  }
  return samples;
}

/** The value of a series, or undefined when the scrape does not have it. */
const value = (samples: Samples, series: string) => samples.get(series);
const sumOf = (samples: Samples, prefix: string) => [...samples].filter(([k]) => k.startsWith(prefix)).reduce((a, [, v]) => a + v, 0);

let server: GymTcpServer;
let rest: RestServer;
let health: HealthServer;
let metrics: Metrics;

async function scrape(port: number): Promise<Samples> {
  const res = await fetch(`http://127.0.0.1:${port}/metrics`);
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
  return parse(await res.text());
}
const viaRest = () => scrape(rest.address().port);
const viaHealth = () => scrape(health.address().port);

beforeAll(async () => {
  server = await startServer({ workers: 2, nodeId: 'm1' });
  let restFront: RestServer | null = null;
  metrics = new Metrics({ tcp: server, rest: () => restFront, version: '9.9.9' });
  rest = restFront = await RestServer.listen(server.pool, { port: 0, nodeId: 'm1', connectionLimit: server.connectionLimit, metrics });
  health = await HealthServer.listen(0, '127.0.0.1', () => null, metrics);
});

afterAll(async () => {
  await rest?.close();
  await health?.close();
  await server?.close();
});

describe('/metrics', () => {
  it('serves the server, its process and zeros for what has not happened yet, on the health port and the REST port', async () => {
    for (const samples of [await viaHealth(), await viaRest()]) {
      expect(value(samples, 'gym_tcp_info{node="m1",version="9.9.9"}')).toBe(1);
      expect(value(samples, 'gym_tcp_process_cpu_user_seconds_total')).toBeGreaterThan(0);
      expect(value(samples, 'gym_tcp_nodejs_eventloop_lag_seconds')).toBeGreaterThanOrEqual(0);
      expect(value(samples, 'gym_tcp_env_limit')).toBe(server.pool.envBudget.limit);
      expect(value(samples, 'gym_tcp_worker_restarts_total{worker="0"}')).toBe(0);
      expect(value(samples, 'gym_tcp_worker_restarts_total{worker="1"}')).toBe(0);
      expect(value(samples, 'gym_tcp_requests_total{front="tcp",command="step"}')).toBe(0);
      expect(value(samples, 'gym_tcp_request_errors_total{front="tcp",code="INVALID_ACTION"}')).toBe(0);
      expect(value(samples, 'gym_tcp_step_duration_seconds_count')).toBe(0);
      expect(value(samples, 'gym_tcp_step_duration_seconds_bucket{le="+Inf"}')).toBe(0);
    }
  });

  it('counts TCP and REST traffic by front, command, code and env id, and times every step', async () => {
    const cartpoles = await Promise.all([0, 1, 2].map(() => RawClient.connect(server)));
    const pendulum = await RawClient.connect(server);
    const STEPS = 40;
    for (const c of cartpoles) {
      expect(await c.ask(CPP.make('CartPole-v1'))).toHaveProperty('instance');
      expect(await c.ask(CPP.reset)).toHaveProperty('observation');
    }
    expect(await pendulum.ask(CPP.make('Pendulum-v1'))).toHaveProperty('instance');
    expect(await pendulum.ask(CPP.reset)).toHaveProperty('observation');
    for (let i = 0; i < STEPS; i++) {
      await Promise.all(cartpoles.map(async (c) => expect(await c.ask(CPP.step('1'))).toHaveProperty('reward')));
      expect(await pendulum.ask(CPP.step('[0.5]'))).toHaveProperty('reward');
    }
    // One step with a bad action and one line that is not a request.
    expect((await cartpoles[0].ask(CPP.step('7'))).error.code).toBe('INVALID_ACTION');
    expect((await cartpoles[0].ask('not json')).error.code).toBe('BAD_JSON');
    // REST: one FrozenLake env, reset and stepped.
    const base = `http://127.0.0.1:${rest.address().port}`;
    const made = (await (await fetch(`${base}/v1/envs/`, { method: "POST", body: JSON.stringify({ env_id: "FrozenLake-v1" }) })).json()) as { instance_id: string };
    expect(made.instance_id).toMatch(/^m1-/);
    await fetch(`${base}/v1/envs/${made.instance_id}/reset/`, { method: 'POST', body: '{}' });
    const REST_STEPS = 5;
    for (let i = 0; i < REST_STEPS; i++) {
      await fetch(`${base}/v1/envs/${made.instance_id}/step/`, { method: 'POST', body: JSON.stringify({ action: 1 }) });
    }

    const during = await viaRest();
    expect(value(during, 'gym_tcp_connections{front="tcp"}')).toBe(4);
    // At least this scrape's own connection (fetch keeps others alive a while).
    expect(value(during, 'gym_tcp_connections{front="rest"}')).toBeGreaterThanOrEqual(1);
    expect(value(during, 'gym_tcp_connections_accepted_total')).toBe(4);
    expect(value(during, 'gym_tcp_envs{env_id="CartPole-v1"}')).toBe(3);
    expect(value(during, 'gym_tcp_envs{env_id="Pendulum-v1"}')).toBe(1);
    expect(value(during, 'gym_tcp_envs{env_id="FrozenLake-v1"}')).toBe(1);
    expect(sumOf(during, 'gym_tcp_envs{')).toBe(server.pool.envBudget.total);
    expect(value(during, 'gym_tcp_rest_envs')).toBe(1);
    const tcpSteps = 4 * STEPS + 1;
    expect(value(during, 'gym_tcp_requests_total{front="tcp",command="step"}')).toBe(tcpSteps);
    expect(value(during, 'gym_tcp_requests_total{front="tcp",command="make"}')).toBe(4);
    expect(value(during, 'gym_tcp_requests_total{front="tcp",command="reset"}')).toBe(4);
    expect(value(during, 'gym_tcp_requests_total{front="tcp",command="invalid"}')).toBe(1);
    expect(value(during, 'gym_tcp_request_errors_total{front="tcp",code="INVALID_ACTION"}')).toBe(1);
    expect(value(during, 'gym_tcp_requests_total{front="rest",command="step"}')).toBe(REST_STEPS);
    expect(value(during, 'gym_tcp_requests_total{front="rest",command="make"}')).toBe(1);
    expect(value(during, 'gym_tcp_http_requests_total{route="POST /v1/envs/<instance_id>/step/"}')).toBe(REST_STEPS);

    // Every step, over both fronts, is in the histogram once; its buckets are cumulative and end at the count.
    const count = value(during, 'gym_tcp_step_duration_seconds_count')!;
    expect(count).toBe(tcpSteps + REST_STEPS);
    let previous = 0;
    for (const bound of STEP_MICROS_BUCKETS) {
      const n = value(during, `gym_tcp_step_duration_seconds_bucket{le="${bound / 1e6}"}`)!;
      expect(n).toBeGreaterThanOrEqual(previous);
      previous = n;
    }
    expect(value(during, 'gym_tcp_step_duration_seconds_bucket{le="+Inf"}')).toBe(count);
    const stepSeconds = value(during, 'gym_tcp_step_duration_seconds_sum')!;
    expect(stepSeconds).toBeGreaterThan(0);
    // The steps' time is part of the workers' busy time.
    expect(stepSeconds).toBeLessThanOrEqual(sumOf(during, 'gym_tcp_worker_busy_seconds_total{') + 1e-6);
    for (const w of ['0', '1']) {
      const share = value(during, `gym_tcp_worker_busy_ratio{worker="${w}"}`)!;
      expect(share).toBeGreaterThanOrEqual(0);
      expect(share).toBeLessThanOrEqual(1);
    }
    expect(sumOf(during, 'gym_tcp_worker_busy_ratio{')).toBeGreaterThan(0);

    // Connections closed: their envs go, the gauges follow, the counters keep what they counted.
    for (const c of [...cartpoles, pendulum]) c.destroy();
    await fetch(`${base}/v1/envs/${made.instance_id}/close/`, { method: 'POST', body: '{}' });
    expect(await until(() => server.pool.envBudget.total === 0 && server.connectionCount === 0, 10_000)).toBe(true);
    const after = await viaHealth();
    expect(value(after, 'gym_tcp_connections{front="tcp"}')).toBe(0);
    expect(sumOf(after, 'gym_tcp_envs{')).toBe(0);
    expect(value(after, 'gym_tcp_requests_total{front="tcp",command="step"}')).toBe(tcpSteps);
    expect(value(after, 'gym_tcp_step_duration_seconds_count')).toBe(count);
    expect(value(after, 'gym_tcp_step_duration_seconds_sum')).toBe(stepSeconds);
  });

  it('takes no samples from the pool: the scrape\'s busy figures are the pool\'s, and its packing still sees its own', async () => {
    const c = await RawClient.connect(server);
    await c.ask(CPP.make('CartPole-v1'));
    await c.ask(CPP.reset);
    for (let i = 0; i < 200; i++) await c.ask(CPP.step('0'));
    const before = server.stats().pool.workers.map((w) => w.busyMicros);
    const samples = await viaHealth();
    const after = server.stats().pool.workers.map((w) => w.busyMicros);
    for (let w = 0; w < before.length; w++) {
      const scraped = value(samples, `gym_tcp_worker_busy_seconds_total{worker="${w}"}`)! * 1e6;
      expect(scraped).toBeGreaterThanOrEqual(before[w] - 1e-3);
      expect(scraped).toBeLessThanOrEqual(after[w] + 1e-3);
    }
    // Two scrapes in a row: counters never go back.
    const again = await viaRest();
    for (const [series, v] of samples) {
      if (/_total(\{|$)/.test(series) && series.startsWith('gym_tcp_') && !series.startsWith('gym_tcp_process') && !series.startsWith('gym_tcp_nodejs')) {
        expect(again.get(series), series).toBeGreaterThanOrEqual(v);
      }
    }
    c.destroy();
  });

  it('answers scrapes that arrive together, on both ports, each with a whole scrape', async () => {
    // Over HTTP, and called in the same turn (prom-client reads metrics asynchronously: scrapes interleave).
    const texts = await Promise.all(Array.from({ length: 6 }, () => metrics.scrape()));
    const all = [...texts.map(parse), ...(await Promise.all(Array.from({ length: 6 }, (_, i) => (i % 2 ? viaRest() : viaHealth()))))];
    for (const samples of all) {
      expect(value(samples, 'gym_tcp_info{node="m1",version="9.9.9"}')).toBe(1);
      expect(value(samples, 'gym_tcp_step_duration_seconds_bucket{le="+Inf"}')).toBe(value(samples, 'gym_tcp_step_duration_seconds_count'));
      expect(value(samples, 'gym_tcp_worker_restarts_total{worker="0"}')).toBeDefined();
    }
  });

  it('counts a worker thread\'s restart and the sessions rebuilt on its successor; the steps counted before stay', async () => {
    const clients = [await RawClient.connect(server), await RawClient.connect(server)];
    for (const c of clients) {
      await c.ask(CPP.make('CartPole-v1'));
      await c.ask(CPP.reset);
      await c.ask(CPP.step('1'));
    }
    const before = await viaHealth();
    await Promise.all([...server.pool.piscina.threads].map((thread) => thread.terminate()));
    expect(await until(() => server.stats().pool.workers.every((w) => w.restarts === 1), 10_000)).toBe(true);
    for (const c of clients) expect(await c.ask(CPP.step('1'))).toHaveProperty('reward');
    const after = await viaHealth();
    expect(value(after, 'gym_tcp_worker_restarts_total{worker="0"}')).toBe(1);
    expect(value(after, 'gym_tcp_worker_restarts_total{worker="1"}')).toBe(1);
    expect(sumOf(after, 'gym_tcp_sessions_rebuilt_total{')).toBe(clients.length);
    // The rebuilt sessions' envs are counted on the successors, once.
    expect(value(after, 'gym_tcp_envs{env_id="CartPole-v1"}')).toBe(2);
    expect(value(after, 'gym_tcp_step_duration_seconds_count')).toBe(value(before, 'gym_tcp_step_duration_seconds_count')! + clients.length);
    for (const c of clients) c.destroy();
  });
});
