/**
 * Box sampling against NumPy. The expected numbers were produced by NumPy 2.4 itself:
 *   rng = np.random.default_rng(5); [int(np.floor(rng.uniform(0, 3 + 1))) for _ in range(8)]
 *   rng = np.random.default_rng(5); np.floor(rng.uniform([0, 0], np.array([3, 255]) + 1))
 * which is what Gymnasium's Box.sample does for an integer Box.
 */
import { describe, expect, it } from 'vitest';
import { Box } from '../src/spaces/index.js';

describe('Box.sample', () => {
  it('draws integer boxes from [low, high + 1) and floors, as Gymnasium does', () => {
    const scalar = new Box(0, 3, [1], 'int64');
    scalar.seed(5n);
    expect(Array.from({ length: 8 }, () => scalar.sample()[0])).toEqual([3, 3, 2, 1, 0, 1, 1, 0]);
    const pair = new Box([0, 0], [3, 255], [2], 'int64');
    pair.seed(5n);
    expect(pair.sample()).toEqual([3, 206]);
  });

  it('keeps float32 samples inside the bounds and exactly float32', () => {
    const box = new Box(-2, 2, [3], 'float32');
    box.seed(1n);
    for (let i = 0; i < 100; i++) {
      for (const x of box.sample()) {
        expect(Math.fround(x)).toBe(x);
        expect(box.contains([x, x, x])).toBe(true);
      }
    }
  });

  it('says plainly that unbounded dimensions cannot be sampled yet', () => {
    expect(() => new Box(-Infinity, Infinity, [2]).sample()).toThrow(/unbounded/);
  });
});
