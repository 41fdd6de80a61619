import { NpRandom, type NpRandomSnapshot } from '../rng/index.js';
import { Space } from '../spaces/index.js';
import type { Env } from './env.js';

/** An env's whole state as plain data (the default Env.snapshot); what it was made with is its kwargs, kept by the runner. */
export interface EnvSnapshot {
  fields: Record<string, unknown>;
  rng: NpRandomSnapshot | null;
  observationSpace: unknown;
  actionSpace: unknown;
}

/**
 * Captures an env generically: an env file keeps its state in plain public fields (`reset` and
 * `step` only, no hidden machinery), so its own enumerable fields plus its generators are its state —
 * less what it marked `constant` (tables derived from its kwargs, rebuilt when it is made again).
 * The fields are the env's own values, not copies: serialise the snapshot before the env moves on
 * (Session.snapshot writes it as JSON at once, which is the copy).
 */
export function snapshotEnv(env: Env): EnvSnapshot {
  const fields: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(env)) {
    if (key === 'npRandom' || value instanceof Space || (typeof value === 'object' && value !== null && Object.isFrozen(value))) continue;
    fields[key] = value;
  }
  return {
    fields,
    rng: env.npRandom?.snapshot() ?? null,
    observationSpace: env.observationSpace.snapshotRng(),
    actionSpace: env.actionSpace.snapshotRng(),
  };
}

/** Puts a snapshot's state into an env freshly made with the same kwargs (the snapshot is used up: its values become the env's). */
export function restoreEnv(env: Env, snapshot: EnvSnapshot): void {
  Object.assign(env, snapshot.fields);
  env.npRandom = snapshot.rng === null ? null : NpRandom.fromSnapshot(snapshot.rng);
  env.observationSpace.restoreRng(snapshot.observationSpace);
  env.actionSpace.restoreRng(snapshot.actionSpace);
}
