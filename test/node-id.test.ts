/**
 * --node-id and health, in process: instance ids name their node on both fronts; /readyz says why a
 * server should get no new clients (its connection limit here), /healthz that it lives.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GymClient } from '../src/client/client.js';
import { SERVE_OPTIONS } from '../src/config/options.js';
import { HealthServer, serverReadiness } from '../src/http/health.js';
import { RestServer } from '../src/http/rest-server.js';
import { nodeIdFromHostname } from '../src/protocol/instance-id.js';
import type { GymTcpServer } from '../src/server/tcp-server.js';
import { startServer } from './helpers.js';

let server: GymTcpServer;
let rest: RestServer;
let health: HealthServer;
let draining = false;
beforeAll(async () => {
  server = await startServer({ nodeId: 'n2', maxConnections: 3 });
  const readiness = serverReadiness(server, () => rest, () => draining);
  rest = await RestServer.listen(server.pool, { port: 0, nodeId: 'n2', readiness });
  health = await HealthServer.listen(0, '127.0.0.1', readiness);
});
afterAll(async () => {
  await health.close();
  await rest.close();
  await server.close();
});

describe('--node-id', () => {
  it('reads lowercase letters and digits only, and makes its default from the host name', () => {
    const parse = (text: string) => SERVE_OPTIONS.nodeId.value.safeParse(text).success;
    expect(['n2', 'gymtcp0', 'a'.repeat(16)].map(parse)).toEqual([true, true, true]);
    expect(['', 'N2', 'n-2', 'n_2', 'a'.repeat(17), 'n2 '].map(parse)).toEqual([false, false, false, false, false, false]);
    expect(nodeIdFromHostname('gym-tcp-0')).toBe('gymtcp0');
    expect(nodeIdFromHostname('IP-10-0-1-23.ec2.internal')).toBe('ip100123');
    expect(nodeIdFromHostname('gym-tcp-5d8c7b9f6-x2k4q')).toBe('cp5d8c7b9f6x2k4q');
    expect(nodeIdFromHostname('---')).toBe('node');
    for (const host of ['gym-tcp-0', 'IP-10-0-1-23.ec2.internal', 'gym-tcp-5d8c7b9f6-x2k4q', '---']) expect(parse(nodeIdFromHostname(host))).toBe(true);
  });

  it('makes ids <node>-<13 hex>, fresh for each env, over TCP and REST', async () => {
    const client = await GymClient.connect(server.address().port);
    const ids = [await client.make('CartPole-v1'), await client.make('CartPole-v1')];
    await client.end();
    const base = `http://127.0.0.1:${rest.address().port}`;
    for (let i = 0; i < 2; i++) {
      const made = await fetch(`${base}/v1/envs/`, { method: 'POST', body: '{"env_id": "CartPole-v1"}' });
      ids.push(((await made.json()) as { instance_id: string }).instance_id);
    }
    for (const id of ids) expect(id).toMatch(/^n2-[0-9a-f]{13}$/);
    expect(new Set(ids).size).toBe(4);
  });
});

describe('/healthz and /readyz', () => {
  const get = async (port: number, route: string) => {
    const res = await fetch(`http://127.0.0.1:${port}${route}`);
    return { status: res.status, body: (await res.json()) as { ready?: boolean; reason?: string; alive?: boolean } };
  };

  it('is ready below its limits, not at its connection limit, nor while draining; alive throughout', async () => {
    const port = health.address().port;
    expect(await get(port, '/readyz')).toEqual({ status: 200, body: { ready: true } });
    const clients = await Promise.all([0, 1, 2].map(() => GymClient.connect(server.address().port)));
    await Promise.all(clients.map((c) => c.make('CartPole-v1')));
    const full = await get(port, '/readyz');
    expect(full.status).toBe(503);
    expect(full.body.reason).toMatch(/connection limit \(3, --max-connections\)/);
    await Promise.all(clients.map((c) => c.end()));
    for (let i = 0; i < 100 && server.connectionCount > 0; i++) await new Promise((r) => setTimeout(r, 10));
    expect((await get(port, '/readyz')).status).toBe(200);
    draining = true;
    expect(await get(port, '/readyz')).toEqual({ status: 503, body: { ready: false, reason: 'draining: the server is shutting down' } });
    expect(await get(port, '/healthz')).toEqual({ status: 200, body: { alive: true } });
    // The REST port answers both too.
    expect((await get(rest.address().port, '/readyz')).status).toBe(503);
    expect((await get(rest.address().port, '/healthz')).status).toBe(200);
    draining = false;
    // The health port serves nothing else.
    expect((await fetch(`http://127.0.0.1:${port}/v1/envs/`)).status).toBe(404);
  });
});
