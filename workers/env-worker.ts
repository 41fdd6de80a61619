/**
 * Piscina worker: hosts the sessions (and so the environments) of the connections pinned to it, and
 * handles a batch of their requests per task. Everything per step happens here: JSON parsing,
 * validation, the simulation, encoding and compression.
 */
import { Session } from '../src/protocol/session.js';
import { performance } from 'node:perf_hooks';
import { workerData } from 'node:worker_threads';
import { EnvBudget } from '../src/pool/env-budget.js';
import type { WorkBatch, WorkBatchResult, WorkResult } from '../src/pool/work.js';

const sessions = new Map<number, Session>();
const budget = new EnvBudget((workerData as { envBudget: SharedArrayBuffer }).envBudget);
/** The slot this worker serves (from the batches it gets); its envs count against it. */
let slot = 0;
const envSlots = { tryAcquire: () => budget.tryAcquire(slot), release: () => budget.release(slot) };

export default function handleBatch({ items, slot: batchSlot }: WorkBatch): WorkBatchResult {
  const start = performance.now();
  slot = batchSlot;
  const results = new Array<WorkResult>(items.length);
  for (let i = 0; i < items.length; i++) {
    const item = items[i];
    if ('line' in item) {
      results[i] = sessionOf(item.conn).handle(item.line);
    } else if ('fail' in item) {
      results[i] = sessionOf(item.conn).fail(item.fail, item.message);
    } else if ('init' in item) {
      sessions.set(item.conn, new Session(item.init, envSlots));
      results[i] = null;
    } else {
      sessions.get(item.conn)?.close();
      sessions.delete(item.conn);
      results[i] = null;
    }
  }
  return { results, busyMs: performance.now() - start };
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
