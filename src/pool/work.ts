import type { ErrorCode } from '../protocol/errors.js';
import type { ChannelEnds } from './channel.js';
import type { SessionInit, SessionReply } from '../protocol/session.js';

/**
 * What the main thread sends a worker, through its channel: one entry per request or connection
 * event, each answered by one WorkResult in the order sent.
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
  /** Session.snapshot's JSON text. */
  snapshot: string | null;
  replay: string[];
}

/** Per item, in order: the session's reply for `line`/`fail`/`snapshot`, null for `init`/`drop`. */
export type WorkResult = SessionReply | null;

/** The one Piscina task each worker runs: serve this channel until the pool closes. */
export interface ServeTask {
  channel: ChannelEnds;
  /** The slot the worker serves; its environments count against it. */
  slot: number;
  /** How long the worker looks for more work before it sleeps (see EnvPoolOptions.spinMicros). */
  spinMicros: number;
}
