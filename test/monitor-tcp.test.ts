/**
 * Older clients' `monitor` lines over TCP (mlpack's C++ client fork): never answered, not even when
 * they cannot be honoured, so the client's later replies stay in step; the statistics are written as
 * the REST monitor writes them, under --monitor-root.
 */
import { mkdtempSync, readdirSync, readFileSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CPP } from '../src/protocol/messages.js';
import { RawClient, startServer } from './helpers.js';

describe('monitor lines over TCP', () => {
  it('runs the mlpack-style sequence in step: no reply to either monitor line, statistics written on close', async () => {
    const root = mkdtempSync(join(tmpdir(), 'gym-tcp-monitor-'));
    const logged: string[] = [];
    const s = await startServer({ workers: 1, monitorRoot: root, log: (m, fields) => fields?.level !== 'debug' && logged.push(m) });
    const c = await RawClient.connect(s);
    expect((await c.ask(CPP.make('Pendulum-v1-render'))).instance).toMatch(/^[a-z0-9]{1,16}-[0-9a-f]{13}$/);
    expect((await c.ask(CPP.observationSpace)).info.name).toBe('Box');
    expect((await c.ask(CPP.actionSpace)).info.shape).toEqual([1]);
    c.write(`${CPP.monitorStart('./dummy/')}\r\n`);
    // The next reply the client reads is the reset's, not an answer to the monitor line.
    const first = await c.ask(CPP.reset);
    expect(first.observation).toHaveLength(3);
    let steps = 0;
    let total = 0;
    let reply: any;
    do {
      reply = await c.ask(CPP.step('[0.500000]', 1));
      total += reply.reward;
    } while (!reply.done && ++steps < 1000);
    expect(reply.truncated).toBe(true);
    c.write(`${CPP.monitorClose}\r\n`);
    c.write(`${CPP.close}\r\n`);
    expect((await c.ask(CPP.url)).url).toMatch(/\/recordings\/[a-z0-9]{1,16}-[0-9a-f]{13}\.mp4$/);
    await c.end();
    await s.close();
    const dir = join(root, 'dummy');
    const stats = readdirSync(dir).find((f) => f.endsWith('.stats.json'))!;
    const written = JSON.parse(readFileSync(join(dir, stats), 'utf8'));
    expect(written.episode_lengths).toEqual([200]);
    expect(written.episode_rewards).toHaveLength(1);
    expect(written.episode_rewards[0]).toBeCloseTo(total, 6);
    const manifest = JSON.parse(readFileSync(join(dir, readdirSync(dir).find((f) => f.endsWith('.manifest.json'))!), 'utf8'));
    expect(manifest.env_info.env_id).toBe('Pendulum-v1');
    expect(logged).toEqual([]);
  });

  it('never answers a monitor line it cannot honour: refused directories and malformed bodies are logged, the connection stays in step', async () => {
    const root = mkdtempSync(join(tmpdir(), 'gym-tcp-monitor-'));
    const outside = mkdtempSync(join(tmpdir(), 'gym-tcp-outside-'));
    symlinkSync(outside, join(root, 'escape'));
    const logged: string[] = [];
    const s = await startServer({ workers: 1, monitorRoot: root, log: (m, fields) => fields?.level !== 'debug' && logged.push(m) });
    const c = await RawClient.connect(s);
    c.write(`${CPP.monitorStart('./before-any-env/')}\r\n`);
    await c.ask(CPP.make('CartPole-v1'));
    for (const line of [
      CPP.monitorStart('../../etc/'),
      CPP.monitorStart('escape/run'),
      '{"monitor":{"action": "start"}}',
      '{"monitor": 42}',
      '{"monitor":{"action": "rewind"}}',
      CPP.monitorClose,
    ]) {
      c.write(`${line}\r\n`);
    }
    // Every one was silent: the next reply is the reset's, then the steps'.
    expect((await c.ask(CPP.reset)).observation).toHaveLength(4);
    expect((await c.ask(CPP.step('1'))).reward).toBe(1);
    await c.end();
    await s.close();
    expect(readdirSync(outside)).toEqual([]);
    expect(logged.join('\n')).toMatch(/before any environment/);
    expect(logged.join('\n')).toMatch(/"\.\.\/\.\.\/etc\/" refused/);
    expect(logged.join('\n')).toMatch(/"escape\/run" refused/);
    expect(logged.filter((m) => /ignored a monitor line/.test(m))).toHaveLength(3);
  });
});
