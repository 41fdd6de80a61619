/**
 * The protocol's vocabulary from a client's side: every request line a client sends, and the shapes
 * of the replies it reads. The TS client, the REST front and the test, fuzz and soak helpers build
 * their lines here (the server's side, parsing them, is schema.ts and request.ts).
 *
 * Two spellings, because both are on the wire today and neither may change by a byte:
 * - `CPP`: the upstream C++ client's lines (its messages.hpp), byte for byte, spaces included. The
 *   tests, the fuzzer and the benchmarks speak as that client does, since it is the one gym-tcp must
 *   stay compatible with.
 * - `request` + `requestLine`: request objects, typed from the zod schemas that parse them, written as
 *   compact JSON. The TS client and the REST front send these (they carry values the C++ client never
 *   sends: keyword arguments, any JSON action, `contains`).
 */
import { z } from 'zod';
import type { commandSchemas, envCommandSchemas } from './schema.js';
import type { RenderMode } from '../envs/env.js';

/** Exact messages of the C++ client (its messages.hpp), byte for byte. */
export const CPP = {
  make: (name: string) => `{"env":{"name": "${name}"}}`,
  observationSpace: '{"env":{"action": "observationspace"}}',
  actionSpace: '{"env":{"action": "actionspace"}}',
  sample: '{"env":{"actionspace": "sample"}}',
  reset: '{"env":{"action": "reset"}}',
  /** `action` is the JSON text of the action, as the C++ client formats it (e.g. `1` or `[0.5]`). */
  step: (action: string, render = 0) => `{"step":{"action":${action}, "render":${render}}}`,
  seed: (seed: number | string) => `{"env":{"seed": "${seed}"}}`,
  compression: (level: number) => `{"server":{"compression": "${level}"}}`,
  recordStats: '{"record_episode_stats":{"action": "start"}}',
  close: '{"env":{"action": "close"}}',
  url: '{"url":{"action": "url"}}',
  /** mlpack's client fork (from before 2022): never answered (docs/protocol.md §4). */
  monitorStart: (directory = './dummy/', force = 1, resume = 0) =>
    `{"monitor":{"action": "start", "force":${force}, "resume": ${resume}, "directory": "${directory}"}}`,
  monitorClose: '{"monitor":{"action": "close"}}',
};

type EnvCommands = typeof envCommandSchemas;
type Commands = typeof commandSchemas;

/** A request object as a client writes it: the input side of the schemas that parse it, so the two cannot drift. */
export type RequestMessage =
  | { env: { [K in keyof EnvCommands]: z.input<EnvCommands[K]> }[keyof EnvCommands] }
  | { [K in keyof Commands]: { [P in K]: z.input<Commands[K]> } }[keyof Commands]
  /** The first line to a server started with --auth-token (read by the connection, before any command). */
  | { auth: string };

/** Every request, as an object for `requestLine`. */
export const request = {
  /** `kwargs`: gym-tcp's extension, `gym.make` keyword arguments (left out when not given). */
  make: (name: string, kwargs?: Record<string, unknown>) => ({ env: kwargs ? { name, kwargs } : { name } }) satisfies RequestMessage,
  observationSpace: () => ({ env: { action: 'observationspace' } }) satisfies RequestMessage,
  actionSpace: () => ({ env: { action: 'actionspace' } }) satisfies RequestMessage,
  sample: () => ({ env: { actionspace: 'sample' } }) satisfies RequestMessage,
  /** `options`: gym-tcp's extension, Gymnasium's `reset(options=…)` (left out when not given). */
  reset: (options?: Record<string, unknown>) => ({ env: options ? { action: 'reset', options } : { action: 'reset' } }) satisfies RequestMessage,
  step: (action: unknown, render = false) => ({ step: { action, render: render ? 1 : 0 } }) satisfies RequestMessage,
  /** gym-tcp's extension: is `value` in the env's action or observation space? */
  contains: (space: 'action' | 'observation', value: unknown) => ({ env: { contains: { space, value } } }) satisfies RequestMessage,
  /** Seeds travel as strings of digits, so any size survives JSON. */
  seed: (seed: number | bigint | string) => ({ env: { seed: String(seed) } }) satisfies RequestMessage,
  compression: (level: number) => ({ server: { compression: String(level) } }) satisfies RequestMessage,
  recordEpisodeStats: (enabled = true) => ({ record_episode_stats: { action: enabled ? 'start' : 'stop' } }) satisfies RequestMessage,
  /** gym-tcp's extension: the env's current frame (`rgb_array`, the default; CarRacing's `state_pixels`) or text (`ansi`). */
  render: (mode?: RenderMode) => ({ env: mode ? { action: 'render', mode } : { action: 'render' } }) satisfies RequestMessage,
  close: () => ({ env: { action: 'close' } }) satisfies RequestMessage,
  url: () => ({ url: { action: 'url' } }) satisfies RequestMessage,
  /**
   * The monitor's schedule of recorded episodes (the REST monitor sends it; `video_callable` is
   * gym-tcp's extension: false no videos, n every n-th episode, left out: Gym's capped cubic schedule).
   */
  monitorStart: (directory: string, videoCallable?: number | false) =>
    ({ monitor: videoCallable === undefined ? { action: 'start', directory } : { action: 'start', directory, video_callable: videoCallable } }) satisfies RequestMessage,
  monitorClose: () => ({ monitor: { action: 'close' } }) satisfies RequestMessage,
  auth: (token: string) => ({ auth: token }) satisfies RequestMessage,
};

/** A request object's line (without its terminator). */
export function requestLine(message: RequestMessage): string {
  return JSON.stringify(message);
}

// ---------------------------------------------------------------------------------------------
// Replies. Objects are loose: servers may add keys (gym-tcp adds some to gym-tcp-api's), and a
// client must not break on them.

/** `z.unknown()` makes its key optional; a reply's value must be there. */
const present = z.unknown().refine((v) => v !== undefined, 'is required');

/** A space as `observationspace` / `actionspace` describe it (more keys for some spaces). */
export const spaceInfoSchema = z.looseObject({
  name: z.string(),
  n: z.number().optional(),
  start: z.number().optional(),
  shape: z.array(z.number()).optional(),
  low: z.array(z.number()).optional(),
  high: z.array(z.number()).optional(),
  dtype: z.string().optional(),
});
export type SpaceInfo = z.infer<typeof spaceInfoSchema>;

/** An `info` dict. A loose object rather than z.record, which copies every key. */
const info = z.looseObject({});

/** The reply of each request that gets one. */
export const replySchemas = {
  make: z.looseObject({ instance: z.string() }),
  space: z.looseObject({ info: spaceInfoSchema }),
  sample: z.looseObject({ sample: present }),
  /** `info` is gym-tcp's (Gymnasium's reset info); gym-tcp-api servers send the observation only. */
  reset: z.looseObject({ observation: present, info: info.optional() }),
  /**
   * `terminated` and `truncated` are gym-tcp's (Gymnasium's); gym-tcp-api servers send `done` only.
   * `observation` is not checked for presence: a refine costs 0.5 µs a step, twice the rest of the
   * schema (measured on a CartPole reply), and `reward` and `done` already tell a step reply.
   */
  step: z.looseObject({
    observation: z.unknown(),
    reward: z.number(),
    done: z.boolean(),
    terminated: z.boolean().optional(),
    truncated: z.boolean().optional(),
    info,
  }),
  contains: z.looseObject({ member: z.boolean() }),
  url: z.looseObject({ url: z.string() }),
  /** `render` in `rgb_array` mode: H×W×3 bytes in base64. */
  frame: z.looseObject({ frame: z.looseObject({ dtype: z.literal('uint8'), shape: z.tuple([z.number(), z.number(), z.literal(3)]), data: z.string() }) }),
  /** `render` in `ansi` mode. */
  text: z.looseObject({ text: z.string() }),
  /** Any request's reply when it fails (the silent ones' too). */
  error: z.looseObject({ error: z.looseObject({ code: z.string(), message: z.string() }) }),
};

/** A loose object's declared keys, without its index signature (through which Omit would lose them). */
type Declared<T> = { [K in keyof T as string extends K ? never : K]: T[K] };
/** A reply whose observation has the caller's type. */
type WithObservation<T, O> = Omit<Declared<T>, 'observation'> & { observation: O; [key: string]: unknown };

export type ResetReply<O = unknown> = WithObservation<z.infer<typeof replySchemas.reset>, O>;
export type StepReply<O = unknown> = WithObservation<z.infer<typeof replySchemas.step>, O>;
export type ErrorReply = z.infer<typeof replySchemas.error>;
