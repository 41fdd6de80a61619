/**
 * What an environment, its wrappers or the registry can refuse, as domain errors. They know nothing
 * of the wire: the protocol session maps each class to an error code (src/protocol/session.ts), so a
 * new front, or a vector env, maps them its own way. A space's refusal of an action is the spaces'
 * own ActionError (src/spaces/space.ts).
 */

/** No environment is registered under the id (nor under an old id that maps to one). */
export class UnknownEnvError extends Error {}

/** Keyword arguments that are unknown, of the wrong type, or impossible together. */
export class BadKwargsError extends Error {}

/** Reset options the env does not read, or of the wrong type (the spec's `resetOptions`). */
export class BadResetOptionsError extends Error {}

/** A step or render before the first reset (Gymnasium's OrderEnforcing). */
export class ResetNeededError extends Error {}

/** A render mode the env does not have (not in its `metadata.render_modes`). */
export class RenderError extends Error {}

/**
 * The env's module is not loaded yet (registry entries load their code on first use, which may take
 * an asynchronous step, e.g. compiling WebAssembly): wait for `loading`, then ask again. Only the
 * registry throws it, before anything has changed, so asking again is safe.
 */
export class EnvNotLoaded extends Error {
  constructor(
    readonly id: string,
    readonly loading: Promise<unknown>,
  ) {
    super(`the code of environment ${id} is still loading`);
  }
}
