/**
 * Piscina worker: hosts the sessions (and so the environments) of the connections pinned to it, and
 * handles a batch of their requests per task. Everything per step happens here: JSON parsing,
 * validation, the simulation, encoding and compression.
 */
import { performance } from 'node:perf_hooks';
import { workerData } from 'node:worker_threads';
import { EnvBudget } from '../src/pool/env-budget.js';
import type { WorkBatch, WorkBatchResult, WorkItem, WorkResult } from '../src/pool/work.js';
import { Session } from '../src/protocol/session.js';
import { NpRandom } from '../src/rng/index.js';

const sessions = new Map<number, Session>();
const budget = new EnvBudget((workerData as { envBudget: SharedArrayBuffer }).envBudget);
/** The slot this worker serves (from the batches it gets); its envs count against it. */
let slot = 0;
const envSlots = { tryAcquire: () => budget.tryAcquire(slot), release: () => budget.release(slot) };

export default function handleBatch({ items, slot: batchSlot }: WorkBatch): WorkBatchResult {
  const start = performance.now();
  slot = batchSlot;
  const results = new Array<WorkResult>(items.length);
  for (let i = 0; i < items.length; i++) results[i] = handleItem(items[i]);
  return { results, busyMs: performance.now() - start, sessions: sessions.size };
}

function handleItem(item: WorkItem): WorkResult {
  if ('line' in item) {
    const session = sessionOf(item.conn);
    const entropyBefore = NpRandom.entropyDraws;
    const instanceBefore = session.instance;
    const reply = session.handle(item.line);
    // Requests that drew OS entropy or made an env (a random id) would not replay the same: the
    // transport gets a snapshot taken right after them instead.
    if (NpRandom.entropyDraws !== entropyBefore || reply.instance !== instanceBefore) reply.snapshot = session.snapshot();
    return reply;
  }
  if ('fail' in item) return sessionOf(item.conn).fail(item.fail, item.message);
  if ('snapshot' in item) {
    const session = sessionOf(item.conn);
    return { out: null, compression: 0, instance: session.instance, snapshot: session.snapshot() };
  }
  if ('init' in item) {
    sessions.get(item.conn)?.close();
    let session: Session;
    if (item.restore) {
      session = item.restore.snapshot ? Session.restore(item.init.urlBase, item.restore.snapshot, envSlots) : new Session(item.init, envSlots);
      for (const line of item.restore.replay) session.handle(line);
    } else {
      session = new Session(item.init, envSlots);
    }
    sessions.set(item.conn, session);
    return null;
  }
  sessions.get(item.conn)?.close();
  sessions.delete(item.conn);
  return null;
}

function sessionOf(conn: number): Session {
  let session = sessions.get(conn);
  if (!session) {
    // The pool sends `init` before a connection's first request on a worker; should that ever be
    // missing, answer as for a lost environment rather than fail the whole batch.
    session = new Session({ urlBase: '', compression: 0, lastInstance: null, lost: true }, envSlots);
    sessions.set(conn, session);
  }
  return session;
}
