/**
 * Piscina worker: hosts the sessions (and so the environments) of the connections pinned to it. Its
 * one task serves a channel (see src/pool/channel.ts) until the pool closes: it takes items as the
 * main thread writes them, answers each, and sleeps only when there has been nothing for a while.
 * Everything per step happens here: JSON parsing, validation, the simulation, encoding, compression.
 */
import { performance } from 'node:perf_hooks';
import { workerData } from 'node:worker_threads';
import { STAT_BUSY_MICROS, STAT_SESSIONS, STAT_SPIN, STAT_SPUN_MICROS, STAT_STOP, WorkerChannel } from '../src/pool/channel.js';
import { EnvBudget } from '../src/pool/env-budget.js';
import { EnvNotLoaded } from '../src/envs/errors.js';
import { warmEnvFamilies } from '../src/envs/registry.js';
import { DEFERRED, type ServeTask, type WorkItem, type WorkReply, type WorkResult } from '../src/pool/work.js';
import { Session, type SessionReply, type ShardOp, type VectorSharding } from '../src/protocol/session.js';
import { NpRandom } from '../src/rng/index.js';
import { frameReply } from '../src/server/framing.js';
import { WorkerFigures } from '../src/pool/worker-figures.js';

const sessions = new Map<number, Session>();
/** Sessions whose replies leave framed for the TCP wire (the others are the REST front's). */
const framed = new Set<number>();
const { envBudget, maxNumEnvs, sharding } = workerData as { envBudget: SharedArrayBuffer; maxNumEnvs?: number; sharding?: VectorSharding };
const budget = new EnvBudget(envBudget);
/**
 * Sessions whose make was deferred (a costly part, prepared off this thread): their items are answered
 * `deferred` until the prepared make comes, and the pool sends them again after it, in order.
 */
const awaitingPrepared = new Set<number>();
/** The slot this worker serves; its envs count against it. */
let slot = 0;
const envSlots = { tryAcquire: () => budget.tryAcquire(slot), release: () => budget.release(slot) };
/** Step times and envs by id, for the metrics (set once the channel is served). */
let figures: WorkerFigures;

/** Results are made visible at least this often while a long run of items is handled. */
const PUBLISH_EVERY = 4;

export default async function serve(task: ServeTask): Promise<void> {
  slot = task.slot;
  // Before the first item: the pool's start() waits for every worker's first answer, so this costs no client anything.
  await warmEnvFamilies();
  const channel = new WorkerChannel(task.channel);
  const { items, results, stats } = channel;
  figures = new WorkerFigures(stats);
  for (;;) {
    let handled = 0;
    const start = performance.now();
    // One clock reading per item: a step's time is from the previous reading to the one after its result is written.
    let last = start;
    for (let item = channel.receive(); item !== null; item = channel.receive()) {
      let result: WorkResult;
      for (;;) {
        try {
          result = handleItem(item);
          break;
        } catch (err) {
          // An env family's code loads on first use (the registry); nothing was changed: wait, then again.
          if (!(err instanceof EnvNotLoaded)) throw err;
          await err.loading.catch(() => {});
        }
      }
      channel.send(result);
      const now = performance.now();
      if (result !== null && result.command === 'step') figures.step((now - last) * 1000);
      last = now;
      if (++handled % PUBLISH_EVERY === 0) {
        // Items are released before their results are visible: once the main thread has every
        // result, it may count on the whole ring being free.
        items.release();
        results.publish();
      }
    }
    if (handled > 0) {
      items.release();
      Atomics.add(stats, STAT_BUSY_MICROS, Math.round((last - start) * 1000));
      figures.flush();
      Atomics.store(stats, STAT_SESSIONS, sessions.size);
      results.publish();
    }
    if (Atomics.load(stats, STAT_STOP)) return;
    // Nothing to do. Look again for a while first: a sleeping thread takes tens of microseconds to
    // wake, more than a step costs, and a client in a closed loop sends its next step in about that.
    if (task.spinMicros > 0 && handled > 0 && Atomics.load(stats, STAT_SPIN)) {
      Atomics.add(stats, STAT_SPUN_MICROS, items.spinUntilReadable(task.spinMicros));
    }
    items.waitForRecords();
  }
}

/** The session's reply made ready for its front: framed for the TCP wire here, off the main thread (framing.ts says why). */
function toWorkReply(conn: number, outcome: SessionReply): WorkReply {
  const { reply, command, compression, instance, episode, frame, part } = outcome;
  if (outcome.deferred) {
    awaitingPrepared.add(conn);
    return DEFERRED;
  }
  const result: WorkReply = { kind: null, code: null, command, out: null, valueStart: -1, valueEnd: -1, compression, instance, episode };
  // The renderer reuses its canvas for the next frame: the recording gets a copy of its own.
  if (frame) result.frame = { ...frame, data: frame.data.slice() };
  if (reply === null) return result;
  result.kind = reply.kind;
  result.code = reply.code;
  // A shard's part goes as bytes, which the coordinator joins with the other shards' (shard-parts.ts).
  if (part) {
    result.out = part;
    return result;
  }
  // `monitor` and `shard` notices are for the front, never for the wire: they are not framed.
  if (framed.has(conn) && reply.kind !== 'monitor' && reply.kind !== 'shard' && reply.kind !== 'part') {
    result.out = frameReply(reply.json, compression);
  } else {
    result.out = reply.json;
    result.valueStart = reply.valueStart;
    result.valueEnd = reply.valueEnd;
  }
  return result;
}

function handleItem(item: WorkItem): WorkResult {
  if (('line' in item || 'fail' in item) && awaitingPrepared.has(item.conn)) return DEFERRED;
  if ('line' in item) return handleLine(item.conn, item.line, true);
  if ('shard' in item) return handleShardOp(item.conn, item.shard);
  if ('fail' in item) return toWorkReply(item.conn, sessionOf(item.conn).fail(item.fail, item.message));
  if ('prepared' in item) {
    awaitingPrepared.delete(item.conn);
    const { prepared } = item;
    if ('line' in prepared) return handleLine(item.conn, prepared.line, false);
    return toWorkReply(item.conn, sessionOf(item.conn).fail(prepared.code, prepared.message, 'make'));
  }
  if ('snapshot' in item) {
    // A front may ask after its session was dropped (results still coming when it closed): there is
    // nothing to snapshot then, and no session to make.
    const session = sessions.get(item.conn);
    if (!session) return null;
    return { kind: null, code: null, command: null, out: null, valueStart: -1, valueEnd: -1, compression: 0, instance: session.instance, episode: null, snapshot: session.snapshot() };
  }
  awaitingPrepared.delete(item.conn);
  if ('init' in item) {
    sessions.get(item.conn)?.close();
    sessions.delete(item.conn);
    figures.envChanged(item.conn, null);
    if (item.frame) framed.add(item.conn);
    else framed.delete(item.conn);
    let session: Session;
    if (item.restore) {
      session = item.restore.snapshot
        ? Session.restore(item.init, item.restore.snapshot, envSlots, maxNumEnvs, sharding)
        : new Session(item.init, envSlots, maxNumEnvs, sharding);
      try {
        for (const entry of item.restore.replay) {
          if (typeof entry === 'string') session.handle(entry);
          else session.shardOp(entry.op);
        }
      } catch (err) {
        // An env module still loading (EnvNotLoaded): the whole init runs again once it has loaded.
        session.close();
        throw err;
      }
    } else {
      session = new Session(item.init, envSlots, maxNumEnvs, sharding);
    }
    sessions.set(item.conn, session);
    figures.envChanged(item.conn, session.envId);
    return null;
  }
  sessions.get(item.conn)?.close();
  sessions.delete(item.conn);
  figures.envChanged(item.conn, null);
  framed.delete(item.conn);
  return null;
}

/** A request line; `mayDefer`: a make with a costly part is answered `deferred` instead of run (Session.handle). */
function handleLine(conn: number, line: string, mayDefer: boolean): WorkResult {
  const session = sessionOf(conn);
  const entropyBefore = NpRandom.entropyDraws;
  const instanceBefore = session.instance;
  const result = toWorkReply(conn, session.handle(line, mayDefer));
  // Requests that drew OS entropy or made an env (a random id) would not replay the same: the
  // transport gets a snapshot taken right after them instead.
  if (!result.deferred && (NpRandom.entropyDraws !== entropyBefore || result.instance !== instanceBefore)) result.snapshot = session.snapshot();
  if (!result.deferred && result.instance !== instanceBefore) figures.envChanged(conn, session.envId);
  return result;
}

/** The vector-shard coordinator's op (ShardOp); a shard whose slice was made is snapshotted, as after a make line. */
function handleShardOp(conn: number, op: ShardOp): WorkResult {
  const session = sessionOf(conn);
  const instanceBefore = session.instance;
  const result = toWorkReply(conn, session.shardOp(op));
  if (result.instance !== instanceBefore) {
    result.snapshot = session.snapshot();
    figures.envChanged(conn, session.envId);
  }
  return result;
}

function sessionOf(conn: number): Session {
  let session = sessions.get(conn);
  if (!session) {
    // The pool sends `init` before a connection's first request on a worker; should that ever be
    // missing, answer as for a lost environment rather than fail the worker.
    session = new Session({ urlBase: '', compression: 0, lastInstance: null, lost: true }, envSlots);
    sessions.set(conn, session);
  }
  return session;
}
