import { PyFloat } from '../../json/pyjson.js';
import { categoricalSample } from '../../rng/index.js';
import { constant, Env, type ResetResult, type StepResult } from '../env.js';
import type { Discrete } from '../../spaces/index.js';

/** One possible outcome of an action: Gymnasium's `(prob, next_state, reward, terminated)`. */
export interface Transition {
  prob: number;
  next: number;
  reward: number;
  terminated: boolean;
}

/**
 * The dynamics FrozenLake, CliffWalking and Taxi share (Gymnasium's `P[s][a]` table): a reset draws
 * the start from `initialStateDistrib`, a step draws one of the action's transitions — one `random()`
 * each, even when the outcome is certain. An env file builds the table; this runs it. Taxi adds its
 * fickle passenger around `reset` and `takeTransition`.
 */
export abstract class TabularEnv extends Env<number, number> {
  abstract override readonly observationSpace: Discrete;
  abstract readonly initialStateDistrib: readonly number[];
  /**
   * `P[s]`, each row built on first use rather than the whole table in the constructor: a 64x64
   * FrozenLake table (49,152 transitions) cost ~30 ms to build and freeze, Taxi's ~10–60 ms, on every
   * make, and a worker making one holds up every other session on it that long (measured on the
   * loaded 2-core machine; docs/architecture.md, "Fair under expensive requests"). Private: not in a
   * snapshot, since remaking the env from its kwargs rebuilds it.
   */
  readonly #rows: (readonly (readonly Transition[])[] | undefined)[] = [];
  /** Current state (Gymnasium's `s`). */
  s = 0;
  /** Gymnasium's `lastaction`; null after reset. */
  lastAction: number | null = null;

  reset(): ResetResult<number> {
    this.s = categoricalSample(this.initialStateDistrib, this.rng);
    this.lastAction = null;
    return { obs: this.s, info: { prob: 1 } };
  }

  step(action: number): StepResult<number> {
    const t = this.takeTransition(action);
    return { obs: t.next, reward: t.reward, terminated: t.terminated, truncated: false, info: { prob: new PyFloat(t.prob) } };
  }

  /** Row `s` of Gymnasium's `P`: each action's possible transitions, in the order they are sampled. */
  protected abstract transitionRow(s: number): Transition[][];

  /** Gymnasium's whole `P[s][a]` table (built in full here; steps build only the rows they visit). */
  get P(): readonly (readonly (readonly Transition[])[])[] {
    return constant(Array.from({ length: this.observationSpace.n }, (_, s) => this.#row(s)));
  }

  protected transitionsOf(s: number, action: number): readonly Transition[] {
    return (this.#rows[s] ?? this.#row(s))[action];
  }

  #row(s: number): readonly (readonly Transition[])[] {
    return (this.#rows[s] ??= constant(this.transitionRow(s)));
  }

  /** Draws one of the action's transitions (one `random()`) and moves to its state. */
  protected takeTransition(action: number): Transition {
    const transitions = this.transitionsOf(this.s, action);
    const t = transitions[categoricalSample(transitions.map((x) => x.prob), this.rng)];
    this.s = t.next;
    this.lastAction = action;
    return t;
  }
}
