/**
 * Limits, authentication, TLS and idle timeouts (README "Operating gym-tcp"), each against a real
 * server on a real socket.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { GymClient, GymServerError } from '../src/client/client.js';
import { tokenMatches } from '../src/net/auth.js';
import { spawnServer } from '../scripts/lib/spawn.js';
import { ReplySocket } from '../scripts/lib/reply-socket.js';
import { CPP } from '../src/protocol/messages.js';
import { RawClient, startServer } from './helpers.js';

describe('limits', () => {
  it('refuses connections over the total and per-address limits with a reply, then serves again when one closes', async () => {
    const s = await startServer({ maxConnections: 3 });
    const open = await Promise.all([0, 1, 2].map(() => RawClient.connect(s)));
    const extra = await RawClient.connect(s);
    expect((await extra.nextJson()).error.code).toBe('TOO_MANY_CONNECTIONS');
    await extra.closed;
    expect((await open[0].ask(CPP.make('CartPole-v1'))).instance).toBeDefined();
    await open[1].end();
    await new Promise((r) => setTimeout(r, 50));
    const again = await RawClient.connect(s);
    expect((await again.ask(CPP.make('CartPole-v1'))).instance).toBeDefined();
    for (const c of [open[0], open[2], again]) await c.end();
    await s.close();

    const p = await startServer({ maxConnectionsPerAddress: 2 });
    const two = await Promise.all([0, 1].map(() => RawClient.connect(p)));
    const third = await RawClient.connect(p);
    const refused = await third.nextJson();
    expect(refused.error.code).toBe('TOO_MANY_CONNECTIONS');
    expect(refused.error.message).toContain('from one address');
    for (const c of two) await c.end();
    await p.close();
  });

  it('refuses environments beyond --max-envs, and frees places on close and disconnect', async () => {
    const s = await startServer({ maxEnvs: 2, workers: 2 });
    const [a, b, c] = await Promise.all([0, 1, 2].map(() => RawClient.connect(s)));
    await a.ask(CPP.make('CartPole-v1'));
    await b.ask(CPP.make('CartPole-v1'));
    expect((await c.ask(CPP.make('CartPole-v1'))).error.code).toBe('TOO_MANY_ENVS');
    // Replacing an env does not need a new place.
    expect((await a.ask(CPP.make('FrozenLake-v1'))).instance).toBeDefined();
    a.send(CPP.close + '\r\n');
    expect((await c.ask(CPP.make('CartPole-v1'))).instance).toBeDefined();
    expect(s.pool.envBudget.total).toBe(2);
    await b.end();
    for (let i = 0; i < 50 && s.pool.envBudget.total > 1; i++) await new Promise((r) => setTimeout(r, 10));
    expect(s.pool.envBudget.total).toBe(1);
    expect((await a.ask(CPP.make('CartPole-v1'))).instance).toBeDefined();
    await a.end();
    await c.end();
    await s.close();
  });

  it('frees the env of a connection closed for an over-long line as soon as the client closes too', async () => {
    // After LINE_TOO_LONG the server takes no more lines but still reads the socket, so it sees the
    // client close at once instead of holding the env until its 5 s end timer.
    const s = await startServer({ maxEnvs: 1, maxLineBytes: 256 });
    const a = await RawClient.connect(s);
    expect((await a.ask(CPP.make('CartPole-v1'))).instance).toBeDefined();
    expect((await a.ask(`{"env": {"name": "${'x'.repeat(400)}"}}`)).error.code).toBe('LINE_TOO_LONG');
    await a.end();
    const started = Date.now();
    await expect.poll(() => s.pool.envBudget.total, { timeout: 2000, interval: 10 }).toBe(0);
    expect(Date.now() - started).toBeLessThan(2000);
    const b = await RawClient.connect(s);
    expect((await b.ask(CPP.make('CartPole-v1'))).instance).toBeDefined();
    await b.end();
    await s.close();
  });

  it('stops reading a connection past --max-pipeline and answers everything once it reads', async () => {
    const s = await startServer({ maxPipeline: 8 });
    const c = await RawClient.connect(s);
    await c.ask(CPP.make('CartPole-v1'));
    await c.ask(CPP.reset);
    c.send((CPP.sample + '\r\n').repeat(500));
    let answered = 0;
    while (answered < 500) {
      await c.nextRaw();
      answered++;
    }
    expect(answered).toBe(500);
    await c.end();
    await s.close();
  });

  it('closes a connection that stays idle past --idle-timeout', async () => {
    const s = await startServer({ idleTimeoutMs: 150 });
    const c = await RawClient.connect(s);
    await c.ask(CPP.make('CartPole-v1'));
    const started = Date.now();
    await c.closed;
    expect(Date.now() - started).toBeGreaterThanOrEqual(100);
    await s.close();
  });
});

describe('authentication', () => {
  const token = 's3cret-token';

  it('serves a client that sends the right token first', async () => {
    const s = await startServer({ authToken: token });
    const client = await GymClient.connect(s.address().port, '127.0.0.1', { authToken: token });
    await client.make('CartPole-v1');
    expect((await client.reset()).observation).toHaveLength(4);
    await client.end();
    await s.close();
  });

  it('answers a wrong or missing token with an error, closes, and never passes the line on', async () => {
    const s = await startServer({ authToken: token });
    const wrong = await RawClient.connect(s);
    wrong.send('{"auth": "s3cret-tokem"}\r\n' + CPP.make('CartPole-v1') + '\r\n');
    expect((await wrong.nextJson()).error.code).toBe('AUTH_FAILED');
    await wrong.closed;
    expect(wrong.unread).toBe(0); // the make after it was not answered
    const missing = await RawClient.connect(s);
    missing.send(CPP.make('CartPole-v1') + '\r\n');
    const reply = await missing.nextJson();
    expect(reply.error.code).toBe('AUTH_REQUIRED');
    expect(JSON.stringify(reply)).not.toContain(token);
    await missing.closed;
    await expect(GymClient.connect(s.address().port, '127.0.0.1', { authToken: 'nope' })).rejects.toBeInstanceOf(GymServerError);
    expect(s.pool.envBudget.total).toBe(0);
    await s.close();
  });

  it('compares tokens in constant time: equal-length hashes, same answer for any wrong token', () => {
    expect(tokenMatches(token, token)).toBe(true);
    for (const wrong of ['', 's', token.slice(0, -1), token + 'x', 'S3cret-token', 'x'.repeat(10_000)]) {
      expect(tokenMatches(wrong, token)).toBe(false);
    }
  });
});

describe('TLS', () => {
  it('plays CartPole over TLS with a self-signed certificate', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'gym-tcp-tls-'));
    execFileSync('openssl', [
      'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=localhost',
      '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1',
      '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem'),
    ], { stdio: 'ignore' });
    const cert = readFileSync(join(dir, 'cert.pem'));
    const s = await startServer({ tls: { cert, key: readFileSync(join(dir, 'key.pem')) } });
    const client = await GymClient.connect(s.address().port, '127.0.0.1', { tls: { ca: cert } });
    await client.make('CartPole-v1');
    client.seed(42);
    const { observation } = await client.reset();
    expect(observation).toEqual([0.02739560417830944, -0.006112155970185995, 0.03585979342460632, 0.019736802205443382]);
    client.compression(9);
    expect((await client.step(1)).reward).toBe(1);
    await client.end();
    // A plain-TCP client gets no service from a TLS port.
    const plain = await RawClient.connect(s);
    plain.send(CPP.make('CartPole-v1') + '\r\n');
    await plain.closed;
    await s.close();
  });
});

describe('SIGTERM', () => {
  it('answers every request already read, whole, then closes and exits 0', async () => {
    const server = await spawnServer(['--workers', '2', '--drain-timeout', '10000']);
    const c = await ReplySocket.connect(server.port);
    c.write(CPP.make('CartPole-v1') + '\r\n' + CPP.reset + '\r\n');
    expect(typeof (await c.next())).not.toBe('string');
    expect(typeof (await c.next())).not.toBe('string');
    const sent = 300;
    c.write((CPP.sample + '\r\n').repeat(sent));
    await new Promise((r) => setTimeout(r, 5)); // let the server read them
    const exited = server.stop('SIGTERM');
    let answered = 0;
    for (let reply = await c.next(); typeof reply !== 'string'; reply = await c.next()) {
      expect(JSON.parse(reply.toString())).toHaveProperty('sample'); // whole replies only
      answered++;
    }
    expect(await exited).toBe(0);
    expect(answered).toBeGreaterThan(0);
    expect(answered).toBeLessThanOrEqual(sent);
    expect(c.partial).toBe(0); // no reply cut in half
    expect(server.output()).toMatch(/SIGTERM: no new connections/);
  });
});
