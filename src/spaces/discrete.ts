import { ActionError, describeAction, Space, unwrapStringAction } from './space.js';

/** Gymnasium's Discrete(n, start): the integers start, start+1, …, start+n-1. */
export class Discrete extends Space<number> {
  constructor(
    readonly n: number,
    readonly start = 0,
  ) {
    super();
  }

  describe(): Record<string, unknown> {
    return { name: 'Discrete', n: this.n, start: this.start, dtype: 'int64' };
  }

  sample(): number {
    return this.start + this.npRandom.integers(this.n);
  }

  contains(value: unknown): boolean {
    return Number.isInteger(value) && (value as number) >= this.start && (value as number) < this.start + this.n;
  }

  encode(value: number): string {
    return String(value);
  }

  parseAction(raw: unknown): number {
    let value = unwrapStringAction(raw);
    // A one-element list is what a client that treats every action as a vector sends.
    if (Array.isArray(value) && value.length === 1) value = value[0];
    if (!this.contains(value)) {
      throw new ActionError(
        `action ${describeAction(raw)} is not in Discrete(${this.n}${this.start ? `, start=${this.start}` : ''}): ` +
          `send an integer from ${this.start} to ${this.start + this.n - 1}`,
      );
    }
    return value as number;
  }
}
