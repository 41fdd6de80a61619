/**
 * The stats() snapshots (src/stats.ts) of a real server with real worker threads: counters only
 * grow, reading them takes nothing from another reader (the pool's packing), and they count what a
 * test client does over TCP and REST, and a worker thread killed under a session.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RestServer } from '../src/http/rest-server.js';
import { CounterReader, WidenedCounter } from '../src/pool/counters.js';
import { CPP } from '../src/protocol/messages.js';
import type { GymTcpServer } from '../src/server/tcp-server.js';
import type { TcpStats } from '../src/stats.js';
import { ReplySocket } from '../scripts/lib/reply-socket.js';
import { until } from '../scripts/lib/wait.js';
import { RawClient, startServer } from './helpers.js';

/** The figures of a snapshot that are values now rather than counters (src/stats.ts marks each). */
const GAUGES = new Set(['open', 'sessions', 'envs', 'envsById', 'envLimit', 'queued', 'inFlight', 'load', 'spinning']);

/** Every counter of a snapshot, by its path (`pool.workers.0.busyMicros`, `pool.byFront.tcp.requests.step`, …). */
function counters(value: unknown, path = '', into = new Map<string, number>()): Map<string, number> {
  if (typeof value === 'number') into.set(path, value);
  else if (value && typeof value === 'object') {
    for (const [key, child] of Object.entries(value)) if (!GAUGES.has(key)) counters(child, path ? `${path}.${key}` : key, into);
  }
  return into;
}

/** What grew between two snapshots, counter by counter (0s left out). */
function growth(before: TcpStats, after: TcpStats): Record<string, number> {
  const was = counters(before);
  const grown: Record<string, number> = {};
  for (const [path, now] of counters(after)) if (now !== (was.get(path) ?? 0)) grown[path] = now - (was.get(path) ?? 0);
  return grown;
}

const sum = (values: number[]) => values.reduce((a, b) => a + b, 0);

/** Waits for a condition the test needs before it goes on. */
async function reached(condition: () => boolean, timeoutMs = 10_000): Promise<void> {
  expect(await until(condition, timeoutMs), 'timed out waiting').toBe(true);
}

describe('widened counters', () => {
  it('keep an exact total across the 32-bit wrap of the shared word a worker adds to', () => {
    const shared = new Int32Array(new SharedArrayBuffer(8));
    const counter = new WidenedCounter(1);
    counter.moveTo(shared);
    const reader = new CounterReader(() => counter.read());
    let added = 0;
    // Nearly three wraps of 2^32, in steps up to the largest an Int32 add takes, read after each.
    for (const step of [1_000_000_000, 2_000_000_000, 1_500_000_001, 2_147_483_647, 999, 2_000_000_000, 1_999_999_999, 2_147_483_647]) {
      Atomics.add(shared, 1, step);
      added += step;
      expect(counter.read()).toBe(added);
    }
    expect(added).toBeGreaterThan(2 * 2 ** 32);
    expect(reader.delta()).toBe(added);
    // A successor's array starts at 0; what the first one counted is kept.
    const successor = new Int32Array(new SharedArrayBuffer(8));
    counter.moveTo(successor);
    Atomics.add(successor, 1, 5);
    expect(counter.read()).toBe(added + 5);
    expect(reader.delta()).toBe(5);
  });
});

describe('stats() of the TCP front and the pool', () => {
  let server: GymTcpServer;
  beforeAll(async () => {
    server = await startServer({ workers: 2, maxConnections: 3 });
  });
  afterAll(() => server.close());

  it('counts requests by command, errors by code and connections, and its counters only grow', async () => {
    const snapshots: TcpStats[] = [server.stats()];
    // A second reader, reading often, all along.
    const scraper = setInterval(() => snapshots.push(server.stats()), 5);
    try {
      const c = await RawClient.connect(server);
      expect(await c.ask(CPP.make('CartPole-v1'))).toHaveProperty('instance');
      c.send(CPP.seed(7) + '\r\n'); // silent
      expect(await c.ask(CPP.reset)).toHaveProperty('observation');
      for (let i = 0; i < 10; i++) expect(await c.ask(CPP.step('1'))).toHaveProperty('reward');
      expect((await c.ask(CPP.step('7'))).error.code).toBe('INVALID_ACTION');
      expect((await c.ask('{"step": ')).error.code).toBe('BAD_JSON');
      expect((await c.ask('{"bogus": 1}')).error.code).toBe('UNKNOWN_COMMAND');
      // Three open: the fourth is refused at accept.
      const others = [await RawClient.connect(server), await RawClient.connect(server)];
      const refused = await RawClient.connect(server);
      expect((await refused.nextJson()).error.code).toBe('TOO_MANY_CONNECTIONS');
      await reached(() => server.stats().connections.refused.maxConnections === 1);
      const during = server.stats();
      expect(during.connections.open).toBe(3);
      for (const other of [...others, refused, c]) other.destroy();
      await reached(() => server.connectionCount === 0);
      // Enough snapshots for "only grows" to mean something, however fast the requests went.
      await reached(() => snapshots.length > 10);
    } finally {
      clearInterval(scraper);
    }
    snapshots.push(server.stats());
    const [first, last] = [snapshots[0], snapshots[snapshots.length - 1]];
    expect(snapshots.length).toBeGreaterThan(10);

    expect(growth(first, last)).toMatchObject({
      'connections.accepted': 3,
      'connections.refused.maxConnections': 1,
      'pool.sessionsOpened': 3,
      'pool.byFront.tcp.requests.make': 1,
      'pool.byFront.tcp.requests.seed': 1,
      'pool.byFront.tcp.requests.reset': 1,
      'pool.byFront.tcp.requests.step': 11,
      'pool.byFront.tcp.requests.invalid': 2,
      'pool.byFront.tcp.errors.INVALID_ACTION': 1,
      'pool.byFront.tcp.errors.BAD_JSON': 1,
      'pool.byFront.tcp.errors.UNKNOWN_COMMAND': 1,
    });
    const grown = growth(first, last);
    // Nothing else was asked, nothing else failed, and REST saw nothing.
    expect(Object.keys(grown).filter((path) => /requests|errors/.test(path)).sort()).toEqual(
      [
        'make', 'seed', 'reset', 'step', 'invalid',
      ].map((command) => `pool.byFront.tcp.requests.${command}`)
        .concat(['INVALID_ACTION', 'BAD_JSON', 'UNKNOWN_COMMAND'].map((code) => `pool.byFront.tcp.errors.${code}`))
        .sort(),
    );
    expect(sum(last.pool.workers.map((w) => w.busyMicros))).toBeGreaterThan(sum(first.pool.workers.map((w) => w.busyMicros)));
    expect(last.connections.open).toBe(0);

    // Every counter, in every snapshot taken along the way, is at least what it was in the one before.
    for (let i = 1; i < snapshots.length; i++) {
      const was = counters(snapshots[i - 1]);
      for (const [path, now] of counters(snapshots[i])) {
        if (now < (was.get(path) ?? 0)) expect(`${path} went from ${was.get(path)} to ${now}`).toBe('never');
      }
    }
  }, 60_000);

  it('leaves the packing its samples while another reader reads the busy time all the time', async () => {
    // The packing reads each worker's busy microseconds when it places a connection (at most every
    // 250 ms); a scraper reads them every few milliseconds. Were a read to take the figure (the old
    // Atomics.exchange), the packing would see almost none of the load.
    const c = await ReplySocket.connect(server.address().port);
    c.write(`${CPP.make('Acrobot-v1')}\r\n${CPP.reset}\r\n`);
    for (let i = 0; i < 2; i++) expect(typeof (await c.next(10_000))).not.toBe('string');
    const slots = server.stats().pool.workers.length;
    const scraperReaders = Array.from({ length: slots }, (_, w) => new CounterReader(() => server.stats().pool.workers[w].busyMicros));
    const scraperSeen = new Array<number>(slots).fill(0);
    const scraper = setInterval(() => scraperReaders.forEach((reader, w) => (scraperSeen[w] += reader.delta())), 2);
    const start = server.stats();
    const t0 = performance.now();
    let placements = 0;
    try {
      // Pipelined steps (Acrobot: an integration per step) for ~1.5 s, the packing looking every 300 ms.
      const stopAt = t0 + 1500;
      let nextPlacement = t0 + 300;
      while (performance.now() < stopAt) {
        c.write(`${CPP.step('1')}\r\n`.repeat(64));
        for (let i = 0; i < 64; i++) expect(typeof (await c.next(10_000))).not.toBe('string');
        if (performance.now() >= nextPlacement) {
          server.pool.assignSlot();
          placements++;
          nextPlacement += 300;
        }
      }
    } finally {
      clearInterval(scraper);
      await c.end();
    }
    const elapsedMs = performance.now() - t0;
    const end = server.stats();
    scraperReaders.forEach((reader, w) => (scraperSeen[w] += reader.delta()));
    const busiest = end.pool.workers.reduce((b, w, i) => (w.busyMicros - start.pool.workers[i].busyMicros > end.pool.workers[b].busyMicros - start.pool.workers[b].busyMicros ? i : b), 0);
    const busyMicros = end.pool.workers[busiest].busyMicros - start.pool.workers[busiest].busyMicros;
    const share = busyMicros / 1000 / elapsedMs;
    console.log(
      `busiest worker busy ${(share * 100).toFixed(1)}% over ${elapsedMs.toFixed(0)} ms; the packing's load ${(end.pool.workers[busiest].load * 100).toFixed(1)}% after ${placements} looks`,
    );
    expect(placements).toBeGreaterThanOrEqual(3);
    expect(share).toBeGreaterThan(0);
    // Both readers see the whole growth: the scraper's deltas add up to it…
    expect(scraperSeen[busiest]).toBeGreaterThanOrEqual(busyMicros);
    // …and the packing's smoothed share (half weight on each 250 ms+ window) follows the busy share,
    // which it would not if the scraper's reads took the samples (it would see 2 ms in 250).
    expect(end.pool.workers[busiest].load).toBeGreaterThan(share / 4);
  }, 60_000);
});

describe('stats() of the REST front', () => {
  let server: GymTcpServer;
  let rest: RestServer;
  let base: string;
  beforeAll(async () => {
    server = await startServer({ workers: 1 });
    rest = await RestServer.listen(server.pool, { port: 0 });
    base = `http://127.0.0.1:${rest.address().port}`;
  });
  afterAll(async () => {
    await rest.close();
    await server.close();
  });

  const post = async (route: string, body?: unknown) => {
    const res = await fetch(base + route, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body) });
    return { status: res.status, json: (await res.json().catch(() => null)) as any };
  };

  it('counts envs, requests by route, errors by status, and its requests in the pool under rest', async () => {
    const before = { rest: rest.stats(), pool: server.stats().pool };
    const made = await post('/v1/envs/', { env_id: 'CartPole-v1' });
    expect(made.status).toBe(200);
    const id = made.json.instance_id;
    expect((await post(`/v1/envs/${id}/reset/`)).status).toBe(200);
    for (let i = 0; i < 3; i++) expect((await post(`/v1/envs/${id}/step/`, { action: 0 })).status).toBe(200);
    expect((await post(`/v1/envs/${id}/step/`, { action: 5 })).status).toBe(400);
    expect((await post('/v1/envs/nonexistent/step/', { action: 0 })).status).toBe(400);
    expect((await post('/v1/nowhere')).status).toBe(404);
    const after = { rest: rest.stats(), pool: server.stats().pool };

    expect(after.rest.envs).toEqual({ open: before.rest.envs.open + 1, created: before.rest.envs.created + 1, expired: before.rest.envs.expired });
    expect(after.rest.received - before.rest.received).toBe(8);
    const routeGrowth = (route: string) => (after.rest.routes[route] ?? 0) - (before.rest.routes[route] ?? 0);
    expect(routeGrowth('POST /v1/envs/')).toBe(1);
    expect(routeGrowth('POST /v1/envs/<instance_id>/reset/')).toBe(1);
    expect(routeGrowth('POST /v1/envs/<instance_id>/step/')).toBe(5);
    const statusGrowth = (status: number) => (after.rest.errors[status] ?? 0) - (before.rest.errors[status] ?? 0);
    expect(statusGrowth(400)).toBe(2);
    expect(statusGrowth(404)).toBe(1);

    const restCounts = (stats: typeof before.pool) => stats.byFront.rest;
    expect(restCounts(after.pool).requests.make - restCounts(before.pool).requests.make).toBe(1);
    expect(restCounts(after.pool).requests.reset - restCounts(before.pool).requests.reset).toBe(1);
    // The unknown instance never reached the pool.
    expect(restCounts(after.pool).requests.step - restCounts(before.pool).requests.step).toBe(4);
    expect(restCounts(after.pool).errors.INVALID_ACTION - restCounts(before.pool).errors.INVALID_ACTION).toBe(1);
    expect(after.pool.byFront.tcp).toEqual(before.pool.byFront.tcp);
  }, 60_000);
});

describe('stats() when worker threads die', () => {
  it('counts each restart and each session rebuilt on a successor', async () => {
    const server = await startServer({ workers: 2 });
    try {
      const clients = [await RawClient.connect(server), await RawClient.connect(server)];
      for (const c of clients) {
        expect(await c.ask(CPP.make('CartPole-v1'))).toHaveProperty('instance');
        expect(await c.ask(CPP.reset)).toHaveProperty('observation');
      }
      const before = server.stats().pool;
      expect(sum(before.workers.map((w) => w.restarts))).toBe(0);
      expect(sum(before.workers.map((w) => w.envs))).toBe(2);
      const threads = [...server.pool.piscina.threads];
      await Promise.all(threads.map((thread) => thread.terminate()));
      await reached(() => sum(server.stats().pool.workers.map((w) => w.restarts)) === threads.length);
      // Sessions are rebuilt on the successor at their next request, and carry on.
      for (const c of clients) expect(await c.ask(CPP.step('1'))).toHaveProperty('reward');
      const after = server.stats().pool;
      expect(sum(after.workers.map((w) => w.restarts))).toBe(threads.length);
      expect(sum(after.workers.map((w) => w.sessionsRebuilt))).toBe(clients.length);
      expect(sum(after.workers.map((w) => w.envs))).toBe(2);
      // What the dead workers counted is kept.
      for (let w = 0; w < after.workers.length; w++) expect(after.workers[w].busyMicros).toBeGreaterThanOrEqual(before.workers[w].busyMicros);
      for (const c of clients) c.destroy();
    } finally {
      await server.close();
    }
  }, 60_000);
});

describe('stats() of refused authentications', () => {
  it('counts connections refused at their auth line, by reason', async () => {
    const server = await startServer({ workers: 1, authToken: 'sesame' });
    try {
      const noToken = await RawClient.connect(server);
      expect((await noToken.ask(CPP.reset)).error.code).toBe('AUTH_REQUIRED');
      const wrong = await RawClient.connect(server);
      expect((await wrong.ask('{"auth": "open"}')).error.code).toBe('AUTH_FAILED');
      const right = await RawClient.connect(server);
      expect(await right.ask('{"auth": "sesame"}')).toEqual({ auth: 'ok' });
      right.destroy();
      await reached(() => server.connectionCount === 0);
      expect(server.stats().connections).toEqual({
        open: 0,
        accepted: 3,
        refused: { maxConnections: 0, maxConnectionsPerAddress: 0, closing: 0, authRequired: 1, authFailed: 1 },
      });
    } finally {
      await server.close();
    }
  }, 30_000);
});
