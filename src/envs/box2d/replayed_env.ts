import { NpRandom, type NpRandomSnapshot } from '../../rng/index.js';
import { Env, type ResetOptions, type ResetResult, type StepResult } from '../env.js';

/** What a Box2D env's snapshot holds: the generator as the last reset found it, that reset's options, and the actions since. */
interface ReplaySnapshot {
  /** null: never reset (the generator, if any, is in `rng`). */
  resetRng: NpRandomSnapshot | null;
  /** The options of that reset (absent in snapshots from before there were any: none). */
  resetOptions?: ResetOptions;
  actions: unknown[];
  rng: NpRandomSnapshot | null;
  observationSpace: unknown;
  actionSpace: unknown;
}

/**
 * An env whose state lives in a physics world, snapshotted as "the generator at the last reset (and
 * that reset's options) and the actions since": a world is not plain data (contact caches, warm-start impulses and the broad
 * phase's proxy order all shape the next step), but each reset builds a new world and the engine is
 * deterministic, so replaying the episode rebuilds it bit for bit. The log is bounded by the time
 * limit: the runner refuses steps after an episode ends until the next reset.
 * Subclasses write `resetWorld` and `stepWorld`, as an env file writes `reset` and `step`.
 */
export abstract class ReplayedEnv<O, A> extends Env<O, A> {
  #resetRng: NpRandomSnapshot | null = null;
  #resetOptions: ResetOptions = {};
  #actions: A[] = [];

  protected abstract resetWorld(options: ResetOptions): ResetResult<O>;
  protected abstract stepWorld(action: A): StepResult<O>;

  reset(options: ResetOptions = {}): ResetResult<O> {
    this.#resetRng = this.rng.snapshot();
    this.#resetOptions = options;
    this.#actions = [];
    return this.resetWorld(options);
  }

  step(action: A): StepResult<O> {
    this.#actions.push(action);
    return this.stepWorld(action);
  }

  override snapshot(): ReplaySnapshot {
    return {
      resetRng: this.#resetRng,
      resetOptions: this.#resetOptions,
      actions: [...this.#actions],
      rng: this.npRandom?.snapshot() ?? null,
      observationSpace: this.observationSpace.snapshotRng(),
      actionSpace: this.actionSpace.snapshotRng(),
    };
  }

  override restore(data: unknown): void {
    const snapshot = data as ReplaySnapshot;
    if (snapshot.resetRng !== null) {
      this.npRandom = NpRandom.fromSnapshot(snapshot.resetRng);
      this.reset(snapshot.resetOptions ?? {});
      for (const action of snapshot.actions as A[]) this.step(action);
    }
    this.npRandom = snapshot.rng === null ? null : NpRandom.fromSnapshot(snapshot.rng);
    this.observationSpace.restoreRng(snapshot.observationSpace);
    this.actionSpace.restoreRng(snapshot.actionSpace);
  }
}
