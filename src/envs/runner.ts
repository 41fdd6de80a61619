import { performance } from 'node:perf_hooks';
import { PyFloat } from '../json/pyjson.js';
import { NpRandom } from '../rng/index.js';
import type { Env, EnvSpec, Info, RenderMode, ResetOptions, RgbFrame, StepResult } from './env.js';
import { BadResetOptionsError, RenderError, ResetNeededError } from './errors.js';
import { makeEnv } from './registry.js';

/** An EnvRunner as plain data, to rebuild it on another thread. */
export interface RunnerSnapshot {
  envId: string;
  kwargs: Record<string, unknown>;
  pendingSeed: string | null;
  needsReset: boolean;
  elapsedSteps: number;
  statsEnabled: boolean;
  episodeReturn: number;
  episodeLength: number;
  /** Time since the episode began; clocks of different threads do not share an origin. */
  episodeElapsedMs: number;
  /** Env.snapshot()'s data. */
  env: unknown;
}

/** Gymnasium's RecordEpisodeStatistics figures of an episode that ended: return, length, seconds. */
export interface EpisodeStats {
  r: number;
  l: number;
  t: number;
}

/** A step's result after the wrappers: `episode` is set on every step that ends an episode, counted whether or not statistics go into `info`. */
export interface RunnerStepResult extends StepResult<unknown> {
  episode: EpisodeStats | null;
}

/**
 * An env with what `gym.make` wraps around it — TimeLimit, OrderEnforcing — plus
 * RecordEpisodeStatistics and the protocol's seeding rule:
 *
 * - `seed(s)` seeds the action space now (`env.action_space.seed(s)`) and makes the next reset
 *   `env.reset(seed=s)`. Later resets without a new seed continue the same stream, as in Gymnasium.
 * - A reset with no seed ever given draws its generator from OS entropy (Gymnasium's `seed=None`).
 */
export class EnvRunner {
  #pendingSeed: bigint | null = null;
  #needsReset = true;
  #elapsedSteps = 0;
  #statsEnabled = false;
  #episodeReturn = 0;
  #episodeLength = 0;
  #episodeStart = 0;

  constructor(
    readonly spec: EnvSpec,
    readonly env: Env,
    /** The keyword arguments it was made with, to make it again elsewhere. */
    readonly kwargs: Record<string, unknown> = {},
  ) {}

  snapshot(): RunnerSnapshot {
    return {
      envId: this.spec.id,
      kwargs: this.env.madeWith ?? this.kwargs,
      pendingSeed: this.#pendingSeed === null ? null : this.#pendingSeed.toString(),
      needsReset: this.#needsReset,
      elapsedSteps: this.#elapsedSteps,
      statsEnabled: this.#statsEnabled,
      episodeReturn: this.#episodeReturn,
      episodeLength: this.#episodeLength,
      episodeElapsedMs: performance.now() - this.#episodeStart,
      env: this.env.snapshot(),
    };
  }

  static restore(snapshot: RunnerSnapshot): EnvRunner {
    const { spec, env } = makeEnv(snapshot.envId, snapshot.kwargs);
    env.restore(snapshot.env);
    const runner = new EnvRunner(spec, env, snapshot.kwargs);
    runner.#pendingSeed = snapshot.pendingSeed === null ? null : BigInt(snapshot.pendingSeed);
    runner.#needsReset = snapshot.needsReset;
    runner.#elapsedSteps = snapshot.elapsedSteps;
    runner.#statsEnabled = snapshot.statsEnabled;
    runner.#episodeReturn = snapshot.episodeReturn;
    runner.#episodeLength = snapshot.episodeLength;
    runner.#episodeStart = performance.now() - snapshot.episodeElapsedMs;
    return runner;
  }

  seed(seed: bigint): void {
    this.#pendingSeed = seed;
    this.env.actionSpace.seed(seed);
  }

  /** Statistics are always counted, so turning them on mid-episode still reports the whole episode. */
  recordEpisodeStatistics(enabled: boolean): void {
    this.#statsEnabled = enabled;
  }

  /**
   * `options`: Gymnasium's `reset(options=…)`, checked against the spec's `resetOptions` before
   * anything changes (BadResetOptionsError: the env, its seed and generators stay as they were).
   */
  reset(options: Record<string, unknown> | null = null): { obs: unknown; info: Info } {
    const parsed = this.checkResetOptions(options);
    if (this.#pendingSeed !== null) {
      this.env.npRandom = NpRandom.fromSeed(this.#pendingSeed);
      this.#pendingSeed = null;
    }
    const result = this.env.reset(parsed);
    this.#needsReset = false;
    this.#elapsedSteps = 0;
    this.#episodeReturn = 0;
    this.#episodeLength = 0;
    this.#episodeStart = performance.now();
    return result;
  }

  /** The reset options as the env's spec reads them (BadResetOptionsError otherwise); changes nothing. */
  checkResetOptions(options: Record<string, unknown> | null): ResetOptions {
    const schema = this.spec.resetOptions;
    const accepted = schema ? Object.keys(schema.shape) : [];
    const acceptedList = accepted.length ? accepted.join(', ') : 'none';
    // Checked by hand, as kwargs are: JSON.parse makes "__proto__" an own key, which zod passes over.
    const unknown = Object.keys(options ?? {}).filter((key) => !accepted.includes(key));
    if (unknown.length > 0) {
      const names = unknown.map((k) => `'${k}'`).join(', ');
      throw new BadResetOptionsError(`${this.spec.id}: unknown reset option${unknown.length > 1 ? 's' : ''} ${names} (accepted: ${acceptedList})`);
    }
    if (!schema) return {};
    const parsed = schema.safeParse(options ?? {});
    if (!parsed.success) {
      const problems = parsed.error.issues.map((issue) => `'${issue.path.join('.')}': ${issue.message}`);
      throw new BadResetOptionsError(`${this.spec.id}: reset option ${problems.join('; ')} (accepted: ${acceptedList})`);
    }
    return parsed.data as ResetOptions;
  }

  /**
   * Parses the client's action (the space's ActionError if it is not one), steps, applies the time
   * limit; the result's `info` gains `episode` when statistics are on.
   */
  step(rawAction: unknown): RunnerStepResult {
    if (this.#needsReset) throw new ResetNeededError('reset the environment before stepping');
    const result = this.stepParsed(this.env.actionSpace.parseAction(rawAction)) as RunnerStepResult;
    result.episode = this.lastEpisode;
    return result;
  }

  /**
   * The figures of the episode the last `stepParsed` ended, or null: read at once, the next step
   * replaces them. A field rather than a property added to each result: adding one to the env's
   * result object per step changed its shape and cost an allocation (the vector env's hot path).
   */
  lastEpisode: EpisodeStats | null = null;

  /**
   * `step` for an action already parsed by the action space (the vector env parses a batch before any
   * sub-env moves): the env's own result, time limit applied, `info` gaining `episode` when statistics
   * are on; the episode's figures, if it ended, in `lastEpisode`.
   */
  stepParsed(action: unknown): StepResult<unknown> {
    if (this.#needsReset) throw new ResetNeededError('reset the environment before stepping');
    const result = this.env.step(action);
    this.#elapsedSteps += 1;
    const limit = this.spec.maxEpisodeSteps;
    if (limit !== null && this.#elapsedSteps >= limit) result.truncated = true;
    this.#episodeReturn += result.reward;
    this.#episodeLength += 1;
    if (!result.terminated && !result.truncated) {
      this.lastEpisode = null;
      return result;
    }
    const seconds = Math.round((performance.now() - this.#episodeStart) * 1000) / 1e6;
    this.lastEpisode = { r: this.#episodeReturn, l: this.#episodeLength, t: seconds };
    if (this.#statsEnabled) {
      result.info = { ...result.info, episode: { r: new PyFloat(this.#episodeReturn), l: this.#episodeLength, t: new PyFloat(seconds) } };
    }
    return result;
  }

  /**
   * Gymnasium's `render()` for the current state in `mode` (RenderError if the env has no such mode);
   * like `step`, only after the first reset (Gymnasium's OrderEnforcing).
   */
  render(mode: RenderMode): RgbFrame | string {
    const modes = this.env.metadata.render_modes;
    if (!modes.includes(mode)) {
      throw new RenderError(`${this.spec.id} has no '${mode}' rendering; it renders: ${modes.length ? modes.join(', ') : 'nothing'}`);
    }
    if (this.#needsReset) throw new ResetNeededError('reset the environment before rendering');
    return this.env.render(mode);
  }

  /** `env.action_space.sample()` (after a `seed`, from the seeded stream). */
  sampleAction(): unknown {
    return this.env.actionSpace.sample();
  }

  /** Frees the env's resources (Gymnasium's `env.close()`). */
  close(): void {
    this.env.close();
  }
}
