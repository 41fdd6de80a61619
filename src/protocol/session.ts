/**
 * A client's session: the env (single or vector) a connection or REST instance holds, and the
 * answer to each request line, whatever the front. Longer than 400 lines on purpose: every request
 * kind meets the same state here (the env, its runner, the episode, the frame a step rendered, a
 * deferred make), and splitting the dispatch from that state would spread one decision over files.
 */
import { BadKwargsError, BadResetOptionsError, EnvNotLoaded, RenderError, ResetNeededError, UnknownEnvError } from '../envs/errors.js';
import { canonicalEnvId, makeEnv, makeNeedsPreparation } from '../envs/registry.js';
import type { RgbFrame } from '../envs/env.js';
import { EnvRunner, type EpisodeStats, type RunnerSnapshot } from '../envs/runner.js';
import { pyFloat, toPyJson } from '../json/pyjson.js';
import { ActionError } from '../spaces/index.js';
import { ProtocolError, type ErrorCode } from './errors.js';
import { newInstanceId } from './instance-id.js';
import { errorReply, objectReply, valueReply, type Reply } from './reply.js';
import { CAPPED_CUBIC, NOT_RECORDING, recordFrame, type RecordedFrame, type RecordingState } from './episode-recording.js';
import { parseRequest } from './request.js';
import type { Request, RequestKind } from './schema.js';
import { CheckFailure, VectorEnv, type CheckedRequest, type VectorSnapshot } from '../vector/vector-env.js';
import { layoutOf } from '../vector/batch.js';
import { vectorRequest } from '../vector/vector-requests.js';

/** What a session needs from the transport: where recordings are served, and state carried over. */
export interface SessionInit {
  /** e.g. `http://127.0.0.1:4040`; `url` replies point below it. */
  urlBase: string;
  /**
   * The server's --node-id: instance ids are `<node>-<hex>`, so a load balancer can route them
   * (instance-id.ts). Absent (a session embedded in a test): the bare hex.
   */
  nodeId?: string;
  compression: number;
  /** The connection's current or last env, kept across a lost worker so `url` still answers. */
  lastInstance: string | null;
  /** True when the worker that held this connection's env stopped: env requests answer ENV_LOST. */
  lost: boolean;
}

/**
 * A session as plain data: enough to rebuild it, env included, on another worker. It travels as JSON
 * text (`Session.snapshot`): the main thread only keeps it to hand back, and never reads it.
 */
export interface SessionSnapshot {
  compression: number;
  instance: string | null;
  lastInstance: string | null;
  lost: boolean;
  runner: RunnerSnapshot | null;
  /** The connection's vector env instead of a single one (docs/vector.md). */
  vector?: VectorSnapshot | null;
  recording?: RecordingState;
  /** The session holds a shard of a vector env split over worker threads (see ShardState). */
  shard?: ShardState;
}

/**
 * A vector env of thousands of sub-envs is split over the worker threads (docs/vector.md, "Shards"):
 * each shard is a session holding a VectorEnv of a slice of the sub-envs, the connection's own
 * session holding shard 0 (the lead). The main thread's coordinator (src/server/vector-shards.ts)
 * sends each shard every request line, which it checks (answering `shard` replies), then ops.
 */
export type ShardOp =
  /** Make this shard's slice of a vector make (checked, held until `go`). */
  | { make: { line: string; index: number; offset: number; count: number; total: number } }
  /** Run what was checked (every shard passed its check). */
  | { go: true }
  /**
   * A request line to check and run at once: the coordinator knows every shard is `clean`, so a step
   * or reset passes or fails alike on every shard, each checking the whole request (one trip to the
   * workers instead of two). Other requests are handled as a line.
   */
  | { fast: string }
  /** Forget what was checked (some shard failed its check). */
  | { abort: true }
  /** A `recv` takes this shard's finished steps, in chunks (see VectorEnv.take). */
  | { take: number[] }
  /** Another shard's worker was lost for good: the vector env is gone. */
  | { lost: true };

/** How a session splits big vector envs (absent: never). */
export interface VectorSharding {
  /** The most shards: the pool's worker threads, at most the machine's cores (see EnvPool). */
  workers: number;
  /** A shard holds at least this many sub-envs (a vector env of fewer than twice it is not split). */
  shardSize: number;
}

/** A shard session's state between requests, for its snapshot. */
export interface ShardState {
  index: number | null;
  holding: boolean;
  checkedLine: string | null;
  makeOp: Extract<ShardOp, { make: unknown }>['make'] | null;
}

/** How a vector env of `total` sub-envs is split: shards of multiples of 3 sub-envs (whole base64 groups), the last one the rest; null when it is not. */
export function shardPlan(total: number, sharding: VectorSharding | undefined): { offset: number; count: number }[] | null {
  if (!sharding || sharding.shardSize <= 0 || sharding.workers < 2) return null;
  let k = Math.min(sharding.workers, Math.floor(total / sharding.shardSize));
  let size = 0;
  for (; k >= 2; k--) {
    size = Math.ceil(total / k / 3) * 3;
    if (size * (k - 1) < total) break;
  }
  if (k < 2) return null;
  return Array.from({ length: k }, (_, i) => ({ offset: i * size, count: i < k - 1 ? size : total - size * (k - 1) }));
}

/** Where a session takes a place for its env from: the server-wide limit (see EnvBudget). */
export interface EnvSlots {
  tryAcquire(): boolean;
  release(): void;
}

const UNLIMITED: EnvSlots = { tryAcquire: () => true, release: () => {} };

/** Takes `count` places at once, or none (false). */
function acquireSlots(slots: EnvSlots, count: number): boolean {
  for (let i = 0; i < count; i++) {
    if (!slots.tryAcquire()) {
      for (let j = 0; j < i; j++) slots.release();
      return false;
    }
  }
  return true;
}

/** The most sub-envs one vector env may have unless the server says otherwise (--max-num-envs). */
export const DEFAULT_MAX_NUM_ENVS = 65_536;

/** The outcome of one request: its reply (null for the silent requests) and state the transport mirrors. */
export interface SessionReply {
  reply: Reply | null;
  /** What the request was (for the stats); null when the line was not a request (it did not parse, or the transport refused it). */
  command: RequestKind | null;
  /** The compression level after this request (the TCP front frames with it). */
  compression: number;
  /** The connection's env instance id after this request, or null. */
  instance: string | null;
  /** Set when this request was a step that ended an episode (counted once, by the EnvRunner). */
  episode: EpisodeStats | null;
  /** True when the request was a make with a costly part, not run: see `handle`'s `mayDefer`. */
  deferred?: true;
  /** The frame this request recorded (a rendered step or reset, see RecordedFrame), or null. */
  frame: RecordedFrame | null;
  /** A shard's part of a vector reply (a `shard` reply's bytes, shard-parts.ts). */
  part?: Buffer;
}


/** An older client's `monitor` request as the session hands it to its front (in a `monitor` reply, never written). */
export interface MonitorRequest {
  action: 'start' | 'close' | 'invalid';
  directory: string | null;
  force: boolean;
  resume: boolean;
  /** Why the request could not be used (action `invalid`). */
  problem: string | null;
  /** The id of the connection's env, if it has one. */
  envId: string | null;
  /** `start`'s video schedule (CAPPED_CUBIC when the request gave none; 0: no videos). */
  videoEvery: number;
}

/**
 * mlpack's client programs name envs `<id>-render` (`Pendulum-v1-render`): the env with its episodes
 * recorded (docs/protocol.md §4). The suffix is taken off ids the catalogue does not know otherwise.
 */
export function withoutRenderSuffix(name: string): string {
  return hasRenderSuffix(name) ? name.slice(0, -RENDER_SUFFIX.length) : name;
}

const RENDER_SUFFIX = '-render';
function hasRenderSuffix(name: string): boolean {
  return name.endsWith(RENDER_SUFFIX) && canonicalEnvId(name) === undefined && canonicalEnvId(name.slice(0, -RENDER_SUFFIX.length)) !== undefined;
}

/** A shard's word to the coordinator (reply kind `shard`, never written to a client). */
function shardReply(body: Record<string, unknown>): Reply {
  return { kind: 'shard', json: JSON.stringify(body), valueStart: -1, valueEnd: -1, code: null };
}

/** A shard's part of a vector reply: its bytes travel as the result's `out` (SessionReply.part). */
const PART_REPLY: Reply = Object.freeze({ kind: 'part', json: '', valueStart: -1, valueEnd: -1, code: null });

/** FRAME of docs/protocol.md §9.8: the RGB bytes in base64, with their dtype and shape. */
function frameJson(frame: RgbFrame): string {
  const data = Buffer.from(frame.data.buffer, frame.data.byteOffset, frame.data.byteLength).toString('base64');
  return `{"dtype": "uint8", "shape": [${frame.height}, ${frame.width}, 3], "data": "${data}"}`;
}

/**
 * How each domain error of the envs and spaces reads on the wire: its code, and what to send next
 * where the protocol has one (the domain does not know the wire's messages).
 */
const DOMAIN_ERROR_CODES: [new (...args: never[]) => Error, ErrorCode, string?][] = [
  [UnknownEnvError, 'UNKNOWN_ENV'],
  [BadKwargsError, 'BAD_KWARGS'],
  [ResetNeededError, 'RESET_NEEDED', 'send {"env":{"action": "reset"}}'],
  [BadResetOptionsError, 'BAD_REQUEST'],
  [ActionError, 'INVALID_ACTION'],
  [RenderError, 'BAD_REQUEST'],
];

/** A failure while handling a request → its error reply (ENV_FAILED for anything unforeseen: a bug, not the client). */
export function errorReplyFor(err: unknown): Reply {
  const { code, message } = errorOf(err);
  return errorReply(code, message);
}

/** A failure's wire code and message (errorReplyFor's, for a reply made elsewhere: the preparation pool's). */
export function errorOf(err: unknown): { code: ErrorCode; message: string } {
  if (err instanceof ProtocolError) return { code: err.code, message: err.message };
  for (const [type, code, next] of DOMAIN_ERROR_CODES) {
    if (err instanceof type) return { code, message: next ? `${err.message}: ${next}` : err.message };
  }
  return { code: 'ENV_FAILED', message: `the environment failed: ${err instanceof Error ? err.message : String(err)}` };
}

/**
 * One connection's protocol state: its env, its compression level. Transport-free: it turns request
 * lines into typed replies (reply.ts) and knows nothing of sockets, threads or framing, so the TCP
 * front, the REST front or a batch front drive it the same way.
 */
export class Session {
  #runner: EnvRunner | null = null;
  /** A vector env, held instead of #runner (never both). */
  #vector: VectorEnv | null = null;
  /** The episode the request being handled ended, if any. */
  #episode: EpisodeStats | null = null;
  /** The frame the request being handled recorded, if any. */
  #frame: RecordedFrame | null = null;
  /** A shard's part of the reply to the request being handled, if any (SessionReply.part). */
  #part: Buffer | undefined = undefined;
  #recording: RecordingState = { ...NOT_RECORDING };
  #instance: string | null = null;
  #lastInstance: string | null = null;
  #compression: number;
  #lost: boolean;
  readonly #urlBase: string;
  readonly #nodeId: string | undefined;

  readonly #envSlots: EnvSlots;
  readonly #maxNumEnvs: number;
  readonly #sharding: VectorSharding | undefined;
  /** This session's shard index while it holds a shard of a vector env (0: the lead), else null. */
  #shardIndex: number | null = null;
  /** A shard's request checked and not yet run (the line, kept for the snapshot). */
  #checked: { line: string; request: CheckedRequest } | null = null;
  /** A shard's slice of a vector make, made and not yet swapped in, with the places it took. */
  #made: { op: NonNullable<ShardState['makeOp']>; vector: VectorEnv; acquired: number } | null = null;
  /** The lead answered a vector make with a plan: lines until the coordinator's make op are held, not run. */
  #holding = false;

  constructor(init: SessionInit, envSlots: EnvSlots = UNLIMITED, maxNumEnvs = DEFAULT_MAX_NUM_ENVS, sharding?: VectorSharding) {
    this.#envSlots = envSlots;
    this.#maxNumEnvs = maxNumEnvs;
    this.#sharding = sharding;
    this.#urlBase = init.urlBase;
    this.#nodeId = init.nodeId;
    this.#compression = init.compression;
    this.#lastInstance = init.lastInstance;
    this.#lost = init.lost;
  }

  /**
   * Handles one request line. Failures become error replies; the one thing it throws is EnvNotLoaded
   * (the env's code is still loading, nothing has changed): wait for it and handle the line again.
   */
  handle(line: string, mayDefer = false, fast = false): SessionReply {
    let reply: Reply | null;
    let command: RequestKind | null = null;
    this.#episode = null;
    this.#frame = null;
    this.#part = undefined;
    if (this.#holding) return this.#outcome(shardReply({ held: true }), null);
    try {
      const request = parseRequest(line);
      command = request.kind;
      if (this.#shardIndex !== null) {
        const answer = this.#asShard(request, line, fast);
        if (answer !== undefined) return this.#outcome(answer, command);
      }
      // `mayDefer`: a make with a costly part is not run here but answered `deferred`; the pool has it
      // prepared elsewhere and sends the prepared line (see src/pool/prepare-pool.ts).
      if (mayDefer && request.kind === 'make' && makeNeedsPreparation(withoutRenderSuffix(request.name), request.kwargs)) {
        return { ...this.#outcome(null, command), deferred: true };
      }
      reply = this.#execute(request);
    } catch (err) {
      if (err instanceof EnvNotLoaded) throw err;
      reply = errorReplyFor(err);
    }
    return this.#outcome(reply, command);
  }

  /**
   * A failure the transport detected before the line could be parsed (bad UTF-8, line too long), or
   * that a request met elsewhere (`command`: a make whose preparation failed).
   */
  fail(code: ErrorCode, message: string, command: RequestKind | null = null): SessionReply {
    this.#episode = null;
    this.#frame = null;
    this.#part = undefined;
    return this.#outcome(errorReply(code, message), command);
  }

  /** The current env instance id, or null. */
  get instance(): string | null {
    return this.#instance;
  }

  /** The id of the current env (its catalogue id), or null: the metrics count envs by it. */
  get envId(): string | null {
    return this.#runner?.spec.id ?? null;
  }

  /** The session's state as JSON text of a SessionSnapshot. */
  snapshot(): string {
    const snapshot: SessionSnapshot = {
      compression: this.#compression,
      instance: this.#instance,
      lastInstance: this.#lastInstance,
      lost: this.#lost,
      runner: this.#runner?.snapshot() ?? null,
      vector: this.#vector?.snapshot() ?? null,
      recording: this.#recording,
      shard: { index: this.#shardIndex, holding: this.#holding, checkedLine: this.#checked?.line ?? null, makeOp: this.#made?.op ?? null },
    };
    return JSON.stringify(snapshot);
  }

  /**
   * Rebuilds a session from a snapshot (its worker died). If the env cannot be remade or has no
   * place under the env limit, the session is rebuilt without it and answers ENV_LOST.
   */
  static restore(
    front: Pick<SessionInit, 'urlBase' | 'nodeId'>,
    snapshotText: string,
    envSlots: EnvSlots = UNLIMITED,
    maxNumEnvs = DEFAULT_MAX_NUM_ENVS,
    sharding?: VectorSharding,
  ): Session {
    const snapshot = JSON.parse(snapshotText) as SessionSnapshot;
    const session = new Session(
      { urlBase: front.urlBase, nodeId: front.nodeId, compression: snapshot.compression, lastInstance: snapshot.lastInstance, lost: snapshot.lost },
      envSlots,
      maxNumEnvs,
      sharding,
    );
    if (snapshot.vector) {
      if (acquireSlots(envSlots, snapshot.vector.numEnvs)) {
        try {
          session.#vector = VectorEnv.restore(snapshot.vector);
          session.#instance = snapshot.instance;
        } catch (err) {
          for (let i = 0; i < snapshot.vector.numEnvs; i++) envSlots.release();
          if (err instanceof EnvNotLoaded) throw err;
          session.#lost = true;
        }
      } else {
        session.#lost = true;
      }
    }
    if (snapshot.runner !== null) {
      if (envSlots.tryAcquire()) {
        try {
          session.#runner = EnvRunner.restore(snapshot.runner);
          session.#instance = snapshot.instance;
          if (snapshot.recording) session.#recording = { ...snapshot.recording };
        } catch (err) {
          envSlots.release();
          // The env's code is still loading: the caller waits and restores again.
          if (err instanceof EnvNotLoaded) throw err;
          session.#lost = true;
        }
      } else {
        session.#lost = true;
      }
    }
    if (snapshot.shard) {
      const { index, holding, checkedLine, makeOp } = snapshot.shard;
      session.#holding = holding;
      if (session.#vector) session.#shardIndex = index;
      // What was between a check and its go is checked again: checks change nothing.
      if (makeOp) session.shardOp({ make: makeOp });
      if (checkedLine !== null) session.handle(checkedLine);
    }
    return session;
  }

  /** Frees the env (the connection closed), and a shard's slice made and not yet swapped in. */
  close(): void {
    this.#discardMade();
    if (this.#runner) {
      this.#runner.close();
      this.#envSlots.release();
    }
    if (this.#vector) {
      this.#vector.close();
      for (let i = 0; i < this.#vector.numEnvs; i++) this.#envSlots.release();
    }
    this.#runner = null;
    this.#vector = null;
    this.#instance = null;
    this.#shardIndex = null;
    this.#checked = null;
  }

  #outcome(reply: Reply | null, command: RequestKind | null): SessionReply {
    return { reply, command, compression: this.#compression, instance: this.#instance, episode: this.#episode, frame: this.#frame, part: this.#part };
  }
  #requireEnv(): EnvRunner {
    if (this.#runner) return this.#runner;
    if (this.#vector) {
      throw new ProtocolError('BAD_REQUEST', 'this connection holds a vector env: send {"vector": …} requests (docs/vector.md), or make a single env with {"env":{"name": …}}');
    }
    if (this.#lost) {
      throw new ProtocolError('ENV_LOST', `the worker thread that held environment ${this.#lastInstance} stopped; create a new one with {"env":{"name": …}}`);
    }
    throw new ProtocolError('NO_ENV', 'no environment on this connection: create one first with {"env":{"name": "CartPole-v1"}}');
  }

  #requireVector(): VectorEnv {
    if (this.#vector) return this.#vector;
    if (this.#lost) this.#requireEnv();
    throw new ProtocolError('NO_ENV', 'no vector env on this connection: create one first with {"vector":{"make":{"name": "CartPole-v1", "num_envs": 8}}}');
  }

  /** `count` envs in place of the connection's, under the server-wide limit: only the difference is taken or given back (or nothing changes). */
  #replaceEnvs(count: number, discard: () => void): void {
    const held = this.#vector ? this.#vector.numEnvs : this.#runner ? 1 : 0;
    if (count > held && !acquireSlots(this.#envSlots, count - held)) {
      discard();
      throw new ProtocolError('TOO_MANY_ENVS', `the server holds as many environments as it allows (--max-envs; a vector env counts each of its ${count} sub-envs); close some first`);
    }
    for (let i = count; i < held; i++) this.#envSlots.release();
    this.#runner?.close();
    this.#vector?.close();
    this.#runner = null;
    this.#vector = null;
    this.#shardIndex = null;
    this.#checked = null;
  }

  /**
   * A request to a shard of a split vector env: steps, resets and sends are checked (and held until
   * `go`), statistics and close apply to every shard; the lead answers the rest as any session, and
   * the other shards skip them. Undefined: the lead's normal handling.
   */
  #asShard(request: Request, line: string, fast: boolean): Reply | null | undefined {
    const vector = this.#vector!;
    const lead = this.#shardIndex === 0;
    const skip = lead ? undefined : shardReply({ skip: true });
    switch (request.kind) {
      case 'vector_step':
      case 'vector_reset':
      case 'vector_send':
        try {
          // ShardOp `fast` on a clean vector env: a step or reset is checked whole (every sub-env's
          // action, so every shard decides alike) and run at once. A send keeps its two phases.
          const atOnce = fast && request.kind !== 'vector_send' && vector.clean;
          const checked =
            request.kind === 'vector_step'
              ? vector.checkStep(request.actions, atOnce)
              : request.kind === 'vector_reset'
                ? vector.checkReset(request.seed, request.mask, request.options)
                : vector.checkSend(request.actions, request.envIds);
          if (atOnce) return this.#run(checked);
          this.#checked = { line, request: checked };
          return shardReply({ ready: request.kind, count: checked.kind === 'send' ? checked.ids.length : vector.numEnvs });
        } catch (err) {
          if (!(err instanceof CheckFailure)) throw err;
          return shardReply({ error: errorOf(err.failure), order: err.order });
        }
      case 'vector_recv':
        return lead ? shardReply({ recv: request.batchSize }) : skip;
      case 'record_episode_stats':
        vector.recordEpisodeStatistics(request.enabled);
        return lead ? null : skip;
      case 'close':
        this.close();
        return lead ? null : skip;
      default:
        return skip;
    }
  }

  /** An op of the coordinator to a shard session (see ShardOp); its `shard` reply, or the lead's reply to the client. */
  shardOp(op: ShardOp): SessionReply {
    this.#episode = null;
    this.#frame = null;
    this.#part = undefined;
    let reply: Reply | null;
    try {
      if ('make' in op) {
        this.#holding = false;
        this.#discardMade();
        const request = parseRequest(op.make.line);
        if (request.kind !== 'vector_make') throw new ProtocolError('BAD_REQUEST', 'a shard make needs a vector make');
        const { offset, count, total } = op.make;
        const vector = VectorEnv.make(request.name, count, request.kwargs, request.autoreset, request.encoding, { offset, total });
        const held = this.#vector ? this.#vector.numEnvs : this.#runner ? 1 : 0;
        const acquired = Math.max(0, count - held);
        if (!acquireSlots(this.#envSlots, acquired)) {
          vector.close();
          throw new ProtocolError('TOO_MANY_ENVS', `the server holds as many environments as it allows (--max-envs; a vector env counts each of its ${total} sub-envs); close some first`);
        }
        this.#made = { op: op.make, vector, acquired };
        reply = shardReply({ ready: 'vector_make', count });
      } else if ('go' in op) {
        reply = this.#go();
      } else if ('fast' in op) {
        return this.handle(op.fast, false, true);
      } else if ('abort' in op) {
        this.#checked = null;
        this.#discardMade();
        reply = shardReply({ done: true });
      } else if ('take' in op) {
        this.#part = this.#vector!.take(op.take);
        reply = PART_REPLY;
      } else {
        this.close();
        this.#lost = true;
        reply = shardReply({ done: true });
      }
    } catch (err) {
      if (err instanceof EnvNotLoaded) throw err;
      reply = shardReply({ error: errorOf(err), order: -1 });
    }
    return this.#outcome(reply, null);
  }

  /** Runs what was checked: a made slice is swapped in (the lead answers the client's make), a request run. */
  #go(): Reply | null {
    if (this.#made) {
      const { op, vector, acquired } = this.#made;
      this.#made = null;
      const held = this.#vector ? this.#vector.numEnvs : this.#runner ? 1 : 0;
      // It holds its old envs and what the check took: it keeps `count` places.
      for (let i = op.count; i < held + acquired; i++) this.#envSlots.release();
      this.#runner?.close();
      this.#vector?.close();
      this.#runner = null;
      this.#vector = vector;
      this.#shardIndex = op.index;
      this.#checked = null;
      this.#instance = this.#lastInstance = newInstanceId(this.#nodeId);
      this.#compression = 0;
      this.#lost = false;
      return op.index === 0 ? objectReply('vector', vector.madeReply(this.#instance)) : shardReply({ done: true });
    }
    const checked = this.#checked;
    if (checked === null) throw new ProtocolError('BAD_REQUEST', 'nothing was checked to run');
    this.#checked = null;
    return this.#run(checked.request);
  }

  /** Runs a checked request: a step's or reset's part (kept in #part), or how many sub-envs a send stepped. */
  #run(checked: CheckedRequest): Reply {
    const outcome = this.#vector!.run(checked);
    if ('sent' in outcome) return shardReply({ sent: outcome.sent, clean: this.#vector!.clean });
    this.#part = outcome.part;
    return PART_REPLY;
  }

  #discardMade(): void {
    if (!this.#made) return;
    this.#made.vector.close();
    for (let i = 0; i < this.#made.acquired; i++) this.#envSlots.release();
    this.#made = null;
  }

  /** Returns the reply, or null for the silent requests. */
  #execute(request: Request): Reply | null {
    switch (request.kind) {
      case 'make': {
        const { spec, env } = makeEnv(withoutRenderSuffix(request.name), request.kwargs);
        // Replacing the connection's env keeps the count; a first env needs a free place.
        this.#replaceEnvs(1, () => env.close());
        this.#runner = new EnvRunner(spec, env, request.kwargs);
        this.#recording = { ...NOT_RECORDING, all: hasRenderSuffix(request.name) };
        this.#instance = this.#lastInstance = newInstanceId(this.#nodeId);
        this.#compression = 0;
        this.#lost = false;
        return valueReply('instance', 'instance', `"${this.#instance}"`);
      }
      case 'observationspace':
        return valueReply('space', 'info', toPyJson(this.#requireEnv().env.observationSpace.describe()));
      case 'actionspace':
        return valueReply('space', 'info', toPyJson(this.#requireEnv().env.actionSpace.describe()));
      case 'sample': {
        const runner = this.#requireEnv();
        return valueReply('sample', 'sample', runner.env.actionSpace.encode(runner.sampleAction()));
      }
      case 'reset': {
        const runner = this.#requireEnv();
        const { obs, info } = runner.reset(request.options);
        this.#frame = recordFrame(this.#recording, runner, true, false);
        return objectReply('observation', `{"observation": ${runner.env.observationSpace.encode(obs)}, "info": ${toPyJson(info)}}`);
      }
      case 'step': {
        const runner = this.#requireEnv();
        const r = runner.step(request.action);
        this.#episode = r.episode;
        this.#frame = recordFrame(this.#recording, runner, false, request.render);
        const done = r.terminated || r.truncated;
        return objectReply(
          'step',
          `{"observation": ${runner.env.observationSpace.encode(r.obs)}, "reward": ${pyFloat(r.reward)}, ` +
            `"done": ${done}, "info": ${toPyJson(r.info)}, "terminated": ${r.terminated}, "truncated": ${r.truncated}}`,
        );
      }
      case 'contains': {
        const env = this.#requireEnv().env;
        const space = request.space === 'action' ? env.actionSpace : env.observationSpace;
        return valueReply('member', 'member', String(space.contains(request.value)));
      }
      case 'render': {
        const rendered = this.#requireEnv().render(request.mode);
        return typeof rendered === 'string' ? valueReply('text', 'text', toPyJson(rendered)) : valueReply('frame', 'frame', frameJson(rendered));
      }
      case 'seed':
        this.#requireEnv().seed(request.seed);
        return null;
      case 'compression':
        this.#compression = request.level;
        return null;
      case 'record_episode_stats':
        if (this.#vector) this.#vector.recordEpisodeStatistics(request.enabled);
        else this.#requireEnv().recordEpisodeStatistics(request.enabled);
        return null;
      case 'close':
        if (!this.#vector) this.#requireEnv();
        this.close();
        return null;
      case 'vector_make': {
        if (request.numEnvs > this.#maxNumEnvs) {
          throw new ProtocolError('BAD_REQUEST', `num_envs ${request.numEnvs} is more than this server allows in one vector env (--max-num-envs ${this.#maxNumEnvs})`);
        }
        const plan = shardPlan(request.numEnvs, this.#sharding);
        if (plan !== null) {
          // Big enough to split over the worker threads: checked here (the id, its kwargs, a space a
          // shard can write in parts), made by the shards once the coordinator has them.
          const { env } = makeEnv(request.name, request.kwargs);
          const splittable = layoutOf(env.observationSpace as never) !== null;
          env.close();
          if (splittable) {
            this.#holding = true;
            return shardReply({ plan, total: request.numEnvs, encoding: request.encoding });
          }
        }
        const vector = VectorEnv.make(request.name, request.numEnvs, request.kwargs, request.autoreset, request.encoding);
        this.#replaceEnvs(vector.numEnvs, () => vector.close());
        this.#vector = vector;
        this.#instance = this.#lastInstance = newInstanceId(this.#nodeId);
        this.#compression = 0;
        this.#lost = false;
        return objectReply('vector', vector.madeReply(this.#instance));
      }
      case 'vector_reset':
      case 'vector_step':
      case 'vector_seed':
      case 'vector_sample':
      case 'vector_send':
      case 'vector_recv': {
        const json = vectorRequest(this.#requireVector(), request);
        return json === null ? null : objectReply('vector', json);
      }
      case 'url':
        if (this.#lastInstance === null) {
          throw new ProtocolError('NO_ENV', 'no environment has been created on this connection, so there is no recording');
        }
        return valueReply('url', 'url', toPyJson(`${this.#urlBase}/recordings/${this.#lastInstance}.mp4`));
      case 'monitor': {
        // Never answered; the front gets what it needs to keep the statistics (see MonitorRequest).
        const notice: MonitorRequest = {
          action: request.action,
          directory: request.directory,
          force: request.force,
          resume: request.resume,
          problem: request.problem,
          envId: this.#runner?.spec.id ?? null,
          videoEvery: request.action === 'start' ? (request.videoCallable ?? CAPPED_CUBIC) : 0,
        };
        // The schedule starts with the monitor (Gym's episode ids count from its start), and stops with it.
        if (request.action === 'start' && this.#runner) {
          this.#recording.videoEvery = notice.videoEvery;
          this.#recording.monitorEpisodes = 0;
        } else if (request.action === 'close') this.#recording.videoEvery = null;
        return objectReply('monitor', JSON.stringify(notice));
      }
    }
  }
}
