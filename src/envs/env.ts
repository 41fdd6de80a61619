import { z } from 'zod';
import { NpRandom } from '../rng/index.js';
import type { Space } from '../spaces/index.js';
import { RenderError } from './errors.js';
import { restoreEnv, snapshotEnv, type EnvSnapshot } from './snapshot.js';

/**
 * Gymnasium's `info` dict, as plain data. A value Gymnasium returns as a Python float is wrapped in
 * PyFloat (src/json/pyjson.ts): the type is part of the value (Python clients check it, and a vector
 * env's info arrays take their dtype from it), not a matter of how a front writes it.
 */
export type Info = Record<string, unknown>;

/** Gymnasium's `reset(options=…)` dict, as the env's `resetOptions` schema parsed it. */
export type ResetOptions = Record<string, unknown>;

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
 * Gymnasium's render modes that a server can have (no `human`: a server has no display).
 * `state_pixels` is CarRacing's: the frame its observation shows (96×96).
 */
export const RENDER_MODES = ['rgb_array', 'ansi', 'state_pixels'] as const;
export type RenderMode = (typeof RENDER_MODES)[number];

/**
 * An RGB image, Gymnasium's `render()` in `rgb_array` mode: H×W×3 bytes, row-major, top row first.
 * The bytes are the renderer's, reused for the next frame of that size drawn on the same thread
 * (src/render/canvas.ts says why): encode or copy them before rendering again.
 */
export interface RgbFrame {
  readonly width: number;
  readonly height: number;
  readonly data: Uint8Array;
}

/** Gymnasium's `Env.metadata`: what the env can render, and at what frame rate its videos play. */
export interface EnvMetadata {
  /** The modes `render` answers; empty: the env draws nothing (yet). */
  readonly render_modes: readonly RenderMode[];
  /** Frames per second of a recording; null where Gymnasium gives none. */
  readonly render_fps: number | null;
}

const NO_RENDERING = envMetadata({ render_fps: null });

/**
 * One environment, as Gymnasium's `Env` minus the wrappers `gym.make` adds (time limit, order
 * enforcing, statistics: see EnvRunner). An env file holds the dynamics and nothing else: its spaces,
 * `reset` and `step`, and, as capabilities it has or not, `render` and its own snapshots.
 * `npRandom` is Gymnasium's `self.np_random`; the runner replaces it on a seeded reset.
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

  /** Gymnasium's `metadata`; an env that renders overrides it (a getter, so it is no field of its state). */
  get metadata(): EnvMetadata {
    return NO_RENDERING;
  }

  /** The generator for this reset: the seeded one, or one seeded from OS entropy on first use. */
  protected get rng(): NpRandom {
    return (this.npRandom ??= NpRandom.fromEntropy());
  }

  /** `options`: Gymnasium's `reset(options=…)`, already checked against the spec's `resetOptions` ({} when none are given). */
  abstract reset(options?: ResetOptions): ResetResult<O>;
  /** `action` has already been checked by `actionSpace.parseAction`. */
  abstract step(action: A): StepResult<O>;

  /**
   * Gymnasium's `render()` for the current state: an RGB frame in `rgb_array` (and `state_pixels`)
   * mode, text in `ansi` mode. Only modes listed in `metadata.render_modes` are answered; the others raise RenderError.
   */
  render(mode: RenderMode): RgbFrame | string {
    throw new RenderError(`this environment has no '${mode}' rendering (it renders: ${this.metadata.render_modes.join(', ') || 'nothing'})`);
  }

  /** Frees what the env holds outside the JavaScript heap (a physics world, an engine's memory). */
  close(): void {}

  /**
   * The env's whole state as JSON-safe data, to rebuild it on another thread (its worker died). The
   * default captures the plain fields an env file keeps (see snapshot.ts); an env whose state is not
   * plain data (a physics world) overrides both methods.
   */
  snapshot(): unknown {
    return snapshotEnv(this);
  }

  /** Puts a snapshot's state into an env freshly made with the same kwargs. */
  restore(snapshot: unknown): void {
    restoreEnv(this, snapshot as EnvSnapshot);
  }
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
  /**
   * The options `reset(options=…)` reads (Gymnasium's dict, e.g. CarRacing's `randomize`); absent:
   * the env reads none, and a reset that gives some is refused (BadResetOptionsError).
   */
  resetOptions?: z.ZodObject;
  make(kwargs: z.infer<K>): Env;
  /**
   * A make that can take milliseconds (a generated map), split in two: `needed` says cheaply whether
   * these kwargs have a costly part, `run` does it and returns kwargs that make the same env cheaply
   * (the map itself). The env worker hands such makes to the preparation pool, off the threads that
   * step other sessions' envs (src/pool/prepare-pool.ts); `run` throws as `make` would.
   */
  prepare?: { needed(kwargs: z.infer<K>): boolean; run(kwargs: z.infer<K>): z.infer<K> };
  /** One line for `gym-tcp envs` and the README. */
  summary: string;
}

/** An env's `metadata`, frozen: `render_modes` as far as gym-tcp draws them (none by default). */
export function envMetadata(metadata: { render_fps: number | null; render_modes?: readonly RenderMode[] }): EnvMetadata {
  return Object.freeze({ render_modes: Object.freeze([...(metadata.render_modes ?? [])]), render_fps: metadata.render_fps });
}

/**
 * The largest magnitude a real-valued kwarg that feeds rewards or dynamics may have. A finite value
 * can still make sums overflow (FrozenLake's `reward_schedule` of 1e308 made an episode's return
 * Infinity, which is not JSON): at 1e100 a return needs 1e208 steps to overflow, and squares
 * (Pendulum's dynamics) stay finite.
 */
export const MAX_KWARG_MAGNITUDE = 1e100;

/** A real-valued kwarg bounded by MAX_KWARG_MAGNITUDE, so no reward or observation it feeds can become non-finite. */
export function boundedReal(): z.ZodNumber {
  return z
    .number()
    .min(-MAX_KWARG_MAGNITUDE, `must be at least -1e100 (larger magnitudes can make rewards non-finite)`)
    .max(MAX_KWARG_MAGNITUDE, `must be at most 1e100 (larger magnitudes can make rewards non-finite)`);
}
