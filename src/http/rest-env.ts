/**
 * One environment made over REST: a pool session of its own (no TCP connection behind it), pinned to a
 * worker slot, driven with the same protocol lines a TCP client sends. The pool keeps each session's
 * items in order, so this sink's replies arrive in the order its requests were sent: a FIFO of
 * waiting requests is all the matching needed.
 */
import type { EnvPool, ResultSink } from '../pool/env-pool.js';
import { SessionRecovery } from '../pool/session-recovery.js';
import type { WorkItem, WorkResult } from '../pool/work.js';
import type { ErrorCode } from '../protocol/errors.js';
import { REPLY_TERMINATOR } from '../protocol/sender.js';
import type { EpisodeMonitor } from './monitor.js';

/** A protocol reply: its JSON text (null for the silent requests), or the error it carried. */
export type ProtocolReply = { json: string | null; error: null } | { json: null; error: { code: ErrorCode; message: string } };

interface Waiting {
  resolve: (reply: ProtocolReply) => void;
  /** Runs, in order, when the reply arrives (the monitor's bookkeeping). */
  observe?: (reply: ProtocolReply) => void;
  /** settled() callers waiting for this request. */
  then?: (() => void)[];
}

const ERROR_PREFIX = '{"error": ';

export class RestEnv implements ResultSink {
  sessionGeneration = -1;
  readonly conn: number;
  readonly slot: number;
  /** Date.now() of the last request started or answered: the idle timeout counts from it. */
  lastUsed = Date.now();
  /** The monitor recording this env's episodes, if monitor/start was called. */
  monitor: EpisodeMonitor | null = null;
  /** True once the env could not be rebuilt after its worker stopped: every env request answers ENV_LOST. */
  lost = false;
  readonly #queue: Waiting[] = [];
  /** What it takes to rebuild the session if its worker dies (as a TCP connection's). */
  readonly #recovery: SessionRecovery;
  #closed = false;

  constructor(
    /** The REST instance_id. */
    readonly id: string,
    /** The env id as the client sent it (`FrozenLake-v0` stays `FrozenLake-v0` in listings). */
    readonly envId: string,
    readonly pool: EnvPool,
  ) {
    this.conn = pool.allocateSessionId();
    this.slot = pool.assignSlot();
    this.#recovery = new SessionRecovery(this.conn, '');
  }

  /** Requests sent and not yet answered. */
  get pending(): number {
    return this.#queue.length;
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Sends one protocol line; resolves with its reply, never rejects. */
  request(line: string, observe?: (reply: ProtocolReply) => void): Promise<ProtocolReply> {
    this.lastUsed = Date.now();
    if (this.#closed) {
      return Promise.resolve({ json: null, error: { code: 'NO_ENV', message: `environment ${this.id} is closed` } });
    }
    return new Promise((resolve) => {
      this.#queue.push({ resolve, observe });
      this.#recovery.sent(line);
      this.pool.send(this.slot, { conn: this.conn, line }, this);
    });
  }

  /** Resolves once every request sent so far is answered. */
  settled(): Promise<void> {
    const last = this.#queue[this.#queue.length - 1];
    if (!last) return Promise.resolve();
    return new Promise((resolve) => (last.then ??= []).push(resolve));
  }

  sessionInit(): WorkItem {
    return this.#recovery.initItem({ compression: 0, lastInstance: this.id, hadEnv: true });
  }

  deliver(result: WorkResult, item: WorkItem): void {
    const snapshotRequest = this.#recovery.received(item, result);
    if (snapshotRequest) this.pool.send(this.slot, snapshotRequest, this);
    if (!('line' in item)) return; // init, drop and snapshot requests carry no reply
    let reply: ProtocolReply;
    if (result === null || result.out === null) {
      reply = { json: null, error: null };
    } else {
      // Compression is never turned on for REST sessions: replies are text.
      const text = typeof result.out === 'string' ? result.out : Buffer.from(result.out).toString('utf8');
      const json = text.endsWith(REPLY_TERMINATOR) ? text.slice(0, -REPLY_TERMINATOR.length) : text;
      if (json.startsWith(ERROR_PREFIX)) {
        const { code, message } = (JSON.parse(json) as { error: { code: ErrorCode; message: string } }).error;
        if (code === 'ENV_LOST') this.lost = true;
        reply = { json: null, error: { code, message } };
      } else {
        reply = { json, error: null };
      }
    }
    this.#answer(reply);
  }

  workerLost(item: WorkItem): void {
    this.#recovery.giveUp();
    if (!('line' in item)) return;
    this.lost = true;
    this.#answer({
      json: null,
      error: { code: 'ENV_LOST', message: `the worker thread holding environment ${this.id} stopped while answering` },
    });
  }

  #answer(reply: ProtocolReply): void {
    const waiting = this.#queue.shift();
    if (!waiting) return;
    this.lastUsed = Date.now();
    try {
      waiting.observe?.(reply);
    } catch {
      // Bookkeeping never fails a request, nor the other sessions whose results are being read.
    }
    waiting.resolve(reply);
    if (waiting.then) for (const resolve of waiting.then) resolve();
  }

  /** Frees the session on its worker and the slot; requests already sent are still answered first. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.pool.endSession(this.slot, this.conn, this);
  }
}
