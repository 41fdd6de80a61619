/**
 * Three real gym-tcp processes behind a real HAProxy running the shipped deploy/haproxy/haproxy.cfg
 * (its addresses, ports and check interval substituted in a temporary copy): spread and exactness of
 * TCP play, REST routed to the node that holds each env, a backend killed under load, a backend
 * drained with SIGTERM. `.ci/run` installs haproxy; without /usr/sbin/haproxy this file is skipped.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { promisify } from 'node:util';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GymClient } from '../src/client/client.js';
import { spawnServer, type SpawnedServer } from '../scripts/lib/spawn.js';
import { sleep } from '../scripts/lib/wait.js';
import { CPP_MISSING, cppBuildable, cppClientBinary } from './cpp-client.js';

const HAPROXY = '/usr/sbin/haproxy';
const present = existsSync(HAPROXY);
if (!present) console.warn(`test/haproxy.test.ts skipped: ${HAPROXY} is absent (apt-get install haproxy; .ci/run does)`);

/** The test copy's check interval: fall 2 of them takes a server out. */
const INTER_MS = 200;
const DRAIN_DELAY_S = 3;

async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((r) => server.close(r));
  return port;
}

/** Runs `start`, again (up to 5 times) when it failed because a port it chose was taken meanwhile. */
async function withFreshPorts<T>(start: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await start();
    } catch (err) {
      if (attempt >= 5 || !/EADDRINUSE|Address already in use/.test(String((err as Error).message))) throw err;
    }
  }
}

interface Node {
  name: string;
  tcp: number;
  rest: number;
  health: number;
  server: SpawnedServer;
}

const nodeOf = (instance: string) => instance.split('-')[0];

let nodes: Node[] = [];
let haproxy: ChildProcess;
let haproxyLog = '';
let tmp = '';
const front = { tcp: 0, rest: 0 };

/** The shipped config, pointed at loopback ports, checking every INTER_MS. */
function testConfig(): string {
  let cfg = readFileSync(new URL('../deploy/haproxy/haproxy.cfg', import.meta.url), 'utf8');
  cfg = cfg.replace('bind :4040', `bind 127.0.0.1:${front.tcp}`).replace('bind :5000', `bind 127.0.0.1:${front.rest}`);
  cfg = cfg.replace(/default-server inter 2s/, `default-server inter ${INTER_MS}ms`);
  // Without `timeout check` a check must be answered within `inter`: 2 s shipped, but 200 ms here, which a
  // server on a loaded 2-core machine sometimes misses twice (its node then looked dead and REST got
  // HAProxy's 503 page). The shipped 2 s for the answer; a dead server still fails at once (refused).
  cfg = cfg.replace(/^defaults\n/m, 'defaults\n    timeout check 2s\n');
  // Each connection takes two descriptors in HAProxy; this machine may allow fewer than the shipped maxconn needs.
  cfg = cfg.replace(/maxconn \d+/, 'maxconn 2000');
  for (const node of nodes) {
    cfg = cfg
      .replaceAll(`server ${node.name} ${node.name}:4040 check port 8080`, `server ${node.name} 127.0.0.1:${node.tcp} check port ${node.health}`)
      .replaceAll(`server ${node.name} ${node.name}:5000 check port 8080`, `server ${node.name} 127.0.0.1:${node.rest} check port ${node.health}`);
  }
  if (/ n\d:\d+ /.test(cfg)) throw new Error('a server of the shipped config was not substituted');
  return cfg;
}

/** A seeded CartPole run of `steps` steps (reset at each episode's end), its observations and rewards as text. */
async function play(client: GymClient, seed: number, steps: number): Promise<string[]> {
  const out: string[] = [];
  client.seed(seed);
  out.push(JSON.stringify((await client.reset()).observation));
  for (let t = 0; t < steps; t++) {
    const action = await client.sample();
    const step = await client.step(action);
    out.push(JSON.stringify([action, step.observation, step.reward, step.done]));
    if (step.done) out.push(JSON.stringify((await client.reset()).observation));
  }
  return out;
}

async function readyStatus(node: Node): Promise<number> {
  return (await fetch(`http://127.0.0.1:${node.health}/readyz`)).status;
}

/** Opens `count` connections through HAProxy and returns the node each landed on (then closes them). */
async function landings(count: number): Promise<string[]> {
  const clients = await Promise.all(Array.from({ length: count }, () => GymClient.connect(front.tcp)));
  const landed = await Promise.all(clients.map(async (c) => nodeOf(await c.make('CartPole-v1'))));
  await Promise.all(clients.map((c) => c.end()));
  return landed;
}

/**
 * `count` clients stepping through HAProxy until stopped; each records its node, steps and how it
 * ended. Resolves once every one has its env and has stepped.
 */
async function load(count: number) {
  let running = true;
  let started = 0;
  let allStarted: () => void;
  const ready = new Promise<void>((r) => (allStarted = r));
  const players = Array.from({ length: count }, async (_, i) => {
    const client = await GymClient.connect(front.tcp);
    const node = nodeOf(await client.make('CartPole-v1'));
    client.seed(i);
    await client.reset();
    await client.step(0);
    if (++started === count) allStarted();
    let steps = 1;
    let error: string | null = null;
    try {
      while (running) {
        const step = await client.step(0);
        steps += 1;
        if (step.done) await client.reset();
      }
    } catch (err) {
      error = (err as Error).message;
    }
    if (error === null) await client.end();
    return { node, steps, error };
  });
  await Promise.race([ready, Promise.all(players)]);
  return { stop: async () => ((running = false), Promise.all(players)) };
}

describe.skipIf(!present)('three gym-tcp servers behind HAProxy with the shipped config', () => {
  beforeAll(async () => {
    // A port found free can be taken by another test file's server before ours binds it (the suite
    // runs files side by side): a start that fails on a taken port is tried again with new ports.
    nodes = await Promise.all(
      ['n1', 'n2', 'n3'].map((name) =>
        withFreshPorts(async () => {
          const [tcp, rest, health] = [await freePort(), await freePort(), await freePort()];
          const server = await spawnServer(
            ['--port', String(tcp), '--http-port', String(rest), '--health-port', String(health), '--node-id', name, '--workers', '2', '--drain-delay', String(DRAIN_DELAY_S)],
            { listening: /health checks on (\[[^\]]+\]|[^\s:]+):(\d+)/ },
          );
          return { name, tcp, rest, health, server };
        }),
      ),
    );
    tmp = mkdtempSync(path.join(os.tmpdir(), 'gym-tcp-haproxy-'));
    await withFreshPorts(async () => {
      front.tcp = await freePort();
      front.rest = await freePort();
      haproxyLog = '';
      writeFileSync(path.join(tmp, 'haproxy.cfg'), testConfig());
      haproxy = spawn(HAPROXY, ['-db', '-f', path.join(tmp, 'haproxy.cfg')], { stdio: ['ignore', 'pipe', 'pipe'] });
      haproxy.stdout!.on('data', (d) => (haproxyLog += d));
      haproxy.stderr!.on('data', (d) => (haproxyLog += d));
      // Up once HAProxy answers on both fronts and every server has passed its checks.
      for (let i = 0; ; i++) {
        try {
          const landed = new Set(await landings(6));
          if (landed.size === 3) break;
        } catch {
          // not listening yet
        }
        if (i > 100 || haproxy.exitCode !== null) throw new Error(`HAProxy did not come up: ${haproxyLog}`);
        await sleep(100);
      }
    });
  }, 60_000);

  afterAll(async () => {
    haproxy?.kill('SIGKILL');
    await Promise.all(nodes.map((n) => n.server.stop('SIGKILL')));
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  it('spreads 30 TCP clients over the three (each ≥ 5) and plays every seeded trajectory as a direct connection does', async () => {
    const clients = await Promise.all(Array.from({ length: 30 }, () => GymClient.connect(front.tcp)));
    const instances = await Promise.all(clients.map((c) => c.make('CartPole-v1')));
    const spread = Object.fromEntries(nodes.map((n) => [n.name, instances.filter((id) => nodeOf(id) === n.name).length]));
    console.log('TCP spread over HAProxy (leastconn):', spread);
    for (const node of nodes) expect(spread[node.name], JSON.stringify(spread)).toBeGreaterThanOrEqual(5);
    const through = await Promise.all(clients.map((c, i) => play(c, 1000 + i, 120)));
    await Promise.all(clients.map((c) => c.end()));

    const direct = await GymClient.connect(nodes[0].tcp);
    await direct.make('CartPole-v1');
    for (let i = 0; i < 30; i++) expect(through[i]).toEqual(await play(direct, 1000 + i, 120));
    await direct.end();
  });

  it('plays seeded episodes with the upstream C++ client through HAProxy exactly as directly (where Boost and Armadillo are installed)', async (ctx) => {
    if (!cppBuildable) {
      console.warn(CPP_MISSING);
      return ctx.skip();
    }
    const binary = await cppClientBinary('episode.cpp');
    const episode = async (port: number, seed: number) => {
      const { stdout } = await promisify(execFile)(binary, ['127.0.0.1', String(port), String(seed)], { timeout: 30_000 });
      const [first, ...rest] = stdout.trimEnd().split('\n');
      return { instance: /^instance (\S+)$/.exec(first)![1], lines: rest };
    };
    const seeds = [7, 8, 9, 10, 11, 12];
    const through = await Promise.all(seeds.map((seed) => episode(front.tcp, seed)));
    for (const [i, seed] of seeds.entries()) {
      expect(nodes.map((n) => n.name)).toContain(nodeOf(through[i].instance));
      const direct = await episode(nodes[i % nodes.length].tcp, seed);
      expect(through[i].lines).toEqual(direct.lines);
      expect(through[i].lines.at(-1)).toMatch(/^steps \d+$/);
      expect(through[i].lines.length).toBeGreaterThan(5);
    }
    // Different seeds, different episodes: the comparison above could have failed.
    expect(through[0].lines).not.toEqual(through[1].lines);
  }, 180_000);

  it('routes REST by the node in the instance id: 30 envs made through HAProxy, each stepped 100 times through it', async () => {
    const rest = `http://127.0.0.1:${front.rest}`;
    const post = async (route: string, body: unknown) => {
      const res = await fetch(rest + route, { method: 'POST', body: JSON.stringify(body) });
      return { status: res.status, json: (await res.json()) as Record<string, unknown> };
    };
    const ids: string[] = [];
    for (let i = 0; i < 30; i++) {
      const made = await post('/v1/envs/', { env_id: 'CartPole-v1', seed: i });
      expect(made.status).toBe(200);
      ids.push(made.json.instance_id as string);
    }
    const byNode = new Set(ids.map(nodeOf));
    expect(byNode.size, ids.join(' ')).toBeGreaterThanOrEqual(2);
    const failures: string[] = [];
    await Promise.all(
      ids.map(async (id) => {
        await post(`/v1/envs/${id}/reset/`, {});
        for (let t = 0; t < 100; t++) {
          const step = await post(`/v1/envs/${id}/step/`, { action: t % 2 });
          if (step.status !== 200) failures.push(`${id}: ${step.status} ${JSON.stringify(step.json)}`);
          else if (step.json.done) await post(`/v1/envs/${id}/reset/`, {});
        }
      }),
    );
    expect(failures).toEqual([]);
    // An id of no node (or of an unknown one) goes to any server, which says it does not know it.
    const unknown = await post('/v1/envs/n9-0000000000000/step/', { action: 0 });
    expect(unknown.status).toBe(400);
    expect(unknown.json.message).toMatch(/Instance_id n9-0000000000000 unknown/);
  }, 90_000);

  it("routes recording links by node: every TCP client's url, fetched through HAProxy's HTTP front, is its own node's video", async () => {
    // Six agents through HAProxy's TCP front (spread by leastconn), each recording one rendered episode.
    const clients = await Promise.all(Array.from({ length: 6 }, () => GymClient.connect(front.tcp)));
    const links = await Promise.all(
      clients.map(async (client, i) => {
        await client.make('CartPole-v1');
        client.seed(i);
        await client.reset();
        for (let t = 0; ; t++) if ((await client.step(t % 3 === 0 ? 0 : 1, true)).done) break;
        const link = await client.url();
        await client.end(); // the episode ended; closing also ends its recording
        return link;
      }),
    );
    const owners = new Set(links.map((link) => nodeOf(new URL(link).pathname.split('/')[2])));
    expect(owners.size, links.join(' ')).toBeGreaterThanOrEqual(2);
    for (const link of links) {
      // The link names the node that holds the video; HAProxy's HTTP front sends it there, whichever
      // node a balancer would otherwise pick (deploy/haproxy/haproxy.cfg, the /recordings/ rule).
      const through = `http://127.0.0.1:${front.rest}${new URL(link).pathname}`;
      const res = await fetch(through);
      expect(res.status, through).toBe(200);
      expect(res.headers.get('content-type')).toBe('video/mp4');
      const body = Buffer.from(await res.arrayBuffer());
      expect(body.subarray(4, 8).toString('latin1')).toBe('ftyp');
    }
  }, 90_000);

  it('kill -9 of a backend under load: its clients see their connections end, the others carry on, new connections succeed within one health-check interval', async () => {
    const victim = nodes[2];
    const running = await load(30);
    await sleep(300);
    const killedAt = performance.now();
    victim.server.child.kill('SIGKILL');
    // New connections: until HAProxy's checks take the dead server out (fall 2 × inter), one sent to it
    // may be closed; after that, every one succeeds.
    let first: string[] = [];
    let failedBatches = 0;
    for (;;) {
      try {
        first = await landings(10);
        break;
      } catch {
        failedBatches += 1;
        await sleep(20);
      }
    }
    const firstAfterMs = performance.now() - killedAt;
    await sleep(500);
    const results = await running.stop();
    const onVictim = results.filter((r) => r.node === victim.name);
    const others = results.filter((r) => r.node !== victim.name);
    console.log(
      `kill -9 of ${victim.name}: ${onVictim.length} of its clients cut, ${others.length} others with ${others.filter((r) => r.error).length} errors; ` +
        `10 new connections all succeeded ${firstAfterMs.toFixed(0)} ms after the kill (${failedBatches} batches before had a connection closed), on ${[...new Set(first)].join(',')}`,
    );
    expect(onVictim.length).toBeGreaterThan(0);
    for (const r of onVictim) expect(r.error).toMatch(/closed|ECONNRESET|EPIPE/);
    expect(others.filter((r) => r.error)).toEqual([]);
    expect(first).not.toContain(victim.name);
    expect(firstAfterMs).toBeLessThan(2 * INTER_MS + 2000);
  });

  it('SIGTERM of a backend under load: /readyz fails first, HAProxy sends it nothing new, in-flight requests are answered, it exits 0', async () => {
    const victim = nodes[1];
    const running = await load(20);
    await sleep(300);
    const exited = new Promise<number | null>((r) => victim.server.child.once('exit', (code) => r(code)));
    const termAt = performance.now();
    victim.server.child.kill('SIGTERM');
    // /readyz fails at once, while the server still serves its clients (the drain delay).
    let readyFailedMs = -1;
    while (readyFailedMs < 0) {
      if ((await readyStatus(victim)) === 503) readyFailedMs = performance.now() - termAt;
      else await sleep(10);
    }
    // HAProxy takes it out after `fall` failed checks: new connections stop landing on it.
    let outMs = -1;
    while (outMs < 0 && performance.now() - termAt < DRAIN_DELAY_S * 1000) {
      const landed = await landings(4);
      if (!landed.includes(victim.name)) outMs = performance.now() - termAt;
      else await sleep(20);
    }
    expect(outMs, 'HAProxy still sent new connections at the end of the drain delay').toBeGreaterThan(0);
    const code = await exited;
    const stoppedMs = performance.now() - termAt;
    const results = await running.stop();
    const onVictim = results.filter((r) => r.node === victim.name);
    const others = results.filter((r) => r.node !== victim.name);
    console.log(
      `SIGTERM of ${victim.name}: /readyz 503 after ${readyFailedMs.toFixed(0)} ms, out of HAProxy's rotation after ${outMs.toFixed(0)} ms, ` +
        `exit ${code} after ${stoppedMs.toFixed(0)} ms (drain delay ${DRAIN_DELAY_S} s); its ${onVictim.length} clients: ` +
        `${onVictim.map((r) => r.steps).reduce((a, b) => a + b, 0)} steps answered, ended by ${[...new Set(onVictim.map((r) => r.error))].join('; ')}`,
    );
    expect(readyFailedMs).toBeLessThan(outMs);
    expect(code).toBe(0);
    // Its clients were answered every step they got a reply to (GymClient fails on a cut reply) and then saw the connection end.
    for (const r of onVictim) expect(r.error).toBe('connection closed by the server');
    expect(others.filter((r) => r.error)).toEqual([]);
  });
});
