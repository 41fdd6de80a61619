/**
 * Only valid JSON leaves the server (hardening, second round, item 8): no reply carries NaN or
 * Infinity, which most clients' JSON parsers reject.
 */
import { describe, expect, it } from 'vitest';
import { NonFiniteNumberError, pyFloat, toPyJson } from '../src/json/pyjson.js';
import { Box } from '../src/spaces/index.js';
import { CPP } from '../src/protocol/messages.js';
import { RawClient, startServer } from './helpers.js';

describe('non-finite numbers', () => {
  it('refuses kwargs whose rewards could become non-finite, over the socket, and keeps serving', async () => {
    const s = await startServer({ workers: 1 });
    const c = await RawClient.connect(s);
    const refused = await c.ask('{"env":{"name": "FrozenLake-v1", "kwargs": {"reward_schedule": [1e308, 0, 0], "is_slippery": false}}}');
    expect(refused.error.code).toBe('BAD_KWARGS');
    expect(refused.error.message).toMatch(/reward_schedule.*at most 1e100/);
    expect((await c.ask('{"env":{"name": "Pendulum-v1", "kwargs": {"g": -1e200}}}')).error.code).toBe('BAD_KWARGS');
    // The largest schedule allowed: an episode walking the frozen tiles sums to a finite return.
    await c.ask('{"env":{"name": "FrozenLake-v1", "kwargs": {"reward_schedule": [1e100, -1e100, 1e100], "is_slippery": false}}}');
    await c.ask(CPP.reset);
    c.write(`${CPP.recordStats}\r\n`);
    let last: any;
    for (const action of [2, 2, 1, 1, 1, 2]) last = await c.ask(CPP.step(String(action)));
    expect(last.done).toBe(true);
    expect(Number.isFinite(last.info.episode.r)).toBe(true);
    expect(last.info.episode.r).toBeGreaterThan(1e100);
    await c.end();
    await s.close();
  });

  it('never writes NaN or Infinity: the encoder refuses them', () => {
    for (const x of [Infinity, -Infinity, NaN]) {
      expect(() => pyFloat(x)).toThrow(NonFiniteNumberError);
      expect(() => toPyJson({ reward: x })).toThrow(NonFiniteNumberError);
      expect(() => new Box(-1, 1, [2], 'float64').encode([0, x])).toThrow(NonFiniteNumberError);
    }
    expect(pyFloat(1e308)).toBe('1e+308');
  });
});
