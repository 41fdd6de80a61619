import type { ShardOp } from '../protocol/session.js';
import type { WorkItem, WorkResult } from './work.js';

/** A snapshot of the session is asked for after this many requests, or this many bytes of them. */
const SNAPSHOT_EVERY_REQUESTS = 64;
const SNAPSHOT_EVERY_BYTES = 64 * 1024;

/** About what a logged line or op weighs (a `make` op holds its line; the other ops are a few bytes). */
function logBytes(entry: string | { op: ShardOp }): number {
  if (typeof entry === 'string') return entry.length;
  return 'make' in entry.op ? entry.op.make.line.length : 16;
}

/** The session state a front mirrors, used when the session cannot be rebuilt. */
export interface SessionMirror {
  compression: number;
  lastInstance: string | null;
  /** True when the session had an env: it then answers ENV_LOST. */
  hadEnv: boolean;
}

/**
 * What a front (a TCP connection, a REST env) keeps so that its session can be rebuilt if the worker
 * holding it dies: the last snapshot (null: the session as first made) and the request lines sent
 * since, of which the first `answered` are answered. The env worker snapshots a session right after
 * any request that would not replay the same (making an env, drawing OS entropy); this asks for one
 * every so often so the log stays short.
 */
export class SessionRecovery {
  /** Session.snapshot's JSON text, kept as it came. */
  #snapshot: string | null = null;
  #log: (string | { op: ShardOp })[] = [];
  #logBytes = 0;
  #answered = 0;
  #snapshotRequested = false;
  #initialised = false;
  /** False once a request of this session was lost with two workers: it is not rebuilt again. */
  #restorable = true;

  constructor(
    readonly conn: number,
    readonly urlBase: string,
    /** Whether the session's replies leave framed for the TCP wire (see WorkItem). */
    readonly frame: boolean,
    /**
     * The server's --node-id, for the instance ids the session makes (SessionInit). The REST front
     * names its envs itself (env-table.ts) and gives none.
     */
    readonly nodeId?: string,
  ) {}

  /** A request line is going to the worker. */
  sent(line: string): void {
    if (!this.#restorable) return;
    this.#log.push(line);
    this.#logBytes += logBytes(line);
  }

  /** A vector-shard op is going to the worker (src/server/vector-shards.ts); it is replayed like a line. */
  sentOp(op: ShardOp): void {
    if (!this.#restorable) return;
    this.#log.push({ op });
    this.#logBytes += logBytes({ op });
  }

  /** A result came back; returns a snapshot request for the front to send when one is due. */
  received(item: WorkItem, result: WorkResult): WorkItem | null {
    if ('snapshot' in item) {
      this.#snapshotRequested = false;
      if (result?.snapshot) this.#keep(result.snapshot);
      return null;
    }
    if (!('line' in item || 'shard' in item) || !this.#restorable) return null;
    this.#answered += 1;
    if (result?.snapshot) this.#keep(result.snapshot);
    else if (
      !this.#snapshotRequested &&
      // A vector env's snapshot is large (4,096 CartPoles: ~1.5 MB): not asked for before the log
      // has grown as large, so that snapshots cost at most about what the log they replace does. The
      // count rule is for small snapshots only: every 64 steps, 4,096 CartPoles' snapshots took ~0.6 ms
      // of the worker's ~5.8 ms per vector step (a profile of one base64 connection).
      ((this.#answered >= SNAPSHOT_EVERY_REQUESTS && (this.#snapshot?.length ?? 0) <= SNAPSHOT_EVERY_BYTES) ||
        this.#logBytes >= Math.max(SNAPSHOT_EVERY_BYTES, this.#snapshot?.length ?? 0))
    ) {
      this.#snapshotRequested = true;
      return { conn: this.conn, snapshot: true };
    }
    return null;
  }

  /** The item that creates the session on a worker: fresh the first time, rebuilt after a worker died. */
  initItem(mirror: SessionMirror): WorkItem {
    const fresh = { urlBase: this.urlBase, nodeId: this.nodeId, compression: 0, lastInstance: null, lost: false };
    if (!this.#initialised) {
      this.#initialised = true;
      return { conn: this.conn, init: fresh, frame: this.frame };
    }
    if (!this.#restorable) {
      return {
        conn: this.conn,
        init: { urlBase: this.urlBase, nodeId: this.nodeId, compression: mirror.compression, lastInstance: mirror.lastInstance, lost: mirror.hadEnv },
        frame: this.frame,
      };
    }
    return { conn: this.conn, init: fresh, frame: this.frame, restore: { snapshot: this.#snapshot, replay: this.#log.slice(0, this.#answered) } };
  }

  /** A request of this session was lost with two workers: stop keeping what it takes to rebuild it. */
  giveUp(): void {
    this.#restorable = false;
    this.#snapshot = null;
    this.#log = [];
    this.#logBytes = 0;
    this.#answered = 0;
  }

  #keep(snapshot: string): void {
    this.#snapshot = snapshot;
    for (const entry of this.#log.splice(0, this.#answered)) this.#logBytes -= logBytes(entry);
    this.#answered = 0;
  }
}
