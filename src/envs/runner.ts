import { performance } from 'node:perf_hooks';
import { PyFloat } from '../json/pyjson.js';
import { ProtocolError } from '../protocol/errors.js';
import { ActionError } from '../spaces/index.js';
import { NpRandom } from '../rng/index.js';
import type { Env, EnvSpec, Info, StepResult } from './env.js';
import { makeEnv } from './registry.js';
import { restoreEnv, snapshotEnv, type EnvSnapshot } from './snapshot.js';

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
  env: EnvSnapshot;
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
      env: snapshotEnv(this.env),
    };
  }

  static restore(snapshot: RunnerSnapshot): EnvRunner {
    const { spec, env } = makeEnv(snapshot.envId, snapshot.kwargs);
    restoreEnv(env, snapshot.env);
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

  reset(): { obs: unknown; info: Info } {
    if (this.#pendingSeed !== null) {
      this.env.npRandom = NpRandom.fromSeed(this.#pendingSeed);
      this.#pendingSeed = null;
    }
    const result = this.env.reset();
    this.#needsReset = false;
    this.#elapsedSteps = 0;
    this.#episodeReturn = 0;
    this.#episodeLength = 0;
    this.#episodeStart = performance.now();
    return result;
  }

  /** Parses the wire action, steps, applies the time limit; the result's `info` may gain `episode`. */
  step(rawAction: unknown): StepResult<unknown> {
    if (this.#needsReset) {
      throw new ProtocolError('RESET_NEEDED', 'reset the environment before stepping: send {"env":{"action": "reset"}}');
    }
    let action: unknown;
    try {
      action = this.env.actionSpace.parseAction(rawAction);
    } catch (err) {
      if (err instanceof ActionError) throw new ProtocolError('INVALID_ACTION', err.message);
      throw err;
    }
    const result = this.env.step(action);
    this.#elapsedSteps += 1;
    const limit = this.spec.maxEpisodeSteps;
    if (limit !== null && this.#elapsedSteps >= limit) result.truncated = true;

    this.#episodeReturn += result.reward;
    this.#episodeLength += 1;
    if (this.#statsEnabled && (result.terminated || result.truncated)) {
      const seconds = Math.round((performance.now() - this.#episodeStart) * 1000) / 1e6;
      result.info = {
        ...result.info,
        episode: { r: new PyFloat(this.#episodeReturn), l: this.#episodeLength, t: new PyFloat(seconds) },
      };
    }
    return result;
  }

  sampleAction(): unknown {
    return this.env.actionSpace.sample();
  }
}
