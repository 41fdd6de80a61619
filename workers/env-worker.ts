/**
 * Piscina worker: hosts the sessions (and so the environments) of the connections pinned to it, and
 * handles a batch of their requests per task. Everything per step happens here: JSON parsing,
 * validation, the simulation, encoding and compression.
 */
import { Session } from '../src/protocol/session.js';
import { performance } from 'node:perf_hooks';
import type { WorkBatch, WorkBatchResult, WorkResult } from '../src/pool/work.js';

const sessions = new Map<number, Session>();

export default function handleBatch({ items }: WorkBatch): WorkBatchResult {
  const start = performance.now();
  const results = new Array<WorkResult>(items.length);
  for (let i = 0; i < items.length; i++) {
    const item = items[i];
    if ('line' in item) {
      results[i] = sessionOf(item.conn).handle(item.line);
    } else if ('fail' in item) {
      results[i] = sessionOf(item.conn).fail(item.fail, item.message);
    } else if ('init' in item) {
      sessions.set(item.conn, new Session(item.init));
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
    session = new Session({ urlBase: '', compression: 0, lastInstance: null, lost: true });
    sessions.set(conn, session);
  }
  return session;
}
