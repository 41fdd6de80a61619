import type { ErrorCode } from '../protocol/errors.js';
import type { SessionInit, SessionReply } from '../protocol/session.js';

/**
 * What the main thread sends a worker: one entry per request or connection event, for many
 * connections at once (one task per worker per event-loop turn: see EnvPool).
 */
export type WorkItem =
  | { conn: number; line: string }
  | { conn: number; fail: ErrorCode; message: string }
  | { conn: number; init: SessionInit }
  | { conn: number; drop: true };

/** Per item, in order: the session's reply for `line`/`fail`, null for `init`/`drop`. */
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
}
