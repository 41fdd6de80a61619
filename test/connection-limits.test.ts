/**
 * Limits that keep one front, one address or one slow client from holding what the others need
 * (README "Operating gym-tcp"): connections of both fronts in one count, TLS handshakes counted and
 * timed out, the file-descriptor limit read at start, REST request deadlines, REST's share of the
 * environments. Real servers, real sockets, small limits.
 */
import { spawn } from 'node:child_process';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import tls from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GymClient } from '../src/client/client.js';
import { RestServer } from '../src/http/rest-server.js';
import { CPP } from '../src/protocol/messages.js';
import type { GymTcpServer } from '../src/server/tcp-server.js';
import { GYM_TCP_BIN } from '../scripts/lib/spawn.js';
import { RawClient, startServer } from './helpers.js';
import { sleep } from '../scripts/lib/wait.js';


/** A socket that has connected, and what it has read until the server closed it. */
interface Held {
  socket: net.Socket;
  text: () => string;
  closed: Promise<void>;
  isClosed: () => boolean;
}

function hold(port: number): Promise<Held> {
  return new Promise((resolve, reject) => {
    let text = '';
    let isClosed = false;
    const socket = net.connect(port, '127.0.0.1');
    socket.on('data', (d) => (text += d));
    const closed = new Promise<void>((r) => socket.once('close', () => ((isClosed = true), r())));
    socket.once('error', () => {});
    socket.once('connect', () => resolve({ socket, text: () => text, closed, isClosed: () => isClosed }));
    socket.once('error', reject);
  });
}

/** Resolves with what `held` read once the server closed it, or rejects after `ms`. */
async function closedWithin(held: Held, ms: number): Promise<string> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([held.closed, new Promise((_, reject) => (timer = setTimeout(() => reject(new Error(`still open after ${ms} ms; read: ${held.text()}`)), ms)))]);
  clearTimeout(timer);
  return held.text();
}

let cert: Buffer;
let key: Buffer;
let certDir: string;
beforeAll(() => {
  certDir = mkdtempSync(join(tmpdir(), 'gym-tcp-limits-tls-'));
  execFileSync('openssl', [
    'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=localhost',
    '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1',
    '-keyout', join(certDir, 'key.pem'), '-out', join(certDir, 'cert.pem'),
  ], { stdio: 'ignore' });
  cert = readFileSync(join(certDir, 'cert.pem'));
  key = readFileSync(join(certDir, 'key.pem'));
});
afterAll(() => rmSync(certDir, { recursive: true, force: true }));

/** A TLS client's handshake: resolves true when it ends, false when the server closes first. */
function handshake(port: number): Promise<{ ok: boolean; socket: tls.TLSSocket }> {
  return new Promise((resolve) => {
    const socket = tls.connect({ host: '127.0.0.1', servername: 'localhost', port, ca: cert });
    socket.once('secureConnect', () => resolve({ ok: true, socket }));
    socket.once('error', () => resolve({ ok: false, socket }));
    socket.once('close', () => resolve({ ok: false, socket }));
  });
}

describe('connections of every kind count (one count over both fronts)', () => {
  let s: GymTcpServer;
  let rest: RestServer;
  beforeAll(async () => {
    s = await startServer({ workers: 1, maxConnectionsPerAddress: 5 });
    rest = await RestServer.listen(s.pool, { port: 0, connectionLimit: s.connectionLimit });
  });
  afterAll(async () => {
    await rest.close();
    await s.close();
  });

  it('answers the 6th idle HTTP connection from one address 429 and closes it; TCP shares the count', async () => {
    const port = rest.address().port;
    const idle = await Promise.all([0, 1, 2, 3, 4].map(() => hold(port)));
    // Before any request is sent: the refusal is the first thing the connection reads.
    const sixth = await hold(port);
    const refusal = await closedWithin(sixth, 3000);
    expect(refusal).toMatch(/^HTTP\/1\.1 429 /);
    expect(refusal).toContain('--max-connections-per-address');
    expect(refusal).toMatch(/Connection: close/i);
    // The five HTTP connections count against the TCP front's limit too.
    const tcp = await RawClient.connect(s);
    expect((await tcp.nextJson()).error.code).toBe('TOO_MANY_CONNECTIONS');
    await tcp.closed;
    expect(s.connectionLimit.open).toBe(5);
    // One closes: there is room again, for either front.
    idle[0].socket.destroy();
    await idle[0].closed;
    for (let i = 0; i < 50 && s.connectionLimit.open > 4; i++) await sleep(10);
    const again = await RawClient.connect(s);
    expect((await again.ask(CPP.make('CartPole-v1'))).instance).toMatch(/^[a-z0-9]{1,16}-[0-9a-f]{13}$/);
    await again.end();
    for (const h of idle.slice(1)) h.socket.destroy();
    await Promise.all(idle.map((h) => h.closed));
    for (let i = 0; i < 50 && s.connectionLimit.open > 0; i++) await sleep(10);
    expect(s.connectionLimit.open).toBe(0);
    const answer = await fetch(`http://127.0.0.1:${port}/v1/envs/`);
    expect(answer.status).toBe(200);
  });

  it('answers 503 when the whole server is full', async () => {
    const full = await startServer({ workers: 1, maxConnections: 2 });
    const r = await RestServer.listen(full.pool, { port: 0, connectionLimit: full.connectionLimit });
    const two = await Promise.all([0, 1].map(() => RawClient.connect(full)));
    const third = await hold(r.address().port);
    expect(await closedWithin(third, 3000)).toMatch(/^HTTP\/1\.1 503 [^]*--max-connections/);
    for (const c of two) await c.end();
    await r.close();
    await full.close();
  });
});

describe('TLS handshakes count, and have their own deadline', () => {
  it('counts a TCP client that never finishes its handshake, and drops it after --handshake-timeout', async () => {
    const s = await startServer({ workers: 1, maxConnectionsPerAddress: 2, handshakeTimeoutMs: 600, tls: { cert, key } });
    const port = s.address().port;
    const started = Date.now();
    // Two clients that connect and never say a word of TLS.
    const silent = await Promise.all([0, 1].map(() => hold(port)));
    await sleep(50);
    expect(s.connectionLimit.open).toBe(2);
    // A real client from the same address now gets no handshake.
    const third = await handshake(port);
    expect(third.ok).toBe(false);
    // Past the handshake timeout the silent ones are gone (Node's default held them 120 s).
    await Promise.all(silent.map((h) => closedWithin(h, 3000)));
    expect(Date.now() - started).toBeGreaterThanOrEqual(500);
    for (let i = 0; i < 50 && s.connectionLimit.open > 0; i++) await sleep(10);
    expect(s.connectionLimit.open).toBe(0);
    // A handshake that ends is a connection like any other: the handshake timeout no longer applies.
    const client = await GymClient.connect(port, '127.0.0.1', { tls: { ca: cert } });
    await client.make('CartPole-v1');
    await sleep(1000);
    await client.reset();
    expect((await client.step(1)).reward).toBe(1);
    await client.end();
    await s.close();
  });

  it('does the same on the HTTPS port', async () => {
    const s = await startServer({ workers: 1, maxConnectionsPerAddress: 1 });
    const r = await RestServer.listen(s.pool, { port: 0, handshakeTimeoutMs: 600, tls: { cert, key }, connectionLimit: s.connectionLimit });
    const silent = await hold(r.address().port);
    await sleep(50);
    expect((await handshake(r.address().port)).ok).toBe(false);
    await closedWithin(silent, 3000);
    for (let i = 0; i < 50 && s.connectionLimit.open > 0; i++) await sleep(10);
    const { ok, socket } = await handshake(r.address().port);
    expect(ok).toBe(true);
    socket.destroy();
    await r.close();
    await s.close();
  });
});

describe('REST requests have a deadline (--request-timeout)', () => {
  let s: GymTcpServer;
  let rest: RestServer;
  beforeAll(async () => {
    s = await startServer({ workers: 1 });
    rest = await RestServer.listen(s.pool, { port: 0, requestTimeoutMs: 1000 });
  });
  afterAll(async () => {
    await rest.close();
    await s.close();
  });

  it('answers a body trickling a byte at a time 408 and closes the connection', async () => {
    const held = await hold(rest.address().port);
    // A body of 1,000 bytes, a byte every 100 ms: 100 s to finish (Node's own deadline was 300 s).
    held.socket.write(`POST /v1/envs/ HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n`);
    const started = Date.now();
    const trickle = setInterval(() => {
      if (!held.isClosed()) held.socket.write(' ');
    }, 100);
    try {
      expect(await closedWithin(held, 5000)).toMatch(/^HTTP\/1\.1 408 /);
    } finally {
      clearInterval(trickle);
    }
    expect(Date.now() - started).toBeGreaterThanOrEqual(900);
  });

  it('answers headers that never end 408 too', async () => {
    const held = await hold(rest.address().port);
    held.socket.write('GET /v1/envs/ HTTP/1.1\r\nHost: x\r\n');
    expect(await closedWithin(held, 5000)).toMatch(/^HTTP\/1\.1 408 /);
  });

  it('keeps an idle keep-alive connection past the deadline: the deadline is for a request begun', async () => {
    const held = await hold(rest.address().port);
    held.socket.write('GET /v1/envs/ HTTP/1.1\r\nHost: x\r\n\r\n');
    for (let i = 0; i < 100 && !held.text().includes('all_envs'); i++) await sleep(10);
    expect(held.text()).toMatch(/^HTTP\/1\.1 200 /);
    await sleep(1800);
    expect(held.isClosed()).toBe(false);
    const before = held.text().length;
    // A body sent slowly but within the deadline is read.
    const body = '{"env_id": "CartPole-v1"}';
    held.socket.write(`POST /v1/envs/ HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n`);
    for (const part of [body.slice(0, 10), body.slice(10)]) {
      await sleep(200);
      held.socket.write(part);
    }
    for (let i = 0; i < 200 && !held.text().slice(before).includes('instance_id'); i++) await sleep(10);
    expect(held.text().slice(before)).toMatch(/^HTTP\/1\.1 200 [^]*instance_id/);
    held.socket.destroy();
  });
});

describe('fronts cannot starve each other of environments', () => {
  it('lets REST hold at most its share of --max-envs (half by default): TCP clients still make envs', async () => {
    const s = await startServer({ workers: 1, maxEnvs: 4 });
    const r = await RestServer.listen(s.pool, { port: 0 });
    const make = () => fetch(`http://127.0.0.1:${r.address().port}/v1/envs/`, { method: 'POST', body: '{"env_id": "CartPole-v1"}', headers: { 'Content-Type': 'application/json' } });
    expect((await make()).status).toBe(200);
    expect((await make()).status).toBe(200);
    // REST's share is full; the places left are TCP's.
    const refused = await make();
    expect(refused.status).toBe(429);
    expect(((await refused.json()) as { message: string }).message).toContain('--rest-max-envs');
    expect(r.envCount).toBe(2);
    const tcp = await Promise.all([0, 1].map(() => RawClient.connect(s)));
    for (const c of tcp) expect((await c.ask(CPP.make('CartPole-v1'))).instance).toMatch(/^[a-z0-9]{1,16}-[0-9a-f]{13}$/);
    // The server-wide limit still holds over both.
    const fifth = await RawClient.connect(s);
    expect((await fifth.ask(CPP.make('CartPole-v1'))).error.code).toBe('TOO_MANY_ENVS');
    for (const c of [...tcp, fifth]) await c.end();
    await r.close();
    await s.close();
  });
});

describe('the file-descriptor limit', () => {
  it('says at start when --max-connections cannot fit, and refuses past what fits with a reply instead of resets', async () => {
    // prlimit sets RLIMIT_NOFILE for the server alone (soft and hard: Node raises the soft one to the hard one).
    const child = spawn('prlimit', ['--nofile=300:300', process.execPath, GYM_TCP_BIN, 'serve', '--port', '0', '--http-port', '0', '--workers', '1'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    const clients: Held[] = [];
    try {
      for (let i = 0; i < 200 && !/HTTP listening on [^\s]+:(\d+)/.test(out); i++) await sleep(50);
      const tcpPort = Number(/listening on [^\s]+?:(\d+) with/.exec(out)![1]);
      const httpPort = Number(/HTTP listening on [^\s]+:(\d+)/.exec(out)![1]);
      const said = /--max-connections 10000 does not fit in this process's file-descriptor limit \(300[^]*?taking at most (\d+) connections/.exec(out);
      expect(said, out).not.toBeNull();
      const fits = Number(said![1]);
      expect(fits).toBeGreaterThan(50);
      expect(fits).toBeLessThan(300);
      // More idle HTTP connections than the descriptors could hold.
      for (let i = 0; i < 320; i++) clients.push(await hold(httpPort));
      await sleep(200);
      const refusedHttp = clients.filter((c) => c.isClosed() || c.text().length > 0);
      expect(refusedHttp.length).toBeGreaterThanOrEqual(320 - fits);
      // A TCP client is told why, rather than reset with nothing said.
      const tcp = await RawClient.connect(tcpPort);
      const reply = await tcp.nextJson();
      expect(reply.error.code).toBe('TOO_MANY_CONNECTIONS');
      expect(out).toMatch(/refusing connections: the server allows \d+ connections/);
      // Once the HTTP connections go, TCP is served again.
      for (const c of clients) c.socket.destroy();
      await sleep(300);
      const again = await RawClient.connect(tcpPort);
      expect((await again.ask(CPP.make('CartPole-v1'))).instance).toMatch(/^[a-z0-9]{1,16}-[0-9a-f]{13}$/);
      await again.end();
      expect(child.exitCode).toBeNull();
    } finally {
      for (const c of clients) c.socket.destroy();
      child.kill('SIGKILL');
    }
  }, 30_000);
});
