// A vector env split into shards answers, part by part, exactly what one VectorEnv answers: the
// parts joined on the main thread are the same bytes (src/vector/shard-parts.ts).
import { describe, expect, it } from 'vitest';
import { CheckFailure, VectorEnv, type AutoresetMode } from '../src/vector/vector-env.js';
import { joinParts, readParts } from '../src/vector/shard-parts.js';
import type { Encoding } from '../src/vector/batch.js';

function shards(id: string, total: number, sizes: number[], autoreset: AutoresetMode, encoding: Encoding, kwargs: Record<string, unknown> = {}) {
  let offset = 0;
  return sizes.map((count) => {
    const shard = VectorEnv.make(id, count, kwargs, autoreset, encoding, { offset, total });
    offset += count;
    return shard;
  });
}

/** Episode times (`t`) are each env's own clock: compared apart, by count. */
const untimed = (reply: string) => reply.replace(/"t": \[[^\]]*\]/g, (t) => `"t": ${t.split(',').length}`);

function b64Actions(values: number[]) {
  const bytes = Buffer.alloc(values.length * 8);
  values.forEach((v, i) => bytes.writeBigInt64LE(BigInt(v), i * 8));
  return { dtype: 'int64', shape: [values.length], data: bytes.toString('base64') };
}

describe('a vector env in shards', () => {
  for (const encoding of ['json', 'base64'] as const) {
    for (const autoreset of ['next_step', 'same_step'] as const) {
      it(`joins to one VectorEnv's replies: FrozenLake, ${encoding}, ${autoreset}, with episode statistics`, () => {
        const kwargs = { is_slippery: true };
        const total = 10;
        const whole = VectorEnv.make('FrozenLake-v1', total, kwargs, autoreset, encoding);
        const parts = shards('FrozenLake-v1', total, [3, 6, 1], autoreset, encoding, kwargs);
        whole.recordEpisodeStatistics(true);
        for (const s of parts) s.recordEpisodeStatistics(true);
        expect(joinParts(parts.flatMap((s) => readParts((s.run(s.checkReset(5n, null)) as { part: Buffer }).part)), 'reset', encoding).toString()).toBe(whole.reset(5n, null));
        let ended = 0;
        for (let t = 0; t < 60; t++) {
          const actions = Array.from({ length: total }, (_, i) => (i * 7 + t * 3) % 4);
          const raw = t % 2 ? actions : b64Actions(actions);
          const expected = whole.step(raw);
          const joined = joinParts(parts.flatMap((s) => readParts((s.run(s.checkStep(raw)) as { part: Buffer }).part)), 'step', encoding).toString();
          expect(untimed(joined)).toBe(untimed(expected));
          if (expected.includes('"_episode"')) ended += 1;
        }
        // The comparison covered steps where infos had to be joined: prob on every step, episode ends on some.
        expect(ended).toBeGreaterThan(3);
      });
    }
  }

  it('names the first bad sub-env over the shards, and a failed check changes nothing', () => {
    const total = 9;
    const parts = shards('CartPole-v1', total, [3, 3, 3], 'next_step', 'json');
    for (const s of parts) s.run(s.checkReset(1n, null));
    const actions = [0, 1, 0, 1, 5, 0, 7, 1, 0];
    const failures = parts.map((s) => {
      try {
        s.checkStep(actions);
        return null;
      } catch (err) {
        return err as CheckFailure;
      }
    });
    expect(failures[0]).toBeNull();
    expect(failures[1]?.order).toBe(4);
    expect(failures[2]?.order).toBe(6);
    expect(failures[1]?.message).toMatch(/^sub-env 4: /);
    // send: ids name sub-envs of the whole vector env; each shard keeps its own, in the order sent.
    const checked = parts.map((s) => s.checkSend([1, 0, 1], [8, 0, 4]));
    expect(checked.map((c) => c.ids)).toEqual([[0], [1], [2]]);
    const whole = VectorEnv.make('CartPole-v1', total, {}, 'next_step', 'json');
    whole.reset(1n, null);
    whole.send([1, 0, 1], [8, 0, 4]);
    for (let k = 0; k < 3; k++) parts[k].run(checked[k]);
    // recv's chunks: shard 2's sub-env 8 finished first, then 0, then 4.
    const joined = joinParts([...readParts(parts[2].take([1])), ...readParts(parts[0].take([1])), ...readParts(parts[1].take([1]))], 'recv', 'json').toString();
    expect(joined).toBe(whole.recv(null));
  });

  it('joins recv chunks that end off a base64 boundary', () => {
    const total = 8;
    const whole = VectorEnv.make('Pendulum-v1', total, {}, 'next_step', 'base64');
    const parts = shards('Pendulum-v1', total, [6, 2], 'next_step', 'base64');
    whole.reset(3n, null);
    for (const s of parts) s.run(s.checkReset(3n, null));
    const ids = [7, 1, 2, 6];
    const actions = [[0.5], [-1], [2], [0]];
    whole.send(actions, ids);
    const checked = parts.map((s) => s.checkSend(actions, ids));
    parts.forEach((s, k) => s.run(checked[k]));
    const joined = joinParts([...readParts(parts[1].take([1])), ...readParts(parts[0].take([2])), ...readParts(parts[1].take([1]))], 'recv', 'base64').toString();
    expect(joined).toBe(whole.recv(null));
  });
});
