import { BadKwargsError, EnvNotLoaded, UnknownEnvError } from './errors.js';
import type { Env, EnvSpec } from './env.js';

/**
 * A family of environments that share one module (CartPole-v0 and -v1; the Box2D envs and their
 * engine). The catalogue knows its ids at once; its code is imported on first use, so a server that
 * never makes a family never loads it, and a family whose engine must load asynchronously (WebAssembly)
 * fits without making every env asynchronous: `makeEnv` stays synchronous and throws EnvNotLoaded
 * until `loadEnvFamily` has finished (the env worker waits for it and asks again).
 */
interface EnvFamily {
  readonly ids: readonly string[];
  readonly load: () => Promise<readonly EnvSpec[]>;
  /**
   * Loaded by an env worker before it serves (warmEnvFamilies): a small pure-TypeScript module costs
   * a first make ~80 ms when imported on demand (120 vs 37 ms for a first CartPole make measured on a
   * busy 2-core machine), and nothing worth saving when imported at start. A family with a heavy
   * engine leaves it unset and loads on first use.
   */
  readonly warm?: boolean;
}

const families: readonly EnvFamily[] = [
  { ids: ['CartPole-v0', 'CartPole-v1'], load: async () => (await import('./classic_control/cartpole.js')).cartPoleSpecs as EnvSpec[], warm: true },
  { ids: ['MountainCar-v0'], load: async () => (await import('./classic_control/mountain_car.js')).mountainCarSpecs as EnvSpec[], warm: true },
  {
    ids: ['MountainCarContinuous-v0'],
    load: async () => (await import('./classic_control/continuous_mountain_car.js')).continuousMountainCarSpecs as EnvSpec[],
    warm: true,
  },
  { ids: ['Pendulum-v1'], load: async () => (await import('./classic_control/pendulum.js')).pendulumSpecs as EnvSpec[], warm: true },
  { ids: ['Acrobot-v1'], load: async () => (await import('./classic_control/acrobot.js')).acrobotSpecs as EnvSpec[], warm: true },
  { ids: ['FrozenLake-v1', 'FrozenLake8x8-v1'], load: async () => (await import('./toy_text/frozen_lake.js')).frozenLakeSpecs as EnvSpec[], warm: true },
  { ids: ['CliffWalking-v1', 'CliffWalkingSlippery-v1'], load: async () => (await import('./toy_text/cliff_walking.js')).cliffWalkingSpecs as EnvSpec[], warm: true },
  { ids: ['Taxi-v4'], load: async () => (await import('./toy_text/taxi.js')).taxiSpecs as EnvSpec[], warm: true },
  { ids: ['Blackjack-v1'], load: async () => (await import('./toy_text/blackjack.js')).blackjackSpecs as EnvSpec[], warm: true },
  // Box2D families load on first make: the physics engine is the heaviest module gym-tcp has.
  {
    ids: ['LunarLander-v3', 'LunarLanderContinuous-v3'],
    load: async () => (await import('./box2d/lunar_lander.js')).lunarLanderSpecs as EnvSpec[],
  },
  {
    ids: ['BipedalWalker-v3', 'BipedalWalkerHardcore-v3'],
    load: async () => (await import('./box2d/bipedal_walker.js')).bipedalWalkerSpecs as EnvSpec[],
  },
  { ids: ['CarRacing-v3'], load: async () => (await import('./box2d/car_racing.js')).carRacingSpecs as EnvSpec[] },
];

/**
 * Ids that older Gym versions used and clients still send, mapped to the env they became.
 * Only ids whose target is in the catalogue resolve.
 */
export const ENV_ALIASES: Readonly<Record<string, string>> = {
  'FrozenLake-v0': 'FrozenLake-v1',
  'FrozenLake8x8-v0': 'FrozenLake8x8-v1',
  'CliffWalking-v0': 'CliffWalking-v1',
  'Pendulum-v0': 'Pendulum-v1',
  'Taxi-v2': 'Taxi-v4',
  'Taxi-v3': 'Taxi-v4',
  'Blackjack-v0': 'Blackjack-v1',
  'LunarLander-v2': 'LunarLander-v3',
  'LunarLanderContinuous-v2': 'LunarLanderContinuous-v3',
  'BipedalWalker-v2': 'BipedalWalker-v3',
  'BipedalWalkerHardcore-v2': 'BipedalWalkerHardcore-v3',
  'CarRacing-v0': 'CarRacing-v3',
  'CarRacing-v1': 'CarRacing-v3',
  'CarRacing-v2': 'CarRacing-v3',
};

const familyOf = new Map<string, EnvFamily>();
for (const family of families) for (const id of family.ids) familyOf.set(id, family);
/** Specs of the families loaded so far, by id. */
const loaded = new Map<string, EnvSpec>();
const loading = new Map<EnvFamily, Promise<void>>();

/** Every id gym-tcp serves (without the old aliases), in catalogue order; loads nothing. */
export function envIds(): string[] {
  return families.flatMap((family) => family.ids);
}

/** The catalogue id an id (or an old alias) stands for, or undefined. */
export function canonicalEnvId(id: string): string | undefined {
  if (familyOf.has(id)) return id;
  const target = ENV_ALIASES[id];
  return target !== undefined && familyOf.has(target) ? target : undefined;
}

/** Loads the code of the family `id` belongs to (once); rejects with UnknownEnvError for an unknown id. */
export function loadEnvFamily(id: string): Promise<void> {
  const canonical = canonicalEnvId(id);
  if (canonical === undefined) return Promise.reject(unknownEnv(id));
  const family = familyOf.get(canonical)!;
  let promise = loading.get(family);
  if (!promise) {
    promise = family.load().then((specs) => {
      for (const spec of specs) loaded.set(spec.id, spec);
      const missing = family.ids.filter((known) => !loaded.has(known));
      if (missing.length > 0) throw new Error(`env module for ${family.ids.join(', ')} does not define ${missing.join(', ')}`);
    });
    // A failed load (a broken install) is tried again next time rather than remembered.
    promise.catch(() => loading.delete(family));
    loading.set(family, promise);
  }
  return promise;
}

/** Loads the families marked `warm` (an env worker does before it serves). */
export async function warmEnvFamilies(): Promise<void> {
  await Promise.all(families.filter((family) => family.warm).map((family) => loadEnvFamily(family.ids[0])));
}

/** Every spec, loading every family (for `gym-tcp envs`, the README and tests). */
export async function loadEnvSpecs(): Promise<EnvSpec[]> {
  await Promise.all(families.map((family) => loadEnvFamily(family.ids[0])));
  return envIds().map((id) => loaded.get(id)!);
}

/** The spec of a loaded family's id (or alias); undefined if unknown or not loaded yet. */
export function findEnvSpec(id: string): EnvSpec | undefined {
  const canonical = canonicalEnvId(id);
  return canonical === undefined ? undefined : loaded.get(canonical);
}

/**
 * `gym.make(id, **kwargs)` without the wrappers. Throws UnknownEnvError or BadKwargsError, or
 * EnvNotLoaded (nothing done yet: await its `loading` and call again).
 */
export function makeEnv(id: string, kwargs: Record<string, unknown> = {}): { spec: EnvSpec; env: Env } {
  const { spec, parsed } = checkedKwargs(id, kwargs);
  try {
    return { spec, env: spec.make(parsed) };
  } catch (err) {
    // Arguments that pass their schema can still be impossible together (e.g. a random map no draw solves).
    throw new BadKwargsError(`${spec.id}: ${(err as Error).message}`);
  }
}

/**
 * Whether `makeEnv(id, kwargs)` has a costly part that `prepareMake` can do on another thread (see
 * EnvSpec.prepare). Cheap: it checks the kwargs and asks the spec. Throws as makeEnv does.
 */
export function makeNeedsPreparation(id: string, kwargs: Record<string, unknown> = {}): boolean {
  const { spec, parsed } = checkedKwargs(id, kwargs);
  return spec.prepare?.needed(parsed) ?? false;
}

/** Does the costly part of a make: kwargs that make the same env cheaply. Throws as makeEnv does. */
export function prepareMake(id: string, kwargs: Record<string, unknown> = {}): Record<string, unknown> {
  const { spec, parsed } = checkedKwargs(id, kwargs);
  if (!spec.prepare) return parsed;
  try {
    return spec.prepare.run(parsed);
  } catch (err) {
    throw new BadKwargsError(`${spec.id}: ${(err as Error).message}`);
  }
}

/** The spec of `id` and its kwargs as its schema reads them; UnknownEnvError, BadKwargsError or EnvNotLoaded otherwise. */
function checkedKwargs(id: string, kwargs: Record<string, unknown>): { spec: EnvSpec; parsed: Record<string, unknown> } {
  const canonical = canonicalEnvId(id);
  if (canonical === undefined) throw unknownEnv(id);
  const spec = loaded.get(canonical);
  if (!spec) throw new EnvNotLoaded(canonical, loadEnvFamily(canonical));
  const accepted = Object.keys(spec.kwargs.shape);
  const acceptedList = accepted.length ? accepted.join(', ') : 'none';
  // Checked by hand, not left to zod: JSON.parse makes "__proto__" an own key, which zod passes over.
  const unknown = Object.keys(kwargs).filter((key) => !accepted.includes(key));
  if (unknown.length > 0) {
    const names = unknown.map((k) => `'${k}'`).join(', ');
    throw new BadKwargsError(`${spec.id}: unknown argument${unknown.length > 1 ? 's' : ''} ${names} (accepted: ${acceptedList})`);
  }
  const parsed = spec.kwargs.safeParse(kwargs);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `'${issue.path.join('.')}': ${issue.message}`);
    throw new BadKwargsError(`${spec.id}: ${problems.join('; ')} (accepted: ${acceptedList})`);
  }
  return { spec, parsed: parsed.data as Record<string, unknown> };
}

function unknownEnv(id: string): UnknownEnvError {
  return new UnknownEnvError(`no environment named '${id}'; ${suggest(id)}`);
}

function suggest(id: string): string {
  const ids = envIds();
  const base = id.replace(/-v\d+$/, '').toLowerCase();
  const close = ids.filter((known) => known.toLowerCase().startsWith(base) || editDistance(known.toLowerCase(), id.toLowerCase()) <= 3);
  return close.length ? `did you mean ${close.join(' or ')}?` : `known ids: ${ids.join(', ')}`;
}

function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) {
      cur[j] = Math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    prev = cur;
  }
  return prev[b.length];
}

/** The kwargs schema's defaults, for `gym-tcp envs`. */
export function kwargDefaults(spec: EnvSpec): Record<string, unknown> {
  const result = spec.kwargs.safeParse({});
  return result.success ? (result.data as Record<string, unknown>) : {};
}
