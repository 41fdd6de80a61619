/**
 * A vector env: N sub-envs of one id stepped by one request, with the semantics of Gymnasium 1.3's
 * `SyncVectorEnv` (the three autoreset modes, the vector info layout, RecordEpisodeStatistics) and
 * EnvPool's `send`/`recv` (docs/vector.md). Each sub-env is an EnvRunner, so time limits, seeding
 * and episode statistics are the single env's. A request that fails is checked in full before any
 * sub-env moves: it changes nothing.
 *
 * Longer than 400 lines on purpose: the checks, the runs, the autoreset and send/recv bookkeeping and
 * the reply's columns all act on the same per-sub-env state; a split would pass that state around.
 */
import type { Info } from '../envs/env.js';
import { ResetNeededError } from '../envs/errors.js';
import { makeEnv } from '../envs/registry.js';
import { EnvRunner, type EpisodeStats, type RunnerSnapshot } from '../envs/runner.js';
import { PyFloat, toPyJson } from '../json/pyjson.js';
import { ProtocolError } from '../protocol/errors.js';
import type { NpRandomSnapshot } from '../rng/index.js';
import { ActionError, Discrete, type Space } from '../spaces/index.js';
import { batchSpace, zeroValue } from './spaces.js';
import { decodeActions, encodeFlags, encodeFloats, encodeValues, type Encoding } from './batch.js';
import { addInfo, fromPlain, infosJson, JsonText, toPlain, type VectorInfos } from './infos.js';
import { encodePart, type ShardGeometry } from './shard-parts.js';

export const AUTORESET_MODES = ['next_step', 'same_step', 'disabled'] as const;
export type AutoresetMode = (typeof AUTORESET_MODES)[number];

/** What one sub-env's step (or next_step autoreset) gave, until it is written into a reply. */
interface Outcome {
  id: number;
  obs: unknown;
  reward: number;
  terminated: boolean;
  truncated: boolean;
  info: Info;
  /** same_step mode, an episode ended: the last observation and info, before the reset. */
  final: { obs: unknown; info: Info } | null;
  episode: EpisodeStats | null;
}

/**
 * The sub-env steps of one reply, by column: a sync step of thousands of sub-envs writes here rather
 * than making an object per sub-env (a profile of 4,096 CartPoles had a quarter of its time in GC).
 */
interface StepBatch {
  ids: number[];
  obs: unknown[];
  rewards: Float64Array;
  terminations: Uint8Array;
  truncations: Uint8Array;
  infos: Info[];
  finals: ({ obs: unknown; info: Info } | null)[];
  episodes: (EpisodeStats | null)[];
}

function newBatch(n: number): StepBatch {
  return {
    ids: new Array<number>(n),
    obs: new Array<unknown>(n),
    rewards: new Float64Array(n),
    terminations: new Uint8Array(n),
    truncations: new Uint8Array(n),
    infos: new Array<Info>(n),
    finals: new Array<{ obs: unknown; info: Info } | null>(n).fill(null),
    episodes: new Array<EpisodeStats | null>(n).fill(null),
  };
}

/** A VectorEnv as plain data (JSON-safe: Python floats in infos are marked), to rebuild it elsewhere. */
export interface VectorSnapshot {
  numEnvs: number;
  /** A shard's place in the whole vector env (absent: the whole vector env). */
  shard?: ShardGeometry;
  autoreset: AutoresetMode;
  encoding: Encoding;
  statsEnabled: boolean;
  needsReset: number[];
  autoresetFlags: number[];
  pending: number[];
  lastObs: unknown[];
  finished: unknown[];
  sampleRng: unknown;
  runners: RunnerSnapshot[];
}




const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;

/** `recv`'s refusals, the same words whether one thread or the main thread (sharded vector envs) refuses. */
export const NOTHING_PENDING = 'no sub-env has a step pending: send some first with {"vector":{"send":{"actions": …, "env_ids": […]}}}';
export const recvTooMany = (k: number, pending: number) => `batch_size ${k} is more than the ${plural(pending, 'sub-env')} with a step pending`;

/** A check that failed, with the place of the sub-env it names in the request (-1: the request as a whole), so that of several shards' failures the first sub-env's is reported. */
export class CheckFailure extends Error {
  constructor(
    readonly failure: unknown,
    readonly order: number,
  ) {
    super(failure instanceof Error ? failure.message : String(failure));
  }
}

/** A request checked in full and not yet run (see `check*`, `run`): what a shard holds between its check and its go. */
export type CheckedRequest =
  | { kind: 'step'; actions: unknown[] }
  | { kind: 'send'; actions: unknown[]; ids: number[] }
  | { kind: 'reset'; seed: bigint | null; mask: readonly boolean[] | null; options: Record<string, unknown> | null };

export class VectorEnv {
  /** The sub-envs this object holds (a shard's share of a sharded vector env). */
  readonly numEnvs: number;
  /** The index of its first sub-env in the whole vector env, and the whole vector env's size (requests speak of those). */
  readonly offset: number;
  readonly total: number;
  readonly observationSpace: Space<unknown>;
  readonly actionSpace: Space<unknown>;
  #statsEnabled = false;
  /** 1 until the sub-env's first reset. */
  readonly #needsReset: Uint8Array;
  /** 1 where the sub-env's last step ended its episode (Gymnasium's `_autoreset_envs`). */
  readonly #autoresetFlags: Uint8Array;
  /** 1 where a `send` is not yet taken by `recv`. */
  readonly #pending: Uint8Array;
  #pendingCount = 0;
  /** Steps sent and finished, in finishing order, until `recv` takes them. */
  #finished: Outcome[] = [];
  readonly #lastObs: unknown[];
  /** The batched action space, for `seed`/`sample` (made on first use). */
  #sampleSpace: Space<number[]> | null = null;

  private constructor(
    readonly runners: EnvRunner[],
    readonly autoreset: AutoresetMode,
    readonly encoding: Encoding,
    shard?: ShardGeometry,
  ) {
    this.numEnvs = runners.length;
    this.offset = shard?.offset ?? 0;
    this.total = shard?.total ?? runners.length;
    this.observationSpace = runners[0].env.observationSpace as Space<unknown>;
    this.actionSpace = runners[0].env.actionSpace as Space<unknown>;
    this.#needsReset = new Uint8Array(this.numEnvs).fill(1);
    this.#autoresetFlags = new Uint8Array(this.numEnvs);
    this.#pending = new Uint8Array(this.numEnvs);
    this.#lastObs = Array.from({ length: this.numEnvs }, () => zeroValue(this.observationSpace));
  }

  /** `gymnasium.make_vec(id, num_envs, vectorization_mode="sync", **kwargs)`; the domain errors of makeEnv. */
  static make(id: string, numEnvs: number, kwargs: Record<string, unknown>, autoreset: AutoresetMode, encoding: Encoding, shard?: ShardGeometry): VectorEnv {
    const runners: EnvRunner[] = [];
    try {
      for (let i = 0; i < numEnvs; i++) {
        const { spec, env } = makeEnv(id, kwargs);
        runners.push(new EnvRunner(spec, env, kwargs));
      }
    } catch (err) {
      for (const runner of runners) runner.close();
      throw err;
    }
    return new VectorEnv(runners, autoreset, encoding, shard);
  }

  /** The reply to `vector.make`. */
  madeReply(instance: string): string {
    return (
      `{"instance": "${instance}", "num_envs": ${this.total}, "autoreset": "${this.autoreset}", "encoding": "${this.encoding}", ` +
      `"single_observation_space": ${toPyJson(this.observationSpace.describe())}, "single_action_space": ${toPyJson(this.actionSpace.describe())}}`
    );
  }

  get id(): string {
    return this.runners[0].spec.id;
  }

  recordEpisodeStatistics(enabled: boolean): void {
    this.#statsEnabled = enabled;
  }

  /**
   * `envs.reset(seed=S, options={"reset_mask": mask, **options})`: sub-env i gets seed S+i and the
   * options (each env's own, e.g. CarRacing's `randomize`); unmasked ones keep their last observation.
   */
  reset(seed: bigint | null, mask: readonly boolean[] | null, options: Record<string, unknown> | null = null): string {
    this.#checked(() => this.checkReset(seed, mask, options));
    const infos = this.#resetInto(seed, mask, options);
    return `{"observations": ${encodeValues(this.observationSpace, this.#lastObs, this.encoding)}, "infos": ${infosJson(infos)}}`;
  }

  /** Steps every sub-env (Gymnasium's `step`). */
  step(rawActions: unknown): string {
    const { actions } = this.#checked(() => this.checkStep(rawActions));
    return this.#replyBatch(this.#stepAll(actions), false);
  }

  /** EnvPool's `send`: steps the sub-envs `ids`; their results wait for `recv`. */
  send(rawActions: unknown, ids: readonly number[]): void {
    const checked = this.#checked(() => this.checkSend(rawActions, ids));
    this.#sendChecked(checked.actions, checked.ids);
  }

  /** EnvPool's `recv`: the first `batchSize` finished steps (default: all pending), in finishing order. */
  recv(batchSize: number | null): string {
    if (this.#pendingCount === 0) throw new ProtocolError('BAD_REQUEST', NOTHING_PENDING);
    const k = batchSize ?? this.#pendingCount;
    if (k > this.#pendingCount) throw new ProtocolError('BAD_REQUEST', recvTooMany(k, this.#pendingCount));
    return this.#reply(this.#take(k), true);
  }

  /*
   * A shard of a vector env split over worker threads (docs/vector.md) answers in two phases: every
   * shard checks the request (`check*`, which changes nothing), and only when all passed does each
   * run it (`run`) and answer its part (shard-parts.ts). The single-thread methods above are the two
   * phases back to back.
   */

  /** Checks a `reset` (a mask covers the whole vector env). */
  checkReset(seed: bigint | null, mask: readonly boolean[] | null, options: Record<string, unknown> | null = null): CheckedRequest {
    if (mask !== null && mask.length !== this.total) {
      throw new CheckFailure(new ProtocolError('BAD_REQUEST', `the mask has ${plural(mask.length, 'entry')} for ${plural(this.total, 'sub-env')}`), -1);
    }
    // Every sub-env is the same env: its spec reads the options alike for all.
    try {
      this.runners[0].checkResetOptions(options);
    } catch (err) {
      throw new CheckFailure(err, -1);
    }
    if (this.#pendingCount > 0) {
      const i = this.#pending.findIndex((p, i) => p === 1 && (mask === null || mask[this.offset + i]));
      if (i >= 0) throw new CheckFailure(new ProtocolError('BAD_REQUEST', `sub-env ${this.offset + i}: a step sent to it is not yet received; recv it first`), this.offset + i);
    }
    return { kind: 'reset', seed, mask, options };
  }

  /**
   * Checks a `step` of every sub-env; the batch holds an action for each sub-env of the whole vector
   * env. `every`: the actions of the other shards' sub-envs are checked too (the one-phase step of a
   * `clean` vector env, where every shard must come to the same answer on its own).
   */
  checkStep(rawActions: unknown, every = false): CheckedRequest & { kind: 'step' } {
    return { kind: 'step', actions: this.#checkActions(rawActions, null, every).actions };
  }

  /**
   * True when no sub-env's state can refuse a step or a reset: every one was reset, none has a step
   * sent and not received, none finished with autoreset disabled. Then a shard can check a whole
   * request by itself (docs/vector.md, "Shards").
   */
  get clean(): boolean {
    return this.#pendingCount === 0 && this.#needsReset.indexOf(1) < 0 && (this.autoreset !== 'disabled' || this.#autoresetFlags.indexOf(1) < 0);
  }

  /** Checks a `send` (`ids` of the whole vector env); keeps the actions and ids of this object's sub-envs, in the order sent. */
  checkSend(rawActions: unknown, ids: readonly number[]): CheckedRequest & { kind: 'send' } {
    const { actions, ids: local } = this.#checkActions(rawActions, ids);
    return { kind: 'send', actions, ids: local };
  }

  /** Runs a checked request; a shard's part of the reply (shard-parts.ts), or for `send` the sub-envs it stepped. */
  run(checked: CheckedRequest): { part: Buffer } | { sent: number } {
    switch (checked.kind) {
      case 'reset': {
        const infos = this.#resetInto(checked.seed, checked.mask, checked.options);
        return { part: encodePart(this.observationSpace, this.encoding, { obs: this.#lastObs, infos, clean: this.clean }, false) };
      }
      case 'step': {
        const b = this.#stepAll(checked.actions);
        return { part: encodePart(this.observationSpace, this.encoding, { ...b, infos: this.#infosOf(b), clean: this.clean }, false) };
      }
      case 'send':
        this.#sendChecked(checked.actions, checked.ids);
        return { sent: checked.ids.length };
    }
  }

  /** The finished `send` steps a `recv` takes from this shard: the first `chunks[0]`, then the next `chunks[1]`, … each a part (raw bytes: a chunk need not end on a base64 boundary). */
  take(chunks: readonly number[]): Buffer {
    const total = chunks.reduce((a, b) => a + b, 0);
    if (total > this.#finished.length) throw new ProtocolError('BAD_REQUEST', recvTooMany(total, this.#finished.length));
    const outcomes = this.#take(total);
    const parts: Buffer[] = [];
    let at = 0;
    for (const size of chunks) {
      const b = this.#batchOf(outcomes.slice(at, at + size));
      at += size;
      for (let j = 0; j < b.ids.length; j++) b.ids[j] += this.offset;
      parts.push(encodePart(this.observationSpace, this.encoding, { ...b, infos: this.#infosOf(b), clean: this.clean }, true));
    }
    return Buffer.concat(parts);
  }

  /** Runs `check` and reports the failure it meant (the single-thread methods have one part). */
  #checked<T>(check: () => T): T {
    try {
      return check();
    } catch (err) {
      throw err instanceof CheckFailure ? err.failure : err;
    }
  }

  #resetInto(seed: bigint | null, mask: readonly boolean[] | null, options: Record<string, unknown> | null): VectorInfos {
    const n = this.numEnvs;
    const infos: VectorInfos = {};
    for (let i = 0; i < n; i++) {
      if (mask !== null && !mask[this.offset + i]) continue;
      const runner = this.runners[i];
      if (seed !== null) runner.seed(seed + BigInt(this.offset + i));
      const { obs, info } = runner.reset(options);
      this.#lastObs[i] = obs;
      this.#needsReset[i] = 0;
      this.#autoresetFlags[i] = 0;
      addInfo(infos, info, i, n);
    }
    return infos;
  }

  #stepAll(actions: unknown[]): StepBatch {
    const batch = newBatch(this.numEnvs);
    for (let i = 0; i < this.numEnvs; i++) this.#stepInto(i, actions[i], batch, i);
    return batch;
  }

  #sendChecked(actions: unknown[], ids: readonly number[]): void {
    for (let j = 0; j < ids.length; j++) {
      this.#finished.push(this.#stepOne(ids[j], actions[j]));
      this.#pending[ids[j]] = 1;
    }
    this.#pendingCount += ids.length;
  }

  #take(k: number): Outcome[] {
    const outcomes = this.#finished.slice(0, k);
    this.#finished = this.#finished.slice(k);
    for (const o of outcomes) this.#pending[o.id] = 0;
    this.#pendingCount -= k;
    return outcomes;
  }

  /** `envs.action_space.seed(seed)`. */
  seedActions(seed: bigint): void {
    this.#requireSampleSpace().seed(seed);
  }

  /** `envs.action_space.sample()`: one action per sub-env of the whole vector env (one generator for the whole batch, as Gymnasium's). */
  sample(): string {
    const flat = this.#requireSampleSpace().sample();
    const size = flat.length / this.total;
    const values = this.actionSpace instanceof Discrete ? flat : Array.from({ length: this.total }, (_, i) => flat.slice(i * size, (i + 1) * size));
    return `{"actions": ${encodeValues(this.actionSpace, values, this.encoding)}}`;
  }

  snapshot(): VectorSnapshot {
    return {
      numEnvs: this.numEnvs,
      shard: this.offset === 0 && this.total === this.numEnvs ? undefined : { offset: this.offset, total: this.total },
      autoreset: this.autoreset,
      encoding: this.encoding,
      statsEnabled: this.#statsEnabled,
      needsReset: [...this.#needsReset],
      autoresetFlags: [...this.#autoresetFlags],
      pending: [...this.#pending],
      lastObs: this.#lastObs,
      finished: this.#finished.map(toPlain),
      sampleRng: this.#sampleSpace?.snapshotRng() ?? null,
      runners: this.runners.map((runner) => runner.snapshot()),
    };
  }

  /** Rebuilds a vector env from a snapshot (EnvNotLoaded while its env family still loads). */
  static restore(snapshot: VectorSnapshot): VectorEnv {
    const runners: EnvRunner[] = [];
    try {
      for (const runner of snapshot.runners) runners.push(EnvRunner.restore(runner));
    } catch (err) {
      for (const runner of runners) runner.close();
      throw err;
    }
    const vector = new VectorEnv(runners, snapshot.autoreset, snapshot.encoding, snapshot.shard);
    vector.#statsEnabled = snapshot.statsEnabled;
    vector.#needsReset.set(snapshot.needsReset);
    vector.#autoresetFlags.set(snapshot.autoresetFlags);
    vector.#pending.set(snapshot.pending);
    vector.#pendingCount = snapshot.pending.reduce((a, b) => a + b, 0);
    vector.#lastObs.splice(0, vector.numEnvs, ...snapshot.lastObs);
    vector.#finished = snapshot.finished.map((o) => fromPlain(o) as Outcome);
    if (snapshot.sampleRng !== null) vector.#requireSampleSpace().restoreRng(snapshot.sampleRng as NpRandomSnapshot);
    return vector;
  }

  close(): void {
    for (const runner of this.runners) runner.close();
  }

  #requireSampleSpace(): Space<number[]> {
    this.#sampleSpace ??= batchSpace(this.actionSpace, this.total);
    if (this.#sampleSpace === null) throw new ProtocolError('BAD_REQUEST', `sampling a batch of ${this.id}'s action space is not supported`);
    return this.#sampleSpace;
  }

  /**
   * Every check of a step or send, before any sub-env moves (`ids`: the whole vector env's; null: a
   * step of all). Returns the parsed actions of this object's sub-envs and their local indices.
   */
  #checkActions(rawActions: unknown, ids: readonly number[] | null, every = false): { actions: unknown[]; ids: number[] } {
    const n = this.total;
    const count = ids === null ? n : ids.length;
    if (ids !== null) {
      const seen = new Uint8Array(n);
      for (const id of ids) {
        if (!Number.isInteger(id) || id < 0 || id >= n) throw new CheckFailure(new ProtocolError('BAD_REQUEST', `env id ${id} is out of range: this vector env has sub-envs 0 to ${n - 1}`), -1);
        if (seen[id]) throw new CheckFailure(new ProtocolError('BAD_REQUEST', `env id ${id} appears twice in one send`), -1);
        seen[id] = 1;
      }
    }
    let raw: unknown[];
    try {
      raw = decodeActions(this.actionSpace, rawActions, count);
    } catch (err) {
      throw new CheckFailure(err, -1);
    }
    const actions: unknown[] = [];
    const local: number[] = [];
    for (let j = 0; j < count; j++) {
      const g = ids === null ? j : ids[j];
      const i = g - this.offset;
      const fail = (err: unknown) => new CheckFailure(err, j);
      if (i < 0 || i >= this.numEnvs) {
        if (!every) continue;
        try {
          this.actionSpace.parseAction(raw[j]);
        } catch (err) {
          if (err instanceof ActionError) throw fail(new ActionError(`sub-env ${g}: ${err.message}`));
          throw err;
        }
        continue;
      }
      if (this.#needsReset[i]) throw fail(new ResetNeededError(`sub-env ${g}: reset the vector env before stepping it (send {"vector":{"reset":{}}})`));
      if (this.#pending[i]) throw fail(new ProtocolError('BAD_REQUEST', `sub-env ${g}: a step sent to it is not yet received; recv it first`));
      if (this.autoreset === 'disabled' && this.#autoresetFlags[i]) {
        throw fail(new ResetNeededError(`sub-env ${g}: its episode ended and autoreset is disabled: reset it with {"vector":{"reset":{"mask": […]}}}`));
      }
      try {
        actions.push(this.actionSpace.parseAction(raw[j]));
      } catch (err) {
        if (err instanceof ActionError) throw fail(new ActionError(`sub-env ${g}: ${err.message}`));
        throw err;
      }
      local.push(i);
    }
    return { actions, ids: local };
  }

  /** Steps sub-env `i` (or resets it, next_step mode after an episode's end) into entry `j` of `batch`. */
  #stepInto(i: number, action: unknown, batch: StepBatch, j: number): void {
    const runner = this.runners[i];
    batch.ids[j] = i;
    let done = false;
    if (this.autoreset === 'next_step' && this.#autoresetFlags[i]) {
      // Gymnasium ignores the action of a sub-env whose episode ended last step, and resets it.
      const { obs, info } = runner.reset();
      batch.obs[j] = obs;
      batch.infos[j] = info;
      batch.rewards[j] = 0;
      batch.terminations[j] = batch.truncations[j] = 0;
    } else {
      // The action was parsed with the batch (#checkStep): not again.
      const r = runner.stepParsed(action);
      done = r.terminated || r.truncated;
      batch.obs[j] = r.obs;
      batch.infos[j] = r.info;
      batch.rewards[j] = r.reward;
      batch.terminations[j] = r.terminated ? 1 : 0;
      batch.truncations[j] = r.truncated ? 1 : 0;
      batch.episodes[j] = runner.lastEpisode;
      if (this.autoreset === 'same_step' && done) {
        const { obs, info } = runner.reset();
        batch.finals[j] = { obs: r.obs, info: r.info };
        batch.obs[j] = obs;
        batch.infos[j] = info;
      }
    }
    this.#autoresetFlags[i] = done ? 1 : 0;
    this.#lastObs[i] = batch.obs[j];
  }

  /** One sub-env's step, kept until `recv` takes it. */
  #stepOne(i: number, action: unknown): Outcome {
    const b = newBatch(1);
    this.#stepInto(i, action, b, 0);
    return {
      id: i,
      obs: b.obs[0],
      reward: b.rewards[0],
      terminated: b.terminations[0] === 1,
      truncated: b.truncations[0] === 1,
      info: b.infos[0],
      final: b.finals[0],
      episode: b.episodes[0],
    };
  }

  #reply(outcomes: Outcome[], withIds: boolean): string {
    return this.#replyBatch(this.#batchOf(outcomes), withIds);
  }

  #batchOf(outcomes: Outcome[]): StepBatch {
    const b = newBatch(outcomes.length);
    outcomes.forEach((o, j) => {
      b.ids[j] = o.id;
      b.obs[j] = o.obs;
      b.rewards[j] = o.reward;
      b.terminations[j] = o.terminated ? 1 : 0;
      b.truncations[j] = o.truncated ? 1 : 0;
      b.infos[j] = o.info;
      b.finals[j] = o.final;
      b.episodes[j] = o.episode;
    });
    return b;
  }

  /** A batch's infos (Gymnasium's `_add_info` order; RecordEpisodeStatistics' `episode` last). */
  #infosOf(b: StepBatch): VectorInfos {
    const n = b.obs.length;
    const infos: VectorInfos = {};
    let ended = 0;
    for (let j = 0; j < n; j++) {
      const final = b.finals[j];
      if (final !== null) addInfo(infos, { final_obs: new JsonText(this.observationSpace.encode(final.obs)), final_info: final.info }, j, n);
      for (const _ in b.infos[j]) {
        addInfo(infos, b.infos[j], j, n);
        break;
      }
      if (b.episodes[j] !== null) ended += 1;
    }
    if (this.#statsEnabled && ended > 0) {
      // RecordEpisodeStatistics: zeros for the sub-envs that did not end, no mask inside `episode`.
      const r = new Array<unknown>(n).fill(new PyFloat(0));
      const l = new Array<unknown>(n).fill(0);
      const t = new Array<unknown>(n).fill(new PyFloat(0));
      const done = new Array<boolean>(n).fill(false);
      for (let j = 0; j < n; j++) {
        const e = b.episodes[j];
        if (e === null) continue;
        r[j] = new PyFloat(e.r);
        l[j] = e.l;
        t[j] = new PyFloat(e.t);
        done[j] = true;
      }
      infos.episode = { r, l, t };
      infos._episode = done;
    }
    return infos;
  }

  /** The step reply of a batch, in its order. */
  #replyBatch(b: StepBatch, withIds: boolean): string {
    const infos = this.#infosOf(b);
    let json =
      `{"observations": ${encodeValues(this.observationSpace, b.obs, this.encoding)}, "rewards": ${encodeFloats(b.rewards, this.encoding)}, ` +
      `"terminations": ${encodeFlags(b.terminations, this.encoding)}, "truncations": ${encodeFlags(b.truncations, this.encoding)}, "infos": ${infosJson(infos)}`;
    if (withIds) json += `, "env_ids": [${b.ids.join(', ')}]`;
    return json + '}';
  }
}
