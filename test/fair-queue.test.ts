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

  it('gives each sender no more than its room, passing over those with none, which keep their items', () => {
    const q = new FairQueue<string, string>();
    for (let i = 0; i < 10; i++) q.push('flood', `f${i}`);
    q.push('a', 'a0');
    q.push('a', 'a1');
    q.push('b', 'b0');
    const room: Record<string, number> = { flood: 2, a: 0, b: 5 };
    const taken = q.take(64, (key) => room[key]);
    expect(taken.values).toEqual(['f0', 'b0', 'f1']);
    // Nobody has room: nothing is taken, and nothing is lost.
    expect(q.take(64, () => 0).values).toEqual([]);
    expect(q.size).toBe(10);
    expect(q.take(3, () => 1).values.sort()).toEqual(['a0', 'f2']);
  });

  it("takes every item of one sender out, in order, and leaves the others' turns alone", () => {
    const q = new FairQueue<string, number>();
    for (let i = 0; i < 5; i++) q.push('gone', i);
    q.push('a', 10);
    q.push('b', 20);
    q.push('a', 11);
    expect(q.remove('gone')).toEqual([0, 1, 2, 3, 4]);
    expect(q.has('gone')).toBe(false);
    expect(q.size).toBe(3);
    expect(q.remove('nobody')).toEqual([]);
    expect(q.take(10).values).toEqual([10, 20, 11]);
  });
});
