/**
 * The TypeScript client's vector API (docs/vector.md): a vector env on a GymClient's connection,
 * whose batches come back as typed arrays whatever the encoding. `GymClient.makeVector` makes one.
 */
import type { GymClient, SpaceInfo } from './client.js';

export type AutoresetMode = 'next_step' | 'same_step' | 'disabled';
export type Encoding = 'json' | 'base64';
export type BatchData = Float32Array | Float64Array | Int32Array | Uint8Array;

/** A batch: one value per sub-env, flat in C order; `shape[0]` is the number of sub-envs. int64 arrives as Float64Array (exact to 2^53). */
export interface Batch<D extends BatchData = BatchData> {
  shape: number[];
  data: D;
}

export interface VectorStepResult {
  observations: Batch;
  rewards: Float64Array;
  terminations: Uint8Array;
  truncations: Uint8Array;
  /** Gymnasium's vector infos: per key a list over the sub-envs and a `_key` mask. */
  infos: Record<string, unknown>;
  /** `recv` only: which sub-env each entry is, in finishing order. */
  envIds?: number[];
}

export interface VectorMakeOptions {
  kwargs?: Record<string, unknown>;
  autoreset?: AutoresetMode;
  /** `base64` (the default here) sends and receives arrays as bytes; `json` as lists. */
  encoding?: Encoding;
}

/** Actions: a typed array (sent as base64 bytes: Float32Array for Box, Int32Array or Uint8Array for Discrete) or a list with one action per sub-env. */
export type Actions = BatchData | BigInt64Array | unknown[];

interface WireBatch {
  dtype: string;
  shape: number[];
  data: string;
}

const ARRAYS: Record<string, (bytes: Buffer, count: number) => BatchData> = {
  float32: (b, n) => new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + n * 4)),
  float64: (b, n) => new Float64Array(b.buffer.slice(b.byteOffset, b.byteOffset + n * 8)),
  int64: (b, n) => Float64Array.from(new BigInt64Array(b.buffer.slice(b.byteOffset, b.byteOffset + n * 8)), Number),
  int32: (b, n) => new Int32Array(b.buffer.slice(b.byteOffset, b.byteOffset + n * 4)),
  uint8: (b, n) => new Uint8Array(b.buffer.slice(b.byteOffset, b.byteOffset + n)),
  bool: (b, n) => new Uint8Array(b.buffer.slice(b.byteOffset, b.byteOffset + n)),
};

/** The typed array a space's values take when they came as JSON lists. */
function arrayFor(dtype: string | undefined, values: number[]): BatchData {
  if (dtype === 'float32') return Float32Array.from(values);
  if (dtype === 'uint8' || dtype === 'int8' || dtype === 'bool') return Uint8Array.from(values);
  return Float64Array.from(values);
}

function decode(batch: unknown, dtype: string | undefined, singleShape: number[]): Batch {
  if (Array.isArray(batch)) {
    const flat = (batch.flat(Infinity) as unknown[]).map((v) => (typeof v === 'boolean' ? Number(v) : (v as number)));
    return { shape: [batch.length, ...singleShape], data: arrayFor(dtype, flat) };
  }
  const wire = batch as WireBatch;
  const count = wire.shape.reduce((a, b) => a * b, 1);
  const make = ARRAYS[wire.dtype];
  if (!make) throw new Error(`unknown dtype ${wire.dtype} in a batch`);
  return { shape: wire.shape, data: make(Buffer.from(wire.data, 'base64'), count) };
}

function encodeActions(actions: Actions): unknown {
  if (Array.isArray(actions)) return actions;
  const dtype =
    actions instanceof Float32Array ? 'float32'
    : actions instanceof Float64Array ? 'float64'
    : actions instanceof BigInt64Array ? 'int64'
    : actions instanceof Int32Array ? 'int32'
    : 'uint8';
  return { dtype, data: Buffer.from(actions.buffer, actions.byteOffset, actions.byteLength).toString('base64') };
}

const spaceShape = (space: SpaceInfo): number[] => (space.name === 'Discrete' ? [] : (space.shape ?? []));

export class VectorEnvClient {
  constructor(
    readonly client: GymClient,
    readonly instance: string,
    readonly numEnvs: number,
    readonly autoreset: AutoresetMode,
    readonly encoding: Encoding,
    readonly singleObservationSpace: SpaceInfo,
    readonly singleActionSpace: SpaceInfo,
  ) {}

  /** `envs.reset(seed=S, options={"reset_mask": mask, **options})`: sub-env i gets seed S+i, and every one reset the env's own `options`. */
  async reset(
    options: { seed?: number | bigint; mask?: boolean[]; options?: Record<string, unknown> } = {},
  ): Promise<{ observations: Batch; infos: Record<string, unknown> }> {
    const body: Record<string, unknown> = {};
    if (options.seed !== undefined) body.seed = String(options.seed);
    if (options.mask !== undefined) body.mask = options.mask;
    if (options.options !== undefined) body.options = options.options;
    const reply = await this.client.requestLine<{ observations: unknown; infos: Record<string, unknown> }>(JSON.stringify({ vector: { reset: body } }));
    return { observations: this.#observations(reply.observations), infos: reply.infos };
  }

  /** Steps every sub-env. */
  async step(actions: Actions): Promise<VectorStepResult> {
    return this.#stepResult(await this.client.requestLine(this.#actionsLine('step', actions)));
  }

  /** EnvPool's `send`: steps the sub-envs `envIds` (no reply; a failure rejects the next request). */
  send(actions: Actions, envIds: readonly number[]): void {
    this.client.sendLine(this.#actionsLine('send', actions, envIds));
  }

  /** EnvPool's `recv`: the first `batchSize` finished sub-envs (default: all pending), with their `envIds`. */
  async recv(batchSize?: number): Promise<VectorStepResult> {
    const body = batchSize === undefined ? {} : { batch_size: batchSize };
    return this.#stepResult(await this.client.requestLine(JSON.stringify({ vector: { recv: body } })));
  }

  /** `envs.action_space.seed(seed)`. */
  seed(seed: number | bigint): void {
    this.client.sendLine(JSON.stringify({ vector: { seed: String(seed) } }));
  }

  /** `envs.action_space.sample()`. */
  async sample(): Promise<Batch> {
    const reply = await this.client.requestLine<{ actions: unknown }>('{"vector":{"sample":{}}}');
    const space = this.singleActionSpace;
    return decode(reply.actions, space.name === 'Box' ? space.dtype : 'int64', spaceShape(space));
  }

  #actionsLine(command: 'step' | 'send', actions: Actions, envIds?: readonly number[]): string {
    let encoded = encodeActions(actions);
    if (!Array.isArray(encoded)) {
      const count = envIds?.length ?? this.numEnvs;
      encoded = { ...(encoded as object), shape: [count, ...spaceShape(this.singleActionSpace)] };
    }
    return JSON.stringify({ vector: { [command]: envIds ? { actions: encoded, env_ids: envIds } : { actions: encoded } } });
  }

  #observations(batch: unknown): Batch {
    const space = this.singleObservationSpace;
    return decode(batch, space.name === 'Box' ? space.dtype : 'int64', spaceShape(space));
  }

  #stepResult(reply: Record<string, unknown>): VectorStepResult {
    const result: VectorStepResult = {
      observations: this.#observations(reply.observations),
      rewards: decode(reply.rewards, 'float64', []).data as Float64Array,
      terminations: decode(reply.terminations, 'bool', []).data as Uint8Array,
      truncations: decode(reply.truncations, 'bool', []).data as Uint8Array,
      infos: reply.infos as Record<string, unknown>,
    };
    if (reply.env_ids) result.envIds = reply.env_ids as number[];
    return result;
  }
}
