import { ProtocolError } from '../protocol/errors.js';
import { acrobotSpecs } from './classic_control/acrobot.js';
import { cartPoleSpecs } from './classic_control/cartpole.js';
import { continuousMountainCarSpecs } from './classic_control/continuous_mountain_car.js';
import { mountainCarSpecs } from './classic_control/mountain_car.js';
import { pendulumSpecs } from './classic_control/pendulum.js';
import { blackjackSpecs } from './toy_text/blackjack.js';
import { cliffWalkingSpecs } from './toy_text/cliff_walking.js';
import { frozenLakeSpecs } from './toy_text/frozen_lake.js';
import { taxiSpecs } from './toy_text/taxi.js';
import type { Env, EnvSpec } from './env.js';

/** Every environment gym-tcp serves, by the id Gymnasium 1.3 registers. */
const catalogue = new Map<string, EnvSpec>();
const specs = [
  ...cartPoleSpecs,
  ...mountainCarSpecs,
  ...continuousMountainCarSpecs,
  ...pendulumSpecs,
  ...acrobotSpecs,
  ...frozenLakeSpecs,   ...cliffWalkingSpecs,
  ...taxiSpecs,
  ...blackjackSpecs,
] as EnvSpec[];
for (const spec of specs) catalogue.set(spec.id, spec);

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
};

export function listEnvSpecs(): EnvSpec[] {
  return [...catalogue.values()];
}

export function findEnvSpec(id: string): EnvSpec | undefined {
  return catalogue.get(id) ?? catalogue.get(ENV_ALIASES[id] ?? '');
}

/** `gym.make(id, **kwargs)` without the wrappers; throws UNKNOWN_ENV or BAD_KWARGS. */
export function makeEnv(id: string, kwargs: Record<string, unknown> = {}): { spec: EnvSpec; env: Env } {
  const spec = findEnvSpec(id);
  if (!spec) {
    throw new ProtocolError('UNKNOWN_ENV', `no environment named '${id}'; ${suggest(id)}`);
  }
  const accepted = Object.keys(spec.kwargs.shape);
  const acceptedList = accepted.length ? accepted.join(', ') : 'none';
  // Checked by hand, not left to zod: JSON.parse makes "__proto__" an own key, which zod passes over.
  const unknown = Object.keys(kwargs).filter((key) => !accepted.includes(key));
  if (unknown.length > 0) {
    const names = unknown.map((k) => `'${k}'`).join(', ');
    throw new ProtocolError('BAD_KWARGS', `${spec.id}: unknown argument${unknown.length > 1 ? 's' : ''} ${names} (accepted: ${acceptedList})`);
  }
  const parsed = spec.kwargs.safeParse(kwargs);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `'${issue.path.join('.')}': ${issue.message}`);
    throw new ProtocolError('BAD_KWARGS', `${spec.id}: ${problems.join('; ')} (accepted: ${acceptedList})`);
  }
  try {
    return { spec, env: spec.make(parsed.data) };
  } catch (err) {
    // Arguments that pass their schema can still be impossible together (e.g. a random map no draw solves).
    throw new ProtocolError('BAD_KWARGS', `${spec.id}: ${(err as Error).message}`);
  }
}

function suggest(id: string): string {
  const ids = [...catalogue.keys()];
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

