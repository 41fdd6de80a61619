import { PyFloat, pyFloat } from '../json/pyjson.js';
import { ActionError, describeAction, Space, unwrapStringAction } from './space.js';

export type BoxDtype = 'float32' | 'float64' | 'int64' | 'uint8';

/** The C++ client turns ±1e100 back into ±inf; JSON itself has no infinity (docs/protocol.md §5.2). */
const WIRE_INFINITY = 1e100;

/**
 * Gymnasium's Box: an n-dimensional array of numbers between `low` and `high` (flattened here, in
 * row-major order as NumPy flattens). Values are plain number arrays; float32 values are kept rounded
 * to float32 (Math.fround), so they print as the exact double of the float32, as NumPy's tolist() does.
 */
export class Box extends Space<number[]> {
  readonly size: number;
  readonly low: number[];
  readonly high: number[];

  constructor(
    low: number | readonly number[],
    high: number | readonly number[],
    readonly shape: readonly number[],
    readonly dtype: BoxDtype = 'float32',
  ) {
    super();
    this.size = shape.reduce((a, b) => a * b, 1);
    const cast = this.cast;
    this.low = Array.from({ length: this.size }, (_, i) => cast(typeof low === 'number' ? low : low[i]));
    this.high = Array.from({ length: this.size }, (_, i) => cast(typeof high === 'number' ? high : high[i]));
  }

  /** Rounds a double to the Box's dtype, as NumPy's astype would (infinities stay). */
  get cast(): (x: number) => number {
    return this.dtype === 'float32' ? Math.fround : this.dtype === 'float64' ? (x) => x : Math.trunc;
  }

  describe(): Record<string, unknown> {
    const wire = (x: number) => new PyFloat(Math.max(-WIRE_INFINITY, Math.min(WIRE_INFINITY, x)));
    return {
      name: 'Box',
      shape: [...this.shape],
      low: this.low.map(wire),
      high: this.high.map(wire),
      dtype: this.dtype,
    };
  }

  /**
   * Gymnasium's Box.sample for bounded boxes: uniform(low, high) in float64 from the dtype's bounds,
   * then cast; integer boxes draw from [low, high + 1) and floor, so `high` itself can come out.
   * Unbounded dimensions would need NumPy's normal and exponential (ziggurat) draws: not supported
   * yet, and no environment's action space has one.
   */
  sample(): number[] {
    const rng = this.npRandom;
    const integer = this.dtype === 'int64' || this.dtype === 'uint8';
    const out = new Array<number>(this.size);
    for (let i = 0; i < this.size; i++) {
      const lo = this.low[i];
      const hi = this.high[i];
      if (!Number.isFinite(lo) || !Number.isFinite(hi)) {
        throw new RangeError('sampling a Box with unbounded dimensions is not supported yet');
      }
      const x = rng.uniform(lo, integer ? hi + 1 : hi);
      out[i] = integer ? Math.floor(x) : this.dtype === 'float32' ? Math.fround(x) : x;
    }
    return out;
  }

  contains(value: unknown): boolean {
    if (!Array.isArray(value) || value.length !== this.size) return false;
    for (let i = 0; i < this.size; i++) {
      const x = value[i];
      if (typeof x !== 'number' || !(x >= this.low[i] && x <= this.high[i])) return false;
    }
    return true;
  }

  encode(value: number[]): string {
    const fmt = this.dtype === 'float32' || this.dtype === 'float64' ? pyFloat : String;
    if (this.shape.length === 1) {
      let s = '[';
      for (let i = 0; i < value.length; i++) s += (i ? ', ' : '') + fmt(value[i]);
      return s + ']';
    }
    // Nested lists following the shape, row-major.
    const nest = (dim: number, offset: number, stride: number): string => {
      if (dim === this.shape.length) return fmt(value[offset]);
      const inner = stride / this.shape[dim];
      const parts: string[] = [];
      for (let i = 0; i < this.shape[dim]; i++) parts.push(nest(dim + 1, offset + i * inner, inner));
      return '[' + parts.join(', ') + ']';
    };
    return nest(0, 0, this.size);
  }

  /** Accepts a number (for one-element boxes), a flat or nested list, or such a list in a string. */
  parseAction(raw: unknown): number[] {
    const value = unwrapStringAction(raw);
    // A flat list of numbers (every vector env's decoded batch) is taken as it is: `flat(Infinity)` copied
    // it, and was 18% of a 4,096-Pendulum vector step (a profile of the worker's session).
    const flat =
      typeof value === 'number'
        ? [value]
        : Array.isArray(value)
          ? value.length === this.size && value.every((x) => typeof x === 'number')
            ? (value as unknown[])
            : (value.flat(Infinity) as unknown[])
          : null;
    if (flat === null || flat.length !== this.size) {
      throw new ActionError(
        `action ${describeAction(raw)} does not fit Box of shape [${this.shape.join(', ')}]: ` +
          `send a list of ${this.size} number${this.size === 1 ? '' : 's'}`,
      );
    }
    const cast = this.cast;
    const out = new Array<number>(this.size);
    for (let i = 0; i < this.size; i++) {
      const x = flat[i];
      if (typeof x !== 'number' || !Number.isFinite(x)) {
        throw new ActionError(`action element ${i} is ${describeAction(x)}: every element must be a finite number`);
      }
      out[i] = cast(x);
    }
    return out;
  }
}
