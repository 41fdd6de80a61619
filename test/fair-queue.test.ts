import { describe, expect, it } from 'vitest';
import { FairQueue } from '../src/pool/fair-queue.js';

describe('FairQueue', () => {
  it('serves senders round-robin, each in its own order', () => {
    const q = new FairQueue<string, string>();
    for (let i = 0; i < 100; i++) q.push('flood', `f${i}`);
    q.push('a', 'a0');
    q.push('b', 'b0');
    q.push('a', 'a1');
    const first = q.take(6);
    expect(first.values).toEqual(['f0', 'a0', 'b0', 'f1', 'a1', 'f2']);
    expect(first.keys).toEqual(['flood', 'a', 'b', 'flood', 'a', 'flood']);
    q.push('b', 'b1');
    // b, arriving behind a backlog of 94, waits for one flood item, not for the backlog.
    expect(q.take(3).values).toEqual(['f3', 'b1', 'f4']);
    expect(q.size).toBe(95);
  });

  it('puts a dead worker\'s items back ahead of everything their senders sent later', () => {
    const q = new FairQueue<string, number>();
    q.push('a', 1);
    q.push('a', 2);
    q.push('b', 10);
    const taken = q.take(2); // a:1, b:10
    q.push('a', 3);
    q.unshift(taken.keys, taken.values);
    const all: number[] = [];
    while (q.size > 0) all.push(...q.take(1).values);
    expect(all.filter((x) => x < 10)).toEqual([1, 2, 3]);
    expect(all).toContain(10);
    expect(all.indexOf(10)).toBeLessThan(2);
  });
});
