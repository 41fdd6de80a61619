import { ActionError, describeAction, Space, unwrapStringAction } from './space.js';
import { encodeIntArray, flattenAction } from './multi_discrete.js';

/**
 * Gymnasium's MultiBinary(n): an int8 array of 0s and 1s, of shape `[n]` or the given shape.
 * Values are flat number arrays (row-major), written as (nested) JSON lists.
 */
export class MultiBinary extends Space<number[]> {
  readonly shape: readonly number[];
  readonly size: number;

  constructor(n: number | readonly number[]) {
    super();
    const shape = typeof n === 'number' ? [n] : [...n];
    if (shape.length === 0 || !shape.every((d) => Number.isSafeInteger(d) && d > 0)) {
      throw new RangeError(`MultiBinary needs positive integer dimensions, got ${JSON.stringify(n)}`);
    }
    this.shape = shape;
    this.size = shape.reduce((a, b) => a * b, 1);
  }

  /**
   * The SPACE object. The C++ gym-tcp-api client matches keys by prefix ("n…" is read as an int, see
   * MultiDiscrete.describe), so there is no `n` (Gymnasium's `n` may be a tuple); the shape and the
   * 0/1 bounds are given as for an int Box, which is all a client needs to read the values.
   */
  describe(): Record<string, unknown> {
    return {
      name: 'MultiBinary',
      shape: [...this.shape],
      low: new Array<number>(this.size).fill(0),
      high: new Array<number>(this.size).fill(1),
      dtype: 'int8',
    };
  }

  /**
   * Gymnasium: `np_random.integers(0, 2, size=shape, dtype=int8)`. NumPy fills an int8 array from
   * 32-bit draws cut into bytes, low byte first, with a buffer local to the call; Lemire's method for
   * the range [0, 1] keeps every byte (no rejection) and returns its top bit.
   */
  sample(): number[] {
    const bg = this.npRandom.bitGenerator;
    const out = new Array<number>(this.size);
    let buf = 0;
    let left = 0; // bytes still in buf after the current one
    for (let i = 0; i < this.size; i++) {
      if (left === 0) {
        buf = bg.nextUint32();
        left = 3;
      } else {
        buf >>>= 8;
        left -= 1;
      }
      out[i] = (buf >>> 7) & 1;
    }
    return out;
  }

  contains(value: unknown): boolean {
    if (!Array.isArray(value)) return false;
    const flat = value.flat(Infinity) as unknown[];
    return flat.length === this.size && flat.every((x) => x === 0 || x === 1);
  }

  encode(value: number[]): string {
    return encodeIntArray(value, this.shape);
  }

  /** A flat or nested list of 0/1 (or booleans), a bare 0/1 for a one-element space, or such a list in a string. */
  parseAction(raw: unknown): number[] {
    const flat = flattenAction(unwrapStringAction(raw));
    if (flat === null || flat.length !== this.size) {
      throw new ActionError(
        `action ${describeAction(raw)} does not fit MultiBinary of shape [${this.shape.join(', ')}]: ` +
          `send a list of ${this.size} zero${this.size === 1 ? '' : 's'} or one${this.size === 1 ? '' : 's'}`,
      );
    }
    return flat.map((x, i) => {
      if (x === 0 || x === 1) return x;
      if (typeof x === 'boolean') return x ? 1 : 0;
      throw new ActionError(`action element ${i} is ${describeAction(x)}: every element must be 0 or 1`);
    });
  }
}
