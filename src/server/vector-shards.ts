/**
 * A connection's vector env split over the worker threads (docs/vector.md, "Shards"). A vector env
 * of thousands of sub-envs is stepped by one thread at ~2–3M env-steps per CPU second; split into
 * shards, each on its own worker, its sub-envs step at the same time on every core. The connection's
 * own session holds shard 0 (the lead); the others are sessions of their own on other slots.
 *
 * This coordinator, on the main thread, takes the connection's lines one at a time. Each line goes
 * to every shard, which checks it (changing nothing) or skips it; when all passed, each is told to
 * run it (`go`), and their parts are joined into the one reply (shard-parts.ts): a request that
 * fails anywhere changes no sub-env, as on one thread. `send` returns at once and its shards step in
 * the background; `recv` waits until enough of them finished, in the order they did (EnvPool's model).
 * Lines the lead answers alone (a single env's requests, `url`, `sample`, …) pass through.
 *
 * The coordinator exists from the lead's plan (its answer to a big `vector.make`) until the
 * connection holds no split vector env and nothing is left in its queue; the connection then sends
 * lines to its session directly again.
 *
 * Longer than 400 lines on purpose: the queue, the two phases, the make, send/recv's bookkeeping and
 * the loss of a shard all move one state machine; its parts joining is apart (shard-parts.ts).
 */
import type { EnvPool, ResultSink } from '../pool/env-pool.js';
import { SessionRecovery } from '../pool/session-recovery.js';
import type { WorkItem, WorkResult } from '../pool/work.js';
import type { ErrorCode } from '../protocol/errors.js';
import { errorReply } from '../protocol/reply.js';
import type { RequestKind } from '../protocol/schema.js';
import type { ShardOp } from '../protocol/session.js';
import { joinParts, readParts, type Part } from '../vector/shard-parts.js';
import { NOTHING_PENDING, recvTooMany } from '../vector/vector-env.js';
import type { Encoding } from '../vector/batch.js';
import { frameReply, REPLY_TERMINATOR } from './framing.js';

const TERMINATOR = Buffer.from(REPLY_TERMINATOR, 'latin1');

/** What the coordinator needs of its connection. */
export interface ShardHost {
  readonly id: number;
  readonly slot: number;
  readonly pool: EnvPool;
  readonly urlBase: string;
  readonly nodeId: string;
  /** Sends an item to the connection's own session (the lead), logged for its recovery. */
  sendLead(item: WorkItem): void;
  /** One reply to the client, for the oldest line not yet answered. */
  answer(result: NonNullable<WorkResult>): void;
  /** The coordinator is done: lines go to the session directly again. */
  detach(): void;
}

type Entry = { line: string } | { fail: ErrorCode; message: string } | { answer: NonNullable<WorkResult> };
type Callback = (result: NonNullable<WorkResult>) => void;

/** One shard's line to its session: the lead's through the connection, the others' their own sinks. */
interface ShardLink {
  /** The session's id (the lead's: the connection's). */
  readonly conn: number;
  send(item: WorkItem, then: Callback): void;
  /** Ends the session (not the lead's: that is the connection's). */
  end(): void;
}

/** A shard's word (a `shard` reply's JSON). */
interface ShardWord {
  held?: true;
  skip?: true;
  done?: true;
  part?: true;
  plan?: { offset: number; count: number }[];
  total?: number;
  encoding?: Encoding;
  ready?: RequestKind;
  count?: number;
  error?: { code: ErrorCode; message: string };
  order?: number;
  recv?: number | null;
  sent?: number;
  clean?: boolean;
}

const word = (result: NonNullable<WorkResult>): ShardWord =>
  result.kind === 'shard' && result.out !== null ? (JSON.parse(typeof result.out === 'string' ? result.out : Buffer.from(result.out).toString('utf8')) as ShardWord) : {};

/** A shard other than the lead: a session of its own, on another slot, rebuilt like a connection's if its worker dies. */
class ShardSink implements ResultSink, ShardLink {
  readonly front = null;
  sessionGeneration = -1;
  readonly #recovery: SessionRecovery;
  readonly #callbacks: Callback[] = [];
  #ended = false;

  constructor(
    readonly conn: number,
    readonly slot: number,
    readonly pool: EnvPool,
    urlBase: string,
    nodeId: string,
    readonly onLost: () => void,
  ) {
    this.#recovery = new SessionRecovery(conn, urlBase, false, nodeId);
  }

  send(item: WorkItem, then: Callback): void {
    if (this.#ended) return;
    if ('line' in item) this.#recovery.sent(item.line);
    else if ('shard' in item) this.#recovery.sentOp(item.shard);
    this.#callbacks.push(then);
    this.pool.send(this.slot, item, this);
  }

  deliver(result: WorkResult, item: WorkItem): void {
    const snapshotRequest = this.#recovery.received(item, result);
    if (snapshotRequest && !this.#ended) this.pool.send(this.slot, snapshotRequest, this);
    if (result === null || 'snapshot' in item) return;
    this.#callbacks.shift()?.(result);
  }

  workerLost(item: WorkItem): void {
    this.#recovery.giveUp();
    if (!('line' in item || 'shard' in item)) return;
    this.#callbacks.length = 0;
    if (!this.#ended) this.onLost();
  }

  sessionInit(): WorkItem {
    return this.#recovery.initItem({ compression: 0, lastInstance: null, hadEnv: true });
  }

  end(): void {
    if (this.#ended) return;
    this.#ended = true;
    this.#callbacks.length = 0;
    this.pool.endSession(this.slot, this.conn, this, true);
  }
}

export class VectorShards {
  /** shards[0] is the lead; one shard: the connection's vector env is not split (or no longer). */
  #shards: ShardLink[];
  readonly #leadCallbacks: Callback[] = [];
  /** Lines sent to the lead before the plan came back, whose answers (held, or final) come first. */
  #heldExpected: number;
  readonly #held: Entry[] = [];
  readonly #queue: Entry[] = [];
  #busy = false;
  /** Moves on when the entry being handled is abandoned (a shard lost), so that late answers to it are dropped. */
  #entry = 0;
  #encoding: Encoding = 'json';
  /** send/recv: sub-envs sent and not yet received; finished ones by shard, in the order they finished. */
  #sentPending = 0;
  #finished: { shard: number; count: number }[] = [];
  #finishedTotal = 0;
  #recvWaiting: (() => void) | null = null;
  /** Each shard's VectorEnv.clean after its last request: when all are, steps and resets go in one phase. */
  #clean: boolean[] = [];
  /** The lead's last word on the connection's env and compression (a reply the coordinator writes carries them). */
  #instance: string | null;
  #compression: number;
  /** The connection closed: a session sent anything after its drop would be made again, and kept. */
  #closed = false;

  /** Made by the lead's plan for `makeLine`; `heldExpected` lines were sent to the lead after it. */
  constructor(
    readonly host: ShardHost,
    plan: NonNullable<WorkResult>,
    makeLine: string,
    heldExpected: number,
  ) {
    this.#shards = [this.#leadLink()];
    this.#heldExpected = heldExpected;
    this.#instance = plan.instance;
    this.#compression = plan.compression;
    this.#busy = true;
    void this.#remake(word(plan), makeLine, ++this.#entry);
  }

  /** A line the client sent (or a line the receiver refused: `fail`). */
  push(entry: { line: string } | { fail: ErrorCode; message: string }): void {
    this.#queue.push(entry);
    this.#next();
  }

  /** A result of the connection's own session. */
  leadResult(result: NonNullable<WorkResult>, item: WorkItem): void {
    this.#instance = result.instance;
    this.#compression = result.compression;
    if (this.#heldExpected > 0) {
      // An answer to a line sent before the plan came back (they come first): the lead held it, to
      // run now, or answered it (a line the receiver refused).
      this.#heldExpected -= 1;
      this.#held.push(word(result).held && 'line' in item ? { line: item.line } : { answer: result });
      return this.#next();
    }
    this.#leadCallbacks.shift()?.(result);
    if (!this.#busy) this.#next();
  }

  /** A lead item was lost with two workers: what was being handled is answered ENV_LOST, and a split vector env is gone. */
  leadLost(): void {
    this.#leadCallbacks.length = 0;
    this.#lose();
  }

  /** The connection closed: every shard session is ended (the lead's with the connection), and nothing more is sent. */
  close(): void {
    this.#closed = true;
    for (const shard of this.#shards.slice(1)) shard.end();
    this.#shards = this.#shards.slice(0, 1);
  }

  #leadLink(): ShardLink {
    return {
      conn: this.host.id,
      send: (item, then) => {
        if (this.#closed) return;
        this.#leadCallbacks.push(then);
        this.host.sendLead(item);
      },
      end: () => {},
    };
  }

  #next(): void {
    while (!this.#busy) {
      let entry: Entry | undefined;
      if (this.#held.length > 0) entry = this.#held.shift();
      else if (this.#heldExpected > 0) return;
      else entry = this.#queue.shift();
      if (entry === undefined) {
        // Nothing split and nothing of the coordinator's at the lead: lines go to it directly again.
        if (this.#shards.length === 1 && this.#leadCallbacks.length === 0) this.host.detach();
        return;
      }
      if ('answer' in entry) {
        this.host.answer(entry.answer);
        continue;
      }
      this.#busy = true;
      void this.#run(entry, ++this.#entry);
    }
  }

  #done(entry: number): void {
    if (entry !== this.#entry) return;
    this.#busy = false;
    this.#next();
  }

  /** Sends an item to every shard; resolves with their answers, in shard order. */
  #all(item: (shard: number) => WorkItem | null): Promise<(NonNullable<WorkResult> | null)[]> {
    return new Promise((resolve) => {
      if (this.#closed) return;
      const results: (NonNullable<WorkResult> | null)[] = new Array(this.#shards.length).fill(null);
      let left = 0;
      this.#shards.forEach((shard, s) => {
        const it = item(s);
        if (it === null) return;
        left += 1;
        shard.send(it, (result) => {
          results[s] = result;
          if (--left === 0) resolve(results);
        });
      });
      if (left === 0) resolve(results);
    });
  }

  #op(op: ShardOp, which: (s: number) => boolean = () => true) {
    return this.#all((s) => (which(s) ? { conn: this.#shards[s].conn, shard: op } : null));
  }

  async #run(entry: { line: string } | { fail: ErrorCode; message: string }, id: number): Promise<void> {
    const conn = (s: number) => this.#shards[s].conn;
    if ('fail' in entry) {
      const [lead] = await this.#all((s) => (s === 0 ? { conn: this.host.id, fail: entry.fail, message: entry.message } : null));
      if (id !== this.#entry) return;
      this.host.answer(lead!);
      return this.#done(id);
    }
    // Every shard clean: a step or reset passes or fails alike on each, so each checks it whole and
    // runs it at once (ShardOp `fast`), one trip to the workers instead of two.
    const fast = this.#shards.length > 1 && this.#clean.length === this.#shards.length && this.#clean.every(Boolean);
    const checks = await this.#all((s) => (fast ? { conn: conn(s), shard: { fast: entry.line } } : { conn: conn(s), line: entry.line }));
    if (id !== this.#entry) return;
    const lead = checks[0]!;
    if (lead.kind === 'part') {
      this.#answerParts(checks, null);
      return this.#done(id);
    }
    if (lead.kind !== 'shard') {
      // The lead's own answer; a make or close that went through leaves no split vector env.
      this.host.answer(lead);
      if (this.#shards.length > 1 && lead.kind !== 'error' && (lead.command === 'make' || lead.command === 'vector_make' || lead.command === 'close')) this.#unsplit();
      return this.#done(id);
    }
    const said = word(lead);
    if (said.plan) return this.#remake(said, entry.line, id);
    if (said.recv !== undefined) return this.#recv(said.recv, id);
    const words = checks.map((r) => word(r!));
    const failed = words
      .map((w, s) => ({ w, s }))
      .filter(({ w }) => w.error)
      .sort((a, b) => a.w.order! - b.w.order! || a.s - b.s)[0];
    if (failed) {
      await this.#op({ abort: true }, (s) => words[s].ready !== undefined);
      if (id !== this.#entry) return;
      this.#answerError(failed.w.error!.code, failed.w.error!.message, said.ready ?? null);
      return this.#done(id);
    }
    if (said.ready === 'vector_send') {
      const counts = words.map((w) => w.count ?? 0);
      this.#sentPending += counts.reduce((a, b) => a + b, 0);
      this.#shards.forEach((shard, s) => {
        if (counts[s] === 0) {
          // Nothing of this send is the shard's; its check still waits for a go or an abort.
          shard.send({ conn: conn(s), shard: { abort: true } }, () => {});
          return;
        }
        // Pending steps: not clean until they are received.
        this.#clean[s] = false;
        shard.send({ conn: conn(s), shard: { go: true } }, (result) => {
          const sent = word(result).sent ?? 0;
          this.#clean[s] = word(result).clean === true;
          this.#finished.push({ shard: s, count: sent });
          this.#finishedTotal += sent;
          this.#recvWaiting?.();
        });
      });
      this.#answerSilent('vector_send');
      return this.#done(id);
    }
    const parts = await this.#op({ go: true });
    if (id !== this.#entry) return;
    this.#answerParts(parts, said.ready ?? 'vector_step');
    this.#done(id);
  }

  /** The lead's plan for a vector make: each shard makes its slice, and all swap them in only if every one could. */
  async #remake(said: ShardWord, line: string, id: number): Promise<void> {
    const plan = said.plan!;
    const old = this.#shards.length;
    const pool = this.host.pool;
    for (let s = old; s < plan.length; s++) {
      const slot = (this.host.slot + s) % pool.workerCount;
      this.#shards.push(new ShardSink(pool.allocateSessionId(), slot, pool, this.host.urlBase, this.host.nodeId, () => this.#lose()));
    }
    const conn = (s: number) => this.#shards[s].conn;
    const made = await this.#all((s) =>
      s < plan.length ? { conn: conn(s), shard: { make: { line, index: s, offset: plan[s].offset, count: plan[s].count, total: said.total! } } } : null,
    );
    if (id !== this.#entry) return;
    const words = made.map((r) => (r === null ? null : word(r)));
    const failed = words.findIndex((w) => w?.error);
    if (failed >= 0) {
      await this.#op({ abort: true }, (s) => words[s]?.ready !== undefined);
      if (id !== this.#entry) return;
      for (const shard of this.#shards.splice(Math.max(old, 1))) shard.end();
      this.#answerError(words[failed]!.error!.code, words[failed]!.error!.message, 'vector_make');
      return this.#done(id);
    }
    const gone = await this.#all((s) => (s < plan.length ? { conn: conn(s), shard: { go: true } } : null));
    if (id !== this.#entry) return;
    // Shards of the old vector env beyond the new one's go with their slices.
    for (const shard of this.#shards.splice(plan.length)) shard.end();
    this.#sentPending = this.#finishedTotal = 0;
    this.#finished = [];
    // Freshly made: every sub-env needs its first reset.
    this.#clean = new Array<boolean>(plan.length).fill(false);
    this.#encoding = said.encoding ?? 'json';
    this.host.answer(gone[0]!);
    this.#done(id);
  }

  /** `recv`: waits until `batchSize` sent sub-envs finished, takes them from their shards and joins them in finishing order. */
  async #recv(batchSize: number | null, id: number): Promise<void> {
    if (this.#sentPending === 0) {
      this.#answerError('BAD_REQUEST', NOTHING_PENDING, 'vector_recv');
      return this.#done(id);
    }
    const k = batchSize ?? this.#sentPending;
    if (k > this.#sentPending) {
      this.#answerError('BAD_REQUEST', recvTooMany(k, this.#sentPending), 'vector_recv');
      return this.#done(id);
    }
    while (this.#finishedTotal < k) await new Promise<void>((resolve) => (this.#recvWaiting = resolve));
    this.#recvWaiting = null;
    if (id !== this.#entry) return;
    // The first k finished, by shard: each shard gives its chunks in order, which are then interleaved as they finished.
    const order: { shard: number; count: number }[] = [];
    for (let left = k; left > 0; ) {
      const head = this.#finished[0];
      const count = Math.min(head.count, left);
      order.push({ shard: head.shard, count });
      left -= count;
      if (count === head.count) this.#finished.shift();
      else head.count -= count;
    }
    this.#finishedTotal -= k;
    this.#sentPending -= k;
    const chunks = this.#shards.map((_, s) => order.filter((o) => o.shard === s).map((o) => o.count));
    const taken = await this.#all((s) => (chunks[s].length > 0 ? { conn: this.#shards[s].conn, shard: { take: chunks[s] } } : null));
    if (id !== this.#entry) return;
    const byShard = taken.map((r) => (r !== null && r.kind === 'part' && r.out !== null && typeof r.out !== 'string' ? readParts(r.out) : []));
    byShard.forEach((parts, s) => parts.length > 0 && (this.#clean[s] = parts[parts.length - 1].header.clean));
    const parts = order.map((o) => byShard[o.shard].shift()!);
    if (parts.some((p) => p === undefined)) {
      this.#answerError('ENV_FAILED', 'a shard did not give the steps it finished', 'vector_recv');
      return this.#done(id);
    }
    this.#answerJoined(parts, 'recv', 'vector_recv');
    this.#done(id);
  }

  /** A step's or reset's parts, one result per shard, joined into the client's reply (`command`: null, read from the parts). */
  #answerParts(results: (NonNullable<WorkResult> | null)[], command: RequestKind | null): void {
    const parts: Part[] = [];
    for (const [s, result] of results.entries()) {
      if (result === null || result.kind !== 'part' || result.out === null || typeof result.out === 'string') {
        // A shard that failed while running (or, a one-phase request, refused it: every shard alike).
        const said = result === null ? {} : word(result);
        return this.#answerError(said.error?.code ?? 'ENV_FAILED', said.error?.message ?? 'a shard of this vector env did not answer its part', command);
      }
      const own = readParts(result.out);
      this.#clean[s] = own[own.length - 1].header.clean;
      parts.push(...own);
    }
    // A reset's parts hold observations alone; a step's also rewards and flags.
    const kind = parts[0].header.lens.length === 1 ? 'reset' : 'step';
    this.#answerJoined(parts, kind, command ?? (kind === 'reset' ? 'vector_reset' : 'vector_step'));
  }

  #answerJoined(parts: readonly Part[], kind: 'reset' | 'step' | 'recv', command: RequestKind): void {
    this.host.pool.countAnswer('tcp', command, null);
    // Uncompressed (the usual), the parts are joined with their terminator in one copy, never a string.
    const out =
      this.#compression === 0
        ? joinParts(parts, kind, this.#encoding, TERMINATOR)
        : frameReply(joinParts(parts, kind, this.#encoding).toString('utf8'), this.#compression);
    this.host.answer(this.#result('vector', null, command, out));
  }

  #answerError(code: ErrorCode, message: string, command: RequestKind | null): void {
    this.host.pool.countAnswer('tcp', command ?? 'invalid', code);
    this.host.answer(this.#result('error', code, command, frameReply(errorReply(code, message).json, this.#compression)));
  }

  #answerSilent(command: RequestKind): void {
    this.host.pool.countAnswer('tcp', command, null);
    this.host.answer(this.#result(null, null, command, null));
  }

  #result(kind: 'vector' | 'error' | null, code: ErrorCode | null, command: RequestKind | null, out: string | Uint8Array | null): NonNullable<WorkResult> {
    return { kind, code, command, out, valueStart: -1, valueEnd: -1, compression: this.#compression, instance: this.#instance, episode: null };
  }

  /** The connection's vector env is no longer split: the other shards' sessions end. */
  #unsplit(): void {
    for (const shard of this.#shards.splice(1)) shard.end();
    this.#sentPending = this.#finishedTotal = 0;
    this.#finished = [];
  }

  /** A shard's worker was lost for good: the line being handled is answered ENV_LOST, and the split vector env is gone. */
  #lose(): void {
    const lost = this.#instance;
    if (this.#shards.length > 1) {
      this.#unsplit();
      // The lead drops its slice (and answers ENV_LOST from now on, as a session whose worker died).
      this.#shards[0].send({ conn: this.host.id, shard: { lost: true } }, () => {});
    }
    this.#recvWaiting = null;
    if (this.#busy) {
      this.#entry += 1;
      this.#busy = false;
      this.#answerError('ENV_LOST', `a worker thread holding part of vector env ${lost ?? ''} stopped while answering; create a new one`, null);
    }
    this.#next();
  }
}
