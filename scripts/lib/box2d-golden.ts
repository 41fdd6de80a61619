/**
 * Replays Gymnasium's recorded Box2D episodes (golden files, see test/fixtures/box2d/README.md) on
 * gym-tcp's envs in-process and measures how far they are: the report script and the tests share it.
 */
import { NpRandom } from '../../src/rng/index.js';
import type { Env } from '../../src/envs/env.js';

export interface GoldenBox2DStep {
  action: number | number[];
  obs: number[];
  reward: number;
  terminated: boolean;
  truncated: boolean;
}

export interface GoldenBox2DEpisode {
  reset_seed: number;
  reset: { obs: number[] };
  steps: GoldenBox2DStep[];
  length: number;
  end: string;
  return: number;
  policy?: string;
}

export interface EpisodeAgreement {
  seed: number;
  policy: string;
  length: number;
  /** Largest |obs - Gymnasium's| of the reset observation. */
  resetError: number;
  /** First step (0-based) whose observation leaves `atol`, or whose `terminated` differs; null: none. */
  firstDivergence: number | null;
  /** Largest observation error over the first `window` steps. */
  maxErrorInWindow: number;
  window: number;
  /** Largest reward error over the steps before the first divergence. */
  maxRewardError: number;
}

/** 'random', 'out-of-bounds' or 'heuristic', from a golden episode's description of its policy. */
function policyName(policy: string): string {
  if (policy.startsWith('env.action_space')) return 'random';
  if (policy.includes('heuristic') || policy.includes('Heuristic')) return 'heuristic';
  return policy.split(' ')[0];
}

function maxAbsDiff(a: readonly number[], b: readonly number[]): number {
  let max = 0;
  for (let i = 0; i < b.length; i++) max = Math.max(max, Math.abs(a[i] - b[i]));
  return max;
}

/** Replays one golden episode on a fresh env from `make()`: seeded reset, then the recorded actions. */
export function replayEpisode(make: () => Env, episode: GoldenBox2DEpisode, window: number, atol = 2e-4): EpisodeAgreement {
  const env = make() as Env<number[], unknown>;
  env.npRandom = NpRandom.fromSeed(episode.reset_seed);
  const reset = env.reset();
  const result: EpisodeAgreement = {
    seed: episode.reset_seed,
    policy: policyName(episode.policy ?? ''),
    length: episode.steps.length,
    resetError: maxAbsDiff(reset.obs, episode.reset.obs),
    firstDivergence: null,
    maxErrorInWindow: 0,
    window,
    maxRewardError: 0,
  };
  for (let i = 0; i < episode.steps.length; i++) {
    const step = episode.steps[i];
    const got = env.step(step.action);
    const error = maxAbsDiff(got.obs, step.obs);
    if (i < window) result.maxErrorInWindow = Math.max(result.maxErrorInWindow, error);
    if (result.firstDivergence === null) {
      if (error > atol || got.terminated !== step.terminated) result.firstDivergence = i;
      else result.maxRewardError = Math.max(result.maxRewardError, Math.abs(got.reward - step.reward));
    }
    if (got.terminated) break;
  }
  env.close();
  return result;
}
