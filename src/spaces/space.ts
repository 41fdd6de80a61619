import { NpRandom, type NpRandomSnapshot } from '../rng/index.js';

/** An action the client sent that the space does not accept; becomes an INVALID_ACTION reply. */
export class ActionError extends Error {}

/**
 * A Gymnasium space. Each env instance owns its spaces, because a space carries its own random
 * generator (`action_space.seed(s)` in Gymnasium), separate from the env's.
 */
export abstract class Space<T> {
  #rng: NpRandom | null = null;

  /** The space's generator; seeded from OS entropy on first use, like Gymnasium's. */
  get npRandom(): NpRandom {
    return (this.#rng ??= NpRandom.fromEntropy());
  }

  /** The generator's position, as plain data (null: not created yet), for moving the env to another thread. */
  snapshotRng(): unknown {
    return this.#rng?.snapshot() ?? null;
  }

  restoreRng(snapshot: unknown): void {
    this.#rng = snapshot === null ? null : NpRandom.fromSnapshot(snapshot as NpRandomSnapshot);
  }

  /** Gymnasium's `space.seed(seed)`. */
  seed(seed: bigint): void {
    this.#rng = NpRandom.fromSeed(seed);
  }

  /** The SPACE object of the protocol (docs/protocol.md §5.2), as plain data for `toPyJson`. */
  abstract describe(): Record<string, unknown>;
  /** Gymnasium's `space.sample()`, drawing exactly what NumPy would. */
  abstract sample(): T;
  abstract contains(value: unknown): boolean;
  /** JSON text of a value of this space, floats as floats. */
  abstract encode(value: T): string;
  /** Turns the action a client sent (any of the accepted wire forms) into a value, or throws ActionError. */
  abstract parseAction(raw: unknown): T;
}

/** An action as the client sent it, for error messages: short, and 1e400 shown as Infinity, not null. */
export function describeAction(raw: unknown): string {
  const text = JSON.stringify(raw, (_key, v) => (typeof v === 'number' && !Number.isFinite(v) ? String(v) : v)) ?? String(raw);
  return text.length > 80 ? text.slice(0, 80) + '…' : text;
}

/** The wire also carries actions as strings: `"1"`, `"[0, 1, 0, 0]"` (gym-tcp-api's README). */
export function unwrapStringAction(raw: unknown): unknown {
  if (typeof raw !== 'string') return raw;
  const text = raw.trim();
  if (text === '') throw new ActionError('the action is an empty string');
  try {
    return JSON.parse(text);
  } catch {
    throw new ActionError(`the action string ${JSON.stringify(raw.slice(0, 40))} is not a number or a list of numbers`);
  }
}
