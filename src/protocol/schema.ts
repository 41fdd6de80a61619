/**
 * Every request a client may send (docs/protocol.md §3), as zod schemas. A request is a JSON object with
 * exactly one command key; each schema turns the command's body into a tagged `Request`.
 */
import { z } from 'zod';
import { RENDER_MODES } from '../envs/env.js';

/**
 * Seeds are strings of digits on the wire (`"42"`); plain JSON integers are accepted too. The one seed
 * rule of both fronts: the REST front reads its `seed` parameters with it.
 */
export const seedSchema = z.union([
  z.string().regex(/^[0-9]{1,1000}$/, 'must be a string of digits, e.g. "42"'),
  z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER),
]);
const seed = seedSchema.transform((s) => BigInt(s));

const compressionLevel = z
  .union([z.string().regex(/^[0-9]$/, 'must be "0" to "9"'), z.number().int().min(0).max(9)])
  .transform(Number);

/**
 * `render` is 0 or 1 on the wire; booleans are accepted too. The one render-flag rule of both fronts:
 * the REST front reads a step's `render` with it (lenient only where this refuses, as gym-http-api was).
 */
export const renderFlagSchema = z.union([z.literal(0), z.literal(1), z.boolean()]).transform(Boolean);

/** Gym's 0/1 (and true/false) flags. */
const intFlag = z.union([z.literal(0), z.literal(1), z.boolean()]).transform(Boolean);

/** A `monitor` body as mlpack's client fork sends it: `start` with a directory and Gym's flags, or `close`. */
const monitorBody = z.union([
  z
    .object({
      action: z.literal('start'),
      directory: z.string().min(1).max(4096),
      force: intFlag.default(false),
      resume: intFlag.default(false),
      /** gym-tcp's extension (the REST monitor sends it): false/0 no videos, n every n-th episode; absent: Gym's capped cubic schedule. */
      video_callable: z.union([z.literal(false), z.int().min(0).max(1_000_000)]).optional(),
    })
    .transform((b) => ({
      action: 'start' as const,
      directory: b.directory,
      force: b.force,
      resume: b.resume,
      videoCallable: b.video_callable === undefined ? null : b.video_callable === false ? 0 : b.video_callable,
    })),
  z
    .object({ action: z.literal('close') })
    .transform(() => ({ action: 'close' as const, directory: null, force: false, resume: false, videoCallable: null })),
]);

/** An object of named values (`kwargs`, reset `options`), passed through as parsed: the env's schema checks each one. */
const namedValues = (what: string) =>
  // Not z.record, which would drop a "__proto__" key.
  z.custom<Record<string, unknown>>((v) => typeof v === 'object' && v !== null && !Array.isArray(v), `must be an object of ${what}`);

/** The `env` command's bodies, told apart by their one key. */
export const envCommandSchemas = {
  name: z
    .strictObject({
      name: z.string().min(1).max(200),
      /** gym-tcp's extension: `gym.make` keyword arguments, e.g. {"is_slippery": false}; makeEnv checks each argument. */
      kwargs: namedValues('keyword arguments').optional(),
    })
    .transform((b) => ({ kind: 'make' as const, name: b.name, kwargs: b.kwargs ?? {} })),
  action: z
    .strictObject({
      action: z.enum(['reset', 'observationspace', 'actionspace', 'close', 'render']),
      /** With `render` only (gym-tcp's extension): Gymnasium's render mode, `rgb_array` by default. */
      mode: z.enum(RENDER_MODES).optional(),
      /** With `reset` only (gym-tcp's extension): Gymnasium's `reset(options=…)`, e.g. {"randomize": false}; the env's spec checks each one. */
      options: namedValues('reset options').optional(),
    })
    .refine((b) => b.mode === undefined || b.action === 'render', { message: 'only "render" takes a mode', path: ['mode'] })
    .refine((b) => b.options === undefined || b.action === 'reset', { message: 'only "reset" takes options', path: ['options'] })
    .transform((b) =>
      b.action === 'render'
        ? { kind: 'render' as const, mode: b.mode ?? 'rgb_array' }
        : b.action === 'reset'
          ? { kind: 'reset' as const, options: b.options ?? null }
          : { kind: b.action },
    ),
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

/** Where a batch's value is checked (src/vector/batch.ts): here only that one is there. */
const batch = z.unknown().refine((a) => a !== undefined, 'is required');
const envIndex = z.number().int().nonnegative();

/**
 * The `vector` command's bodies (docs/vector.md), one key each. The hard cap of `num_envs` is only a
 * sanity bound; the server's --max-num-envs and --max-envs decide.
 */
const vectorBodies = {
  make: z
    .strictObject({
      name: z.string().min(1).max(200),
      num_envs: z.number().int().min(1).max(100_000_000),
      kwargs: z
        .custom<Record<string, unknown>>((v) => typeof v === 'object' && v !== null && !Array.isArray(v), 'must be an object of keyword arguments')
        .optional(),
      autoreset: z.enum(['next_step', 'same_step', 'disabled']).optional(),
      encoding: z.enum(['json', 'base64']).optional(),
    })
    .transform((b) => ({
      kind: 'vector_make' as const,
      name: b.name,
      numEnvs: b.num_envs,
      kwargs: b.kwargs ?? {},
      autoreset: b.autoreset ?? 'next_step',
      encoding: b.encoding ?? 'json',
    })),
  reset: z
    .strictObject({ seed: seed.optional(), mask: z.array(z.boolean()).optional(), options: namedValues('reset options').optional() })
    .transform((b) => ({ kind: 'vector_reset' as const, seed: b.seed ?? null, mask: b.mask ?? null, options: b.options ?? null })),
  step: z.strictObject({ actions: batch }).transform((b) => ({ kind: 'vector_step' as const, actions: b.actions as unknown })),
  seed: seed.transform((s) => ({ kind: 'vector_seed' as const, seed: s })),
  sample: z.strictObject({}).transform(() => ({ kind: 'vector_sample' as const })),
  send: z
    .strictObject({ actions: batch, env_ids: z.array(envIndex) })
    .transform((b) => ({ kind: 'vector_send' as const, actions: b.actions as unknown, envIds: b.env_ids })),
  recv: z
    .strictObject({ batch_size: z.number().int().min(1).optional() })
    .transform((b) => ({ kind: 'vector_recv' as const, batchSize: b.batch_size ?? null })),
};
const VECTOR_BODY_KEYS = Object.keys(vectorBodies) as (keyof typeof vectorBodies)[];

export const commandSchemas = {
  step: z
    .strictObject({
      action: z.unknown().refine((a) => a !== undefined, 'is required'),
      render: renderFlagSchema.optional(),
    })
    .transform((b) => ({ kind: 'step' as const, action: b.action, render: b.render ?? false })),
  server: z
    .strictObject({ compression: compressionLevel })
    .transform((b) => ({ kind: 'compression' as const, level: b.compression })),
  record_episode_stats: z
    .strictObject({ action: z.enum(['start', 'stop']) })
    .transform((b) => ({ kind: 'record_episode_stats' as const, enabled: b.action === 'start' })),
  url: z.strictObject({ action: z.literal('url') }).transform(() => ({ kind: 'url' as const })),
  /**
   * gym-tcp's vector envs (docs/vector.md): `{"vector": {"<one of make, reset, …>": body}}`. Told apart
   * by the one key, then that body's schema, so an error names the field at fault (a union would
   * only say that no alternative fits).
   */
  vector: z.unknown().transform((body, ctx) => {
    const keys = typeof body === 'object' && body !== null && !Array.isArray(body) ? Object.keys(body) : [];
    const key = keys[0] as keyof typeof vectorBodies;
    if (keys.length !== 1 || !VECTOR_BODY_KEYS.includes(key)) {
      ctx.addIssue({ code: 'custom', message: `takes an object with exactly one of ${VECTOR_BODY_KEYS.join(', ')}` });
      return z.NEVER;
    }
    const parsed = vectorBodies[key].safeParse((body as Record<string, unknown>)[key]);
    if (!parsed.success) {
      for (const issue of parsed.error.issues) ctx.addIssue({ ...issue, path: [key, ...issue.path] } as Parameters<typeof ctx.addIssue>[0]);
      return z.NEVER;
    }
    return parsed.data as z.output<(typeof vectorBodies)[keyof typeof vectorBodies]>;
  }),
  /**
   * Older clients' Gym monitor (docs/protocol.md §4): never answered, not even when wrong, because
   * those clients read no reply to it. So the schema never fails: a body it cannot use becomes a
   * monitor request that carries its problem, which the front logs.
   */
  monitor: z.unknown().transform((body) => {
    const parsed = monitorBody.safeParse(body);
    if (parsed.success) return { kind: 'monitor' as const, ...parsed.data, problem: null };
    const problem = parsed.error.issues.map((issue) => `${['monitor', ...issue.path.map(String)].join('.')}: ${issue.message}`).join('; ');
    return { kind: 'monitor' as const, action: 'invalid' as const, directory: null, force: false, resume: false, videoCallable: null, problem };
  }),
};

/** The key of the command whose bodies are `envCommandSchemas`; every other command is a key of `commandSchemas`. */
export const ENV_COMMAND = 'env';

export type Request =
  | z.output<(typeof envCommandSchemas)[keyof typeof envCommandSchemas]>
  | z.output<(typeof commandSchemas)[keyof typeof commandSchemas]>;

/**
 * Every request's kind, in a fixed order: a kind's index travels in the worker channel's records
 * (src/pool/channel.ts), and the stats count requests by kind. Checked against the schemas below, so
 * a new command cannot be left out.
 */
export const REQUEST_KINDS = [
  'make',
  'reset',
  'step',
  'sample',
  'observationspace',
  'actionspace',
  'contains',
  'seed',
  'close',
  'compression',
  'record_episode_stats',
  'url',
  'monitor',
  'render',
  'vector_make',
  'vector_reset',
  'vector_step',
  'vector_seed',
  'vector_sample',
  'vector_send',
  'vector_recv',
] as const satisfies readonly Request['kind'][];
export type RequestKind = (typeof REQUEST_KINDS)[number];
const everyKindListed: [Exclude<Request['kind'], RequestKind>] extends [never] ? true : never = true;
void everyKindListed;
