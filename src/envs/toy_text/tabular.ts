import { PyFloat } from '../../json/pyjson.js';
import { categoricalSample } from '../../rng/index.js';
import { Env, type ResetResult, type StepResult } from '../env.js';

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
  /** Gymnasium's `P[s][a]`: the possible transitions, in the order they are sampled. */
  abstract readonly P: readonly (readonly (readonly Transition[])[])[];
  abstract readonly initialStateDistrib: readonly number[];
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

  /** `P[s][a]`; an env with a large table may build its rows on first use instead (FrozenLake). */
  protected transitionsOf(s: number, action: number): readonly Transition[] {
    return this.P[s][action];
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
