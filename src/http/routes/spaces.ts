/**
 * gym-http-api's space routes: the action and observation spaces described, sampled and tested for
 * membership, and gym-server's info (both spaces at once).
 */
import { request, requestLine } from '../../protocol/messages.js';
import { LINES, ask, askValue } from '../ask.js';
import type { EnvTable } from '../env-table.js';
import { badRequest } from '../errors.js';
import { json, type RouteSpec } from '../router.js';

export function spaceRoutes(envs: EnvTable) {
  return {
    actionSpace: {
      pattern: '/v1/envs/<instance_id>/action_space/',
      method: 'GET',
      doc: "Get information (name and dimensions/bounds) of the env's action_space. Returns: info, a SPACE.",
      handler: async ({ instance_id }) => json(await ask(envs.lookup(instance_id), LINES.actionSpace)),
    },
    sample: {
      pattern: '/v1/envs/<instance_id>/action_space/sample',
      method: 'GET',
      doc: "Get a sample from the env's action_space. Returns: action.",
      handler: async ({ instance_id }) => {
        return json(`{"action": ${await askValue(envs.lookup(instance_id), LINES.sample)}}`);
      },
    },
    actionContains: {
      pattern: '/v1/envs/<instance_id>/action_space/contains/<x>',
      method: 'GET',
      doc:
        "Assess that x is a member of the env's action_space. x is an integer (gym-tcp also takes a JSON value, " +
        'e.g. [0.5], for other spaces). Returns: member.',
      handler: async ({ instance_id, x }) => {
        const env = envs.lookup(instance_id);
        const value = containsValue(x);
        return json(await ask(env, requestLine(request.contains('action', value))));
      },
    },
    observationSpace: {
      pattern: '/v1/envs/<instance_id>/observation_space/',
      method: 'GET',
      doc: "Get information (name and dimensions/bounds) of the env's observation_space. Returns: info, a SPACE.",
      handler: async ({ instance_id }) => json(await ask(envs.lookup(instance_id), LINES.observationSpace)),
    },
    observationContains: {
      pattern: '/v1/envs/<instance_id>/observation_space/contains',
      method: 'POST',
      doc:
        'Assess that the given space properties (a JSON object such as {"name": "Box", "shape": [4]}) match the ' +
        "env's observation_space. Returns: member.",
      handler: async ({ instance_id }, body) => {
        const env = envs.lookup(instance_id);
        const wanted = body.object();
        const space = JSON.parse(await askValue(env, LINES.observationSpace)) as Record<string, unknown>;
        return json(`{"member": ${spaceMatches(space, wanted)}}`);
      },
    },
    info: {
      pattern: '/v1/envs/<instance_id>/info',
      method: 'GET',
      doc: "Expose useful information (gym-server's route). Returns: action_space and observation_space, each a SPACE.",
      handler: async ({ instance_id }) => {
        const env = envs.lookup(instance_id);
        const [action, observation] = await Promise.all([askValue(env, LINES.actionSpace), askValue(env, LINES.observationSpace)]);
        return json(`{"action_space": ${action}, "observation_space": ${observation}}`);
      },
    },
  } satisfies Record<string, RouteSpec>;
}

/**
 * gym-http-api parsed `x` with Python's int(): an integer, optionally signed, with spaces around. gym-tcp
 * also takes any JSON value (`[0.5]` for a Box), so other spaces can be asked too.
 */
function containsValue(x: string): unknown {
  const text = x.trim();
  if (/^[+-]?[0-9]+$/.test(text)) return Number(text);
  try {
    return JSON.parse(text);
  } catch {
    throw badRequest(`invalid literal for int() with base 10: '${x}' (action_space/contains/<x> takes an integer, or a JSON value such as [0.5])`);
  }
}

/**
 * gym-http-api compared each given property with the space's (`json.dumps(info[key]) != json.dumps(value)`).
 * Here values compare as JSON values: numbers by value (4 and 4.0 are equal; float32 bounds also match
 * their float32 rounding, so -4.8 matches -4.800000190734863), lists element by element. A property the
 * space does not have does not match (gym-http-api failed with a 500 there).
 */
function spaceMatches(space: Record<string, unknown>, wanted: Record<string, unknown>): boolean {
  const float32 = space.dtype === 'float32';
  const same = (a: unknown, b: unknown): boolean => {
    if (typeof a === 'number' && typeof b === 'number') return a === b || (float32 && Math.fround(a) === Math.fround(b));
    if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((x, i) => same(x, b[i]));
    if (a && b && typeof a === 'object' && typeof b === 'object' && !Array.isArray(a) && !Array.isArray(b)) {
      const ka = Object.keys(a);
      const kb = Object.keys(b);
      return ka.length === kb.length && ka.every((k) => Object.hasOwn(b, k) && same((a as never)[k], (b as never)[k]));
    }
    return a === b;
  };
  return Object.keys(wanted).every((key) => Object.hasOwn(space, key) && same(space[key], wanted[key]));
}
