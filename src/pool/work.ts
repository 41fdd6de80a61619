import type { ErrorCode } from '../protocol/errors.js';
import type { SessionInit, SessionReply, SessionSnapshot } from '../protocol/session.js';

/**
 * What the main thread sends a worker: one entry per request or connection event, for many
 * connections at once (one task per worker per event-loop turn: see EnvPool).
 */
export type WorkItem =
  | { conn: number; line: string }
  | { conn: number; fail: ErrorCode; message: string }
  | { conn: number; init: SessionInit; restore?: SessionRestore }
  | { conn: number; snapshot: true }
  | { conn: number; drop: true };

/**
 * How to rebuild a session whose worker died: its last snapshot (null: a fresh session), then the
 * requests answered since, replayed with their replies discarded. Envs are deterministic given their
 * generators' state, which the snapshot holds, so the rebuilt session is the one the client knew.
 */
export interface SessionRestore {
  snapshot: SessionSnapshot | null;
  replay: string[];
}

/** Per item, in order: the session's reply for `line`/`fail`/`snapshot`, null for `init`/`drop`. */
export type WorkResult = SessionReply | null;

export interface WorkBatch {
  items: WorkItem[];
  /** The slot the batch is for; the worker counts its environments against it. */
  slot: number;
}

/** A worker's answer to a batch: a result per item, and how long the worker spent on it. */
export interface WorkBatchResult {
  results: WorkResult[];
  busyMs: number;
  /** Sessions the worker holds after the batch. */
  sessions: number;
}
