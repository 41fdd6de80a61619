/**
 * One environment made over REST: a pool session of its own (no TCP connection behind it), pinned to a
 * worker slot, driven with the same protocol lines a TCP client sends. The pool keeps each session's
 * items in order, so this sink's replies arrive in the order its requests were sent: a FIFO of
 * waiting requests is all the matching needed.
 */
import type { EnvPool, ResultSink } from '../pool/env-pool.js';
import { SessionRecovery } from '../pool/session-recovery.js';
import type { WorkItem, WorkResult } from '../pool/work.js';
import type { EpisodeStats } from '../envs/runner.js';
import type { ErrorCode } from '../protocol/errors.js';
import type { ReplyKind } from '../protocol/reply.js';
import type { EpisodeMonitor } from '../monitor/episode-monitor.js';
import type { FrameBus } from '../live/frame-bus.js';
import { feedFrameBus } from '../recording/feed.js';
import type { Recorder, Recording } from '../recording/recorder.js';

/**
 * A protocol reply as the REST front reads it: its kind, its JSON text and the text of its one value
 * (null for the silent requests), or the error it carried; and the episode a step ended.
 */
export type ProtocolReply = (
  | { kind: Exclude<ReplyKind, 'error'> | null; json: string | null; value: string | null; error: null }
  | { kind: 'error'; json: null; value: null; error: { code: ErrorCode; message: string } }
) & { episode: EpisodeStats | null };

interface Waiting {
  resolve: (reply: ProtocolReply) => void;
  /** Runs, in order, when the reply arrives (the monitor's bookkeeping). */
  observe?: (reply: ProtocolReply) => void;
  /** settled() callers waiting for this request. */
  then?: (() => void)[];
}

export class RestEnv implements ResultSink {
  readonly front = 'rest';
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
    /** Where its rendered frames go (the server's bus), and the recorder that makes them videos. */
    readonly frames?: FrameBus,
    readonly recorder?: Recorder,
  ) {
    this.conn = pool.allocateSessionId();
    this.slot = pool.assignSlot();
    this.#recovery = new SessionRecovery(this.conn, '', false);
  }

  /** What the live view lists this env as (ResultSink.instanceId): its REST instance_id. */
  get instanceId(): string {
    return this.id;
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
      return Promise.resolve({ kind: 'error', json: null, value: null, error: { code: 'NO_ENV', message: `environment ${this.id} is closed` }, episode: null });
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
    // While the video encoder is behind this env's frames, its replies wait (a TCP client's reading would).
    const behind = this.frames && result !== null ? feedFrameBus(this.frames, result, this.id, this.id) : null;
    let reply: ProtocolReply;
    if (result === null || result.out === null) {
      reply = { kind: null, json: null, value: null, error: null, episode: null };
    } else {
      // A REST session's replies come unframed (SessionRecovery's `frame` is false): JSON text.
      const json = typeof result.out === 'string' ? result.out : Buffer.from(result.out).toString('utf8');
      const value = result.valueStart < 0 ? json : json.slice(result.valueStart, result.valueEnd);
      if (result.kind === 'error') {
        const code = result.code ?? 'ENV_FAILED';
        if (code === 'ENV_LOST') this.lost = true;
        // An error reply's value is its message, as a JSON string.
        reply = { kind: 'error', json: null, value: null, error: { code, message: JSON.parse(value) as string }, episode: null };
      } else {
        reply = { kind: result.kind, json, value, error: null, episode: result.episode };
      }
    }
    this.#answerInOrder(reply, behind);
  }

  /** Replies held behind a busy encoder, in order; null when none is held. */
  #held: Promise<void> | null = null;

  #answerInOrder(reply: ProtocolReply, behind: Promise<void> | null): void {
    if (!behind && !this.#held) return this.#answer(reply);
    const held: Promise<void> = (this.#held ?? Promise.resolve()).then(() => behind ?? undefined).then(() => this.#answer(reply));
    this.#held = held;
    void held.then(() => {
      if (this.#held === held) this.#held = null;
    });
  }

  workerLost(item: WorkItem): void {
    this.#recovery.giveUp();
    if (!('line' in item)) return;
    this.lost = true;
    this.#answerInOrder({
      kind: 'error',
      json: null,
      value: null,
      error: { code: 'ENV_LOST', message: `the worker thread holding environment ${this.id} stopped while answering` },
      episode: null,
    }, null);
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

  /** The latest video of this env (its monitor copies it), if any. */
  latestRecording(): Recording | undefined {
    return this.recorder?.latest(this.id);
  }

  /** Frees the session on its worker and the slot; requests already sent are still answered first. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.frames?.endEpisode(this.id);
    this.pool.endSession(this.slot, this.conn, this);
  }
}
