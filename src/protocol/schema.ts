/**
 * Every request a client may send (docs/protocol.md §3), as zod schemas. A request is a JSON object with
 * exactly one command key; each schema turns the command's body into a tagged `Request`.
 */
import { z } from 'zod';

/** Seeds are strings of digits on the wire (`"42"`); plain JSON integers are accepted too. */
const seed = z
  .union([
    z.string().regex(/^[0-9]{1,1000}$/, 'must be a string of digits, e.g. "42"'),
    z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER),
  ])
  .transform((s) => BigInt(s));

const compressionLevel = z
  .union([z.string().regex(/^[0-9]$/, 'must be "0" to "9"'), z.number().int().min(0).max(9)])
  .transform(Number);

/** `render` is 0 or 1 on the wire; booleans are accepted too. */
const renderFlag = z.union([z.literal(0), z.literal(1), z.boolean()]).transform(Boolean);

/** The `env` command's bodies, told apart by their one key. */
export const envCommandSchemas = {
  name: z
    .strictObject({
      name: z.string().min(1).max(200),
      /** gym-tcp's extension: `gym.make` keyword arguments, e.g. {"is_slippery": false}. */
      // Passed through as parsed (z.record would drop a "__proto__" key); makeEnv checks each argument.
      kwargs: z
        .custom<Record<string, unknown>>((v) => typeof v === 'object' && v !== null && !Array.isArray(v), 'must be an object of keyword arguments')
        .optional(),
    })
    .transform((b) => ({ kind: 'make' as const, name: b.name, kwargs: b.kwargs ?? {} })),
  action: z
    .strictObject({
      action: z.enum(['reset', 'observationspace', 'actionspace', 'close', 'render']),
      /** With `render` only (gym-tcp's extension): Gymnasium's render mode, `rgb_array` by default. */
      mode: z.enum(['rgb_array', 'ansi']).optional(),
    })
    .refine((b) => b.mode === undefined || b.action === 'render', { message: 'only "render" takes a mode', path: ['mode'] })
    .transform((b) => (b.action === 'render' ? { kind: 'render' as const, mode: b.mode ?? 'rgb_array' } : { kind: b.action })),
  actionspace: z.strictObject({ actionspace: z.literal('sample') }).transform(() => ({ kind: 'sample' as const })),
  seed: z.strictObject({ seed }).transform((b) => ({ kind: 'seed' as const, seed: b.seed })),
  /**
   * gym-tcp's extension (used by the REST front's `action_space/contains/<x>`): is `value` a member
   * of the action or observation space? Answers `{"member": true|false}` (Gymnasium's `space.contains`).
   */
  contains: z
    .strictObject({
      contains: z.strictObject({
        space: z.enum(['action', 'observation']),
        value: z.unknown().refine((v) => v !== undefined, 'is required'),
      }),
    })
    .transform((b) => ({ kind: 'contains' as const, space: b.contains.space, value: b.contains.value })),
};

export const commandSchemas = {
  step: z
    .strictObject({
      action: z.unknown().refine((a) => a !== undefined, 'is required'),
      render: renderFlag.optional(),
    })
    .transform((b) => ({ kind: 'step' as const, action: b.action, render: b.render ?? false })),
  server: z
    .strictObject({ compression: compressionLevel })
    .transform((b) => ({ kind: 'compression' as const, level: b.compression })),
  record_episode_stats: z
    .strictObject({ action: z.enum(['start', 'stop']) })
    .transform((b) => ({ kind: 'record_episode_stats' as const, enabled: b.action === 'start' })),
  url: z.strictObject({ action: z.literal('url') }).transform(() => ({ kind: 'url' as const })),
};

/** The key of the command whose bodies are `envCommandSchemas`; every other command is a key of `commandSchemas`. */
export const ENV_COMMAND = 'env';

export type Request =
  | z.output<(typeof envCommandSchemas)[keyof typeof envCommandSchemas]>
  | z.output<(typeof commandSchemas)[keyof typeof commandSchemas]>;
