import { ActionError, describeAction, Space, unwrapStringAction } from './space.js';

/** Gymnasium draws the sub-space seeds below this bound (`np.iinfo(np.int32).max`). */
const INT32_MAX = 2147483647;

/** One space per element of T. */
export type SpacesOf<T extends readonly unknown[]> = { readonly [K in keyof T]: Space<T[K]> };

/**
 * Gymnasium's Tuple: the cartesian product of its sub-spaces (Blackjack's observation is
 * Tuple(Discrete(32), Discrete(11), Discrete(2))). A value is a JS array with one element per
 * sub-space and goes on the wire as a JSON list, as Python's json writes a tuple.
 */
export class Tuple<T extends unknown[] = unknown[]> extends Space<T> {
  readonly spaces: SpacesOf<T>;

  constructor(spaces: SpacesOf<T> | readonly [...SpacesOf<T>]) {
    super();
    if (spaces.length === 0) throw new RangeError('Tuple needs at least one sub-space');
    this.spaces = [...spaces] as unknown as SpacesOf<T>;
  }

  get length(): number {
    return this.spaces.length;
  }

  /**
   * Gymnasium's `Tuple.seed(int)`: seeds the Tuple's own generator with `seed`, draws one sub-seed
   * per sub-space from it (`integers(int32 max, size=len)`, which draws like that many scalar
   * `integers` calls), and seeds each sub-space with its sub-seed.
   */
  override seed(seed: bigint): void {
    super.seed(seed);
    const rng = this.npRandom;
    const subseeds = this.spaces.map(() => rng.integers(INT32_MAX));
    this.spaces.forEach((space, i) => space.seed(BigInt(subseeds[i])));
  }

  override snapshotRng(): unknown {
    return { own: super.snapshotRng(), spaces: this.spaces.map((space) => space.snapshotRng()) };
  }

  override restoreRng(snapshot: unknown): void {
    const { own, spaces } = snapshot as { own: unknown; spaces: unknown[] };
    super.restoreRng(own);
    this.spaces.forEach((space, i) => space.restoreRng(spaces[i]));
  }

  describe(): Record<string, unknown> {
    return { name: 'Tuple', spaces: this.spaces.map((space) => space.describe()) };
  }

  /** Each sub-space samples from its own generator, in order. */
  sample(): T {
    return this.spaces.map((space) => space.sample()) as T;
  }

  contains(value: unknown): boolean {
    return (
      Array.isArray(value) && value.length === this.spaces.length && this.spaces.every((space, i) => space.contains(value[i]))
    );
  }

  encode(value: T): string {
    let s = '[';
    for (let i = 0; i < this.spaces.length; i++) s += (i ? ', ' : '') + this.spaces[i].encode(value[i]);
    return s + ']';
  }

  /** A list with one action per sub-space (each in any form its sub-space accepts), or such a list in a string. */
  parseAction(raw: unknown): T {
    const value = unwrapStringAction(raw);
    if (!Array.isArray(value) || value.length !== this.spaces.length) {
      throw new ActionError(
        `action ${describeAction(raw)} does not fit a Tuple of ${this.spaces.length} spaces: ` +
          `send a list of ${this.spaces.length} elements`,
      );
    }
    return this.spaces.map((space, i) => {
      try {
        return space.parseAction(value[i]);
      } catch (err) {
        if (err instanceof ActionError) throw new ActionError(`Tuple element ${i}: ${err.message}`);
        throw err;
      }
    }) as T;
  }
}
