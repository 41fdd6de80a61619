import { ActionError, describeAction, Space, unwrapStringAction } from './space.js';

/**
 * Writes a flat, row-major array of integers as JSON lists nested by `shape` (as NumPy's tolist()
 * gives them). Shared by the integer-array spaces.
 */
export function encodeIntArray(values: readonly number[], shape: readonly number[]): string {
  const nest = (dim: number, offset: number, stride: number): string => {
    if (dim === shape.length) return String(values[offset]);
    const inner = stride / shape[dim];
    const parts: string[] = [];
    for (let i = 0; i < shape[dim]; i++) parts.push(nest(dim + 1, offset + i * inner, inner));
    return '[' + parts.join(', ') + ']';
  };
  return nest(0, 0, values.length);
}

/** Flattens what a client sent for an integer-array space, or returns null if it is not a list (or a lone number). */
export function flattenAction(value: unknown): unknown[] | null {
  if (typeof value === 'number' || typeof value === 'boolean') return [value];
  return Array.isArray(value) ? (value.flat(Infinity) as unknown[]) : null;
}

export interface MultiDiscreteOptions {
  /** Smallest value of each element (Gymnasium's `start`); zeros by default. */
  start?: readonly number[];
  /** Shape of the value (row-major over `nvec`); `[nvec.length]` by default. */
  shape?: readonly number[];
}

/**
 * Gymnasium's MultiDiscrete(nvec, start): an integer array whose element i lies in
 * start[i], …, start[i] + nvec[i] - 1. Values are flat number arrays (row-major), written as
 * (nested) JSON lists.
 */
export class MultiDiscrete extends Space<number[]> {
  readonly nvec: readonly number[];
  readonly start: readonly number[];
  readonly shape: readonly number[];

  constructor(nvec: readonly number[], options: MultiDiscreteOptions = {}) {
    super();
    if (nvec.length === 0) throw new RangeError('MultiDiscrete needs at least one element');
    if (!nvec.every((n) => Number.isSafeInteger(n) && n > 0)) {
      throw new RangeError(`MultiDiscrete counts must be positive integers, got [${nvec.join(', ')}]`);
    }
    const start = options.start ?? nvec.map(() => 0);
    if (start.length !== nvec.length || !start.every((s) => Number.isSafeInteger(s))) {
      throw new RangeError('MultiDiscrete start must be one integer per element of nvec');
    }
    const shape = options.shape ?? [nvec.length];
    if (shape.reduce((a, b) => a * b, 1) !== nvec.length) {
      throw new RangeError(`MultiDiscrete shape [${shape.join(', ')}] does not hold ${nvec.length} elements`);
    }
    this.nvec = [...nvec];
    this.start = [...start];
    this.shape = [...shape];
  }

  /**
   * The SPACE object. The C++ gym-tcp-api client reads a space's keys by *prefix*: "name" first,
   * then any key starting with "n" as the Discrete count, "high"/"low" as bound vectors and "shape"
   * as the array shape it uses to read observations. So:
   * - no key may start with "n" (a `nvec` key would be read as an int; the legacy Python server's
   *   `n` meant the number of elements, which `shape` already says), so the counts go under "sizes";
   * - "shape", "low" and "high" are given with exactly their Box meaning (low = start,
   *   high = start + nvec - 1, flattened): an old client then sizes and reads MultiDiscrete
   *   observations as it reads an int Box, and learns each element's range without knowing "sizes";
   * - "dtype" and "sizes" collide with nothing the client matches.
   */
  describe(): Record<string, unknown> {
    return {
      name: 'MultiDiscrete',
      shape: [...this.shape],
      low: [...this.start],
      high: this.nvec.map((n, i) => this.start[i] + n - 1),
      sizes: [...this.nvec],
      dtype: 'int64',
    };
  }

  /** Gymnasium: `(np_random.random(shape) * nvec).astype(int64) + start`, one random() per element in order. */
  sample(): number[] {
    const rng = this.npRandom;
    return this.nvec.map((n, i) => Math.trunc(rng.random() * n) + this.start[i]);
  }

  contains(value: unknown): boolean {
    if (!Array.isArray(value)) return false;
    const flat = value.flat(Infinity) as unknown[];
    if (flat.length !== this.nvec.length) return false;
    return flat.every(
      (x, i) => Number.isInteger(x) && (x as number) >= this.start[i] && (x as number) - this.start[i] < this.nvec[i],
    );
  }

  encode(value: number[]): string {
    return encodeIntArray(value, this.shape);
  }

  /** A flat or nested list of integers (a bare integer for a one-element space), or such a list in a string. */
  parseAction(raw: unknown): number[] {
    const flat = flattenAction(unwrapStringAction(raw));
    if (flat === null || flat.length !== this.nvec.length) {
      throw new ActionError(
        `action ${describeAction(raw)} does not fit MultiDiscrete of shape [${this.shape.join(', ')}]: ` +
          `send a list of ${this.nvec.length} integer${this.nvec.length === 1 ? '' : 's'}`,
      );
    }
    return flat.map((x, i) => {
      const lo = this.start[i];
      const hi = lo + this.nvec[i] - 1;
      if (typeof x !== 'number' || !Number.isInteger(x) || x < lo || x > hi) {
        throw new ActionError(`action element ${i} is ${describeAction(x)}: it must be an integer from ${lo} to ${hi}`);
      }
      return x;
    });
  }
}
