import type { EpisodeStats } from '../envs/runner.js';
import type { ErrorCode } from '../protocol/errors.js';
import type { ReplyKind } from '../protocol/reply.js';
import type { RequestKind } from '../protocol/schema.js';
import type { SessionInit, ShardOp } from '../protocol/session.js';
import type { RecordedFrame } from '../protocol/episode-recording.js';
import type { ChannelEnds } from './channel.js';

/**
 * What the main thread sends a worker, through its channel: one entry per request or connection
 * event, each answered by one WorkResult in the order sent.
 */
export type WorkItem =
  | { conn: number; line: string }
  | { conn: number; fail: ErrorCode; message: string }
  /** `frame`: the session's replies leave framed for the TCP wire (src/server/framing.ts); else as JSON text. */
  | { conn: number; init: SessionInit; frame: boolean; restore?: SessionRestore }
  | { conn: number; snapshot: true }
  | { conn: number; drop: true }
  /** A make the worker deferred (`deferred` result), prepared: the line to run in its place, or its error. */
  | { conn: number; prepared: PreparedMake }
  /** The vector-shard coordinator's op to a shard session (src/server/vector-shards.ts). */
  | { conn: number; shard: ShardOp };

/**
 * What the preparation pool made of a deferred make: a make line with the costly part done (e.g. the
 * generated map as `desc`), or the error the make fails with.
 */
export type PreparedMake = { line: string } | { code: ErrorCode; message: string };

/**
 * How to rebuild a session whose worker died: its last snapshot (null: a fresh session), then the
 * requests answered since, replayed with their replies discarded. Envs are deterministic given their
 * generators' state, which the snapshot holds, so the rebuilt session is the one the client knew.
 */
export interface SessionRestore {
  /** Session.snapshot's JSON text. */
  snapshot: string | null;
  /** Request lines, and the ops a shard session was given, in order. */
  replay: (string | { op: ShardOp })[];
}

/** A session's answer to one item, as the main thread receives it (a SessionReply with its reply made ready for the front). */
export interface WorkReply {
  /** The reply's kind; null for a silent request (and for a `snapshot` item). */
  kind: ReplyKind | null;
  /** The error code of an `error` reply. */
  code: ErrorCode | null;
  /** What the request was, for the stats; null when the line was not a request (and for a `snapshot` item). */
  command: RequestKind | null;
  /** The reply as its front takes it: framed bytes for a TCP session, the JSON text otherwise (a `shard` reply: its JSON, or a shard's part); null when silent. */
  out: string | Uint8Array | null;
  /** Where the reply's one value sits in an unframed `out` (see Reply); -1 when it has none, or `out` is framed. */
  valueStart: number;
  valueEnd: number;
  /** The compression level after this request. */
  compression: number;
  /** The session's env instance id after this request, or null. */
  instance: string | null;
  /** Set when the request was a step that ended an episode. */
  episode: EpisodeStats | null;
  /** The session's state after this request as JSON text, when the worker took one (see the env worker). */
  snapshot?: string;
  /**
   * The item was not handled: a make with a costly part (the pool has it prepared, then sends the
   * prepared make), or an item of a session that waits for one (the pool sends it again after it).
   */
  deferred?: true;
  /**
   * The frame the request recorded (a rendered step or reset), its bytes copied off the renderer's
   * canvas into a buffer of their own, which crosses to the main thread transferred, not copied.
   */
  frame?: RecordedFrame;
}

/** The one `deferred` result: the worker answers it, the channel reads it back (it carries nothing else). */
export const DEFERRED: Readonly<WorkReply> = Object.freeze({
  kind: null,
  code: null,
  command: null,
  out: null,
  valueStart: -1,
  valueEnd: -1,
  compression: 0,
  instance: null,
  episode: null,
  deferred: true,
});

/** Per item, in order: the session's reply for `line`/`fail`/`snapshot`, null for `init`/`drop`. */
export type WorkResult = WorkReply | null;

/** The one Piscina task each worker runs: serve this channel until the pool closes. */
export interface ServeTask {
  channel: ChannelEnds;
  /** The slot the worker serves; its environments count against it. */
  slot: number;
  /** How long the worker looks for more work before it sleeps (see EnvPoolOptions.spinMicros). */
  spinMicros: number;
}
