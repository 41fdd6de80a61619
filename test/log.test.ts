/**
 * The log (src/ops/log.ts) as a real server process writes it: every line a JSON event with level,
 * time, node, event and msg; connection and instance ids and error codes where an event concerns
 * them; --log-level and --log-format pretty; and the auth token nowhere in what it writes.
 */
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger, eventLog } from '../src/ops/log.js';
import { CPP, request, requestLine } from '../src/protocol/messages.js';
import { spawnServer } from '../scripts/lib/spawn.js';
import { until } from '../scripts/lib/wait.js';
import { RawClient, startServer } from './helpers.js';

const TOKEN = 'tok-3f9a1c77e2-never-logged';

interface Event {
  level: string;
  time: number;
  node: string;
  event: string;
  msg: string;
  [field: string]: unknown;
}

/** Every line the process wrote, each parsed as JSON (a line that is not JSON fails the test). */
function eventsOf(output: string): Event[] {
  return output
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => {
      try {
        return JSON.parse(line) as Event;
      } catch {
        throw new Error(`not a JSON log line: ${line}`);
      }
    });
}

describe('the log of a real server process', () => {
  it('writes JSON events with level, time, node, ids and codes, at --log-level debug, and never the token', async () => {
    const server = await spawnServer(['--node-id', 'l1', '--log-level', 'debug', '--auth-token', TOKEN, '--http-port', '0', '--health-port', '0', '--workers', '1']);
    let output = '';
    try {
      // Wrong token: refused at its first line.
      const intruder = await RawClient.connect(server.port);
      const refused = await intruder.ask(requestLine(request.auth('not-' + TOKEN)));
      expect(refused.error.code).toBe('AUTH_FAILED');
      // The right token, an env, a few steps, a monitor line that cannot be used, then a close.
      const agent = await RawClient.connect(server.port);
      expect(await agent.ask(requestLine(request.auth(TOKEN)))).toEqual({ auth: 'ok' });
      const made = await agent.ask(CPP.make('CartPole-v1'));
      expect(made.instance).toMatch(/^l1-[0-9a-f]{13}$/);
      await agent.ask(CPP.reset);
      await agent.ask(CPP.step('1'));
      agent.send('{"monitor": {"action": "start"}}\r\n');
      // The REST front with the token in its header, and without.
      const rest = Number(/HTTP listening on [^\s]*:(\d+)/.exec(server.output())![1]);
      expect((await fetch(`http://127.0.0.1:${rest}/v1/envs/`, { headers: { Authorization: `Bearer ${TOKEN}` } })).status).toBe(200);
      expect((await fetch(`http://127.0.0.1:${rest}/v1/envs/`, { headers: { Authorization: 'Bearer wrong' } })).status).toBe(401);
      // The CLI serves /metrics on the health port (no token) and on the REST port (with it).
      const health = Number(/health checks on [^\s]*:(\d+)/.exec(server.output())![1]);
      expect(await (await fetch(`http://127.0.0.1:${health}/metrics`)).text()).toMatch(/^gym_tcp_requests_total\{front="tcp",command="step"\} 1$/m);
      expect((await fetch(`http://127.0.0.1:${rest}/metrics`)).status).toBe(401);
      expect(await (await fetch(`http://127.0.0.1:${rest}/metrics`, { headers: { Authorization: `Bearer ${TOKEN}` } })).text()).toMatch(/^gym_tcp_info\{node="l1",version="[^"]+"\} 1$/m);
      await until(() => server.output().includes('MONITOR_LINE_IGNORED'), 5000);
      agent.destroy();
      await until(() => (server.output().match(/CONNECTION_CLOSED/g) ?? []).length >= 1, 5000);
      expect(await server.stop('SIGTERM')).toBe(0);
      output = server.output();
    } finally {
      await server.stop('SIGKILL');
    }

    expect(output).not.toContain(TOKEN);
    const events = eventsOf(output);
    for (const e of events) {
      expect(['fatal', 'error', 'warn', 'info', 'debug', 'trace']).toContain(e.level);
      expect(e.time).toBeGreaterThan(Date.now() - 120_000);
      expect(e.node).toBe('l1');
      expect(typeof e.event).toBe('string');
      expect(typeof e.msg).toBe('string');
    }
    const named = (name: string) => events.filter((e) => e.event === name);
    expect(named('LISTENING').map((e) => e.front).sort()).toEqual(['health', 'rest', 'tcp']);
    expect(named('LISTENING').find((e) => e.front === 'tcp')).toMatchObject({ level: 'info', port: server.port, tokenRequired: true });
    const opened = named('CONNECTION_OPENED');
    expect(opened).toHaveLength(2);
    for (const e of opened) expect(e).toMatchObject({ level: 'debug', remote: '127.0.0.1', conn: expect.any(Number) });
    const [refusedEvent] = named('CONNECTION_REFUSED');
    expect(refusedEvent).toMatchObject({ level: 'info', code: 'AUTH_FAILED', conn: opened[0].conn, remote: '127.0.0.1' });
    const ignored = named('MONITOR_LINE_IGNORED');
    expect(ignored).toHaveLength(1);
    expect(ignored[0]).toMatchObject({ conn: opened[1].conn, instance: expect.stringMatching(/^l1-/) });
    const closed = named('CONNECTION_CLOSED').find((e) => e.conn === opened[1].conn);
    expect(closed).toMatchObject({ level: 'debug', instance: expect.stringMatching(/^l1-[0-9a-f]{13}$/), code: null });
    expect(named('DRAINING')).toHaveLength(1);
    expect(named('STOPPED')).toHaveLength(1);
  }, 60_000);

  it('at the default level (info) leaves the connections out; --log-format pretty writes one readable line per event', async () => {
    const server = await spawnServer(['--node-id', 'l2', '--log-format', 'pretty', '--workers', '1']);
    try {
      const c = await RawClient.connect(server.port);
      await c.ask(CPP.make('CartPole-v1'));
      c.destroy();
      expect(await server.stop('SIGTERM')).toBe(0);
      const lines = server.output().split('\n').filter((l) => l !== '');
      expect(lines.length).toBeGreaterThanOrEqual(3);
      expect(lines[0]).toMatch(/^\d\d:\d\d:\d\d\.\d{3} INFO  l2 LISTENING gym-tcp \S+ listening on 127\.0\.0\.1:\d+ with 1 worker threads .*front=tcp/);
      expect(lines.some((l) => / INFO  l2 STOPPED gym-tcp stopped/.test(l))).toBe(true);
      expect(server.output()).not.toContain('CONNECTION_');
    } finally {
      await server.stop('SIGKILL');
    }
  }, 60_000);

  it('says when a worker thread dies, at error, with the worker', async () => {
    let written = '';
    const destination = new Writable({ write: (chunk, _enc, done) => ((written += chunk), done()) });
    const log = eventLog(createLogger({ level: 'info', format: 'json', node: 'l3', destination: destination as never }));
    const server = await startServer({ workers: 1, nodeId: 'l3', log });
    try {
      await server.pool.piscina.threads[0].terminate();
      expect(await until(() => written.includes('WORKER_LOST'), 10_000)).toBe(true);
      const [lost] = eventsOf(written).filter((e) => e.event === 'WORKER_LOST');
      expect(lost).toMatchObject({ level: 'error', node: 'l3', worker: 0 });
    } finally {
      await server.close();
    }
  });
});
