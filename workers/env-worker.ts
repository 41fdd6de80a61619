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
import type { ServeTask, WorkItem, WorkReply, WorkResult } from '../src/pool/work.js';
import { Session, type SessionReply } from '../src/protocol/session.js';
import { NpRandom } from '../src/rng/index.js';
import { frameReply } from '../src/server/framing.js';

const sessions = new Map<number, Session>();
/** Sessions whose replies leave framed for the TCP wire (the others are the REST front's). */
const framed = new Set<number>();
const budget = new EnvBudget((workerData as { envBudget: SharedArrayBuffer }).envBudget);
/** The slot this worker serves; its envs count against it. */
let slot = 0;
const envSlots = { tryAcquire: () => budget.tryAcquire(slot), release: () => budget.release(slot) };

/** Results are made visible at least this often while a long run of items is handled. */
const PUBLISH_EVERY = 4;

export default async function serve(task: ServeTask): Promise<void> {
  slot = task.slot;
  // Before the first item: the pool's start() waits for every worker's first answer, so this costs no client anything.
  await warmEnvFamilies();
  const channel = new WorkerChannel(task.channel);
  const { items, results, stats } = channel;
  for (;;) {
    let handled = 0;
    const start = performance.now();
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
      if (++handled % PUBLISH_EVERY === 0) {
        // Items are released before their results are visible: once the main thread has every
        // result, it may count on the whole ring being free.
        items.release();
        results.publish();
      }
    }
    if (handled > 0) {
      items.release();
      Atomics.add(stats, STAT_BUSY_MICROS, Math.round((performance.now() - start) * 1000));
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
  const { reply, command, compression, instance, episode, frame } = outcome;
  const result: WorkReply = { kind: null, code: null, command, out: null, valueStart: -1, valueEnd: -1, compression, instance, episode };
  // The renderer reuses its canvas for the next frame: the recording gets a copy of its own.
  if (frame) result.frame = { ...frame, data: frame.data.slice() };
  if (reply === null) return result;
  result.kind = reply.kind;
  result.code = reply.code;
  // A `monitor` notice is for the front, never for the wire: it is not framed.
  if (framed.has(conn) && reply.kind !== 'monitor') {
    result.out = frameReply(reply.json, compression);
  } else {
    result.out = reply.json;
    result.valueStart = reply.valueStart;
    result.valueEnd = reply.valueEnd;
  }
  return result;
}

function handleItem(item: WorkItem): WorkResult {
  if ('line' in item) {
    const session = sessionOf(item.conn);
    const entropyBefore = NpRandom.entropyDraws;
    const instanceBefore = session.instance;
    const result = toWorkReply(item.conn, session.handle(item.line));
    // Requests that drew OS entropy or made an env (a random id) would not replay the same: the
    // transport gets a snapshot taken right after them instead.
    if (NpRandom.entropyDraws !== entropyBefore || result.instance !== instanceBefore) result.snapshot = session.snapshot();
    return result;
  }
  if ('fail' in item) return toWorkReply(item.conn, sessionOf(item.conn).fail(item.fail, item.message));
  if ('snapshot' in item) {
    // A front may ask after its session was dropped (results still coming when it closed): there is
    // nothing to snapshot then, and no session to make.
    const session = sessions.get(item.conn);
    if (!session) return null;
    return { kind: null, code: null, command: null, out: null, valueStart: -1, valueEnd: -1, compression: 0, instance: session.instance, episode: null, snapshot: session.snapshot() };
  }
  if ('init' in item) {
    sessions.get(item.conn)?.close();
    sessions.delete(item.conn);
    if (item.frame) framed.add(item.conn);
    else framed.delete(item.conn);
    let session: Session;
    if (item.restore) {
      session = item.restore.snapshot ? Session.restore(item.init, item.restore.snapshot, envSlots) : new Session(item.init, envSlots);
      try {
        for (const line of item.restore.replay) session.handle(line);
      } catch (err) {
        // An env module still loading (EnvNotLoaded): the whole init runs again once it has loaded.
        session.close();
        throw err;
      }
    } else {
      session = new Session(item.init, envSlots);
    }
    sessions.set(item.conn, session);
    return null;
  }
  sessions.get(item.conn)?.close();
  sessions.delete(item.conn);
  framed.delete(item.conn);
  return null;
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
