import type { z } from 'zod';
import { NpRandom } from '../rng/index.js';
import type { Space } from '../spaces/index.js';

/** Gymnasium's `info` dict. Plain data; wrap float values in PyFloat so they print as floats. */
export type Info = Record<string, unknown>;

export interface ResetResult<O> {
  obs: O;
  info: Info;
}

export interface StepResult<O> {
  obs: O;
  /** Always a float on the wire (Gymnasium returns Python floats). */
  reward: number;
  terminated: boolean;
  /** Set by the env itself only in the rare envs that truncate on their own; the time limit is the runner's. */
  truncated: boolean;
  info: Info;
}

/**
 * One environment, as Gymnasium's `Env` minus the wrappers `gym.make` adds (time limit, order
 * enforcing, statistics: see EnvRunner). An env file holds the dynamics and nothing else: its spaces,
 * `reset` and `step`. `npRandom` is Gymnasium's `self.np_random`; the runner replaces it on a seeded reset.
 */
export abstract class Env<O = unknown, A = unknown> {
  abstract readonly observationSpace: Space<O>;
  abstract readonly actionSpace: Space<A>;
  npRandom: NpRandom | null = null;
  /**
   * Keyword arguments that make this very env again, for an env whose constructor drew randomness
   * (a random map); null: the ones it was made with do.
   */
  madeWith: Record<string, unknown> | null = null;

  /** The generator for this reset: the seeded one, or one seeded from OS entropy on first use. */
  protected get rng(): NpRandom {
    return (this.npRandom ??= NpRandom.fromEntropy());
  }

  abstract reset(): ResetResult<O>;
  /** `action` has already been checked by `actionSpace.parseAction`. */
  abstract step(action: A): StepResult<O>;
}

/**
 * Marks data an env derives from its keyword arguments and never changes (transition tables, maps):
 * deep-frozen, and left out of snapshots, since remaking the env from its kwargs rebuilds it.
 */
export function constant<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value)) constant(child);
  }
  return value;
}

/** What `gym.make` knows about an id: how to build it and the wrappers' settings. */
export interface EnvSpec<K extends z.ZodObject = z.ZodObject> {
  id: string;
  /** TimeLimit's max_episode_steps; null for no limit. */
  maxEpisodeSteps: number | null;
  rewardThreshold: number | null;
  /** Keyword arguments the env accepts, with their defaults; unknown ones are rejected. */
  kwargs: K;
  make(kwargs: z.infer<K>): Env;
  /** One line for `gym-tcp envs` and the README. */
  summary: string;
}
