/** The batched spaces of a vector env: Gymnasium's `batch_space` for sampling, and the zero value of a space. */
import { Box, Discrete, MultiBinary, MultiDiscrete, Tuple, type Space } from '../spaces/index.js';
import { layoutOf } from './batch.js';

/** The zero value of a space (Gymnasium's `create_empty_array` fills observations nobody reset yet with zeros). */
export function zeroValue(space: Space<unknown>): unknown {
  if (space instanceof Tuple) return space.spaces.map((s) => zeroValue(s));
  const layout = layoutOf(space);
  return layout === null || layout.scalar ? 0 : new Array<number>(layout.size).fill(0);
}

/** Gymnasium's `batch_space(space, n)` for the action spaces envs have; null where sampling a batch is not supported. */
export function batchSpace(space: Space<unknown>, n: number): Space<number[]> | null {
  const tile = <T>(values: readonly T[]) => Array.from({ length: n * values.length }, (_, i) => values[i % values.length]);
  if (space instanceof Discrete) return new MultiDiscrete(new Array<number>(n).fill(space.n), { start: new Array<number>(n).fill(space.start) });
  if (space instanceof Box) return new Box(tile(space.low), tile(space.high), [n, ...space.shape], space.dtype);
  if (space instanceof MultiDiscrete) return new MultiDiscrete(tile(space.nvec), { start: tile(space.start), shape: [n, ...space.shape] });
  if (space instanceof MultiBinary) return new MultiBinary([n, ...space.shape]);
  return null;
}
