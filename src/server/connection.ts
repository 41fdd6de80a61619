// One TCP client (the class's comment says what it does). Longer than 400 lines on purpose: reading,
// flow control, timers, auth, the monitor, frames and a split vector env's coordinator all meet the
// same per-connection state in the same event-loop turns.
import type { Socket } from 'node:net';
import type { EnvPool, ResultSink } from '../pool/env-pool.js';
import { SessionRecovery } from '../pool/session-recovery.js';
import type { WorkItem, WorkResult } from '../pool/work.js';
import type { ErrorCode } from '../protocol/errors.js';
import { LineReceiver } from '../protocol/receiver.js';
import { errorReply } from '../protocol/reply.js';
import { frameReply } from './framing.js';
import { WRONG_TOKEN, tokenMatches } from '../net/auth.js';
import type { MonitorRequest } from '../protocol/session.js';
import { ConnectionMonitor } from '../monitor/connection-monitor.js';
import type { MonitorSettings } from '../monitor/episode-monitor.js';
import type { BufferBudget } from '../net/buffer-budget.js';
import type { Log } from '../ops/log.js';
import type { FrameBus } from '../live/frame-bus.js';
import { feedFrameBus } from '../recording/feed.js';
import type { Recorder } from '../recording/recorder.js';
import { VectorShards, type ShardHost } from './vector-shards.js';

export interface ConnectionLimits extends MonitorSettings {
  maxLineBytes: number;
  /** Requests read but not yet answered; past this the socket is not read until replies catch up. */
  maxPipeline: number;
  /** Close a connection with nothing in flight after this long without traffic; 0: never. */
  idleTimeoutMs: number;
  /** A line unfinished this long after its first byte is answered REQUEST_TIMEOUT and the connection closed; 0: never. */
  requestTimeoutMs: number;
  /** When set, the first line must be {"auth": "<token>"}. */
  authToken?: string;
  /** Where operational events go (a refused monitor directory). */
  log?: Log;
  /** Not a limit: the server's --node-id, which the connection hands its session (instance ids). */
  nodeId: string;
  /** Not a limit: where the connection's rendered frames and episode ends go (the server's bus). */
  frames?: FrameBus;
  /** Not a limit: the videos of those frames (an older client's monitor copies them). */
  recorder?: Recorder;
}

/** How long after a reply to a peer that sent FIN the connection looks whether the peer is still there. */
const PEER_PROBE_MS = 5;
const EMPTY = Buffer.alloc(0);

/**
 * One client socket on the main thread. It only moves bytes: complete lines go to the worker that
 * holds the connection's session, replies come back framed and are written in request order. It
 * mirrors the little session state it needs if the worker dies (compression level, env id).
 */
export class Connection implements ResultSink {
  readonly front = 'tcp';
  sessionGeneration = -1;
  /** Set when the connection was refused at its first line (no token, a wrong one): the server counts it. */
  refusedWith: ErrorCode | null = null;
  #pending = 0;
  #compression = 0;
  #instance: string | null = null;
  #lastInstance: string | null = null;
  #readingPaused = false;
  /** When reading last resumed after a pause (Date.now()). */
  #readingSince = 0;
  #draining = false;
  /** The peer sent FIN: it half-closed (and reads on), or closed for good (see #probePeer). */
  #peerEnded = false;
  #probe: NodeJS.Timeout | null = null;
  #closed = false;
  /** Frames published that a consumer (the video encoder) has not caught up with: reading waits. */
  #framesBehind = 0;
  #corked = false;
  #authenticated: boolean;
  /** Resolves once an older client's monitor has written its files, after the socket closed. */
  monitorWritten: Promise<void> = Promise.resolve();
  /** Made by the first `monitor` line (older clients), null before. */
  #monitor: ConnectionMonitor | null = null;
  readonly #receiver: LineReceiver;
  /** What it takes to rebuild the session if its worker dies. */
  readonly #recovery: SessionRecovery;
  #endTimer: NodeJS.Timeout | null = null;
  /** Armed while a line is unfinished (see #watchUnfinishedLine); null otherwise. */
  #requestTimer: NodeJS.Timeout | null = null;
  /** While the connection's vector env is split over the workers, lines go through its coordinator. */
  #shards: VectorShards | null = null;

  constructor(
    readonly id: number,
    readonly socket: Socket,
    readonly slot: number,
    readonly pool: EnvPool,
    readonly urlBase: string,
    readonly limits: ConnectionLimits,
    bufferBudget: BufferBudget,
    readonly onClose: (connection: Connection) => void,
  ) {
    this.#authenticated = limits.authToken === undefined;
    this.#recovery = new SessionRecovery(id, urlBase, true, limits.nodeId);
    this.#receiver = new LineReceiver(limits.maxLineBytes, bufferBudget, {
      line: (line) => {
        if (this.#authenticated) this.#sendLine(line);
        else this.#authenticate(line);
        return !this.#readingPaused;
      },
      reject: (code, message, fatal) => {
        this.#reject(code, message, fatal);
        return !this.#readingPaused;
      },
    });
    socket.setNoDelay(true);
    if (limits.idleTimeoutMs > 0) {
      socket.setTimeout(limits.idleTimeoutMs, () => {
        if (this.#pending === 0) this.drain();
      });
    }
    socket.on('drain', () => this.#updateFlow());
    // A client that half-closes (shutdown(SHUT_WR), `nc -N`) still gets every reply; then we close.
    socket.on('end', () => {
      this.#peerEnded = true;
      this.drain();
    });
    socket.on('error', () => {}); // resets by the peer end up in 'close'
    socket.on('close', () => this.#onSocketClose());
  }

  /** The last env instance id the connection had (for the log), or null. */
  get lastInstance(): string | null {
    return this.#lastInstance;
  }

  /** Bytes read from the socket (the server wires its reads here; they may be overwritten after the call). */
  receive(chunk: Buffer): void {
    this.#receiver.push(chunk);
    this.#armRequestTimer();
  }

  #armRequestTimer(): void {
    if (this.limits.requestTimeoutMs > 0 && this.#requestTimer === null && this.#receiver.unfinishedSince >= 0) this.#watchUnfinishedLine();
  }

  /**
   * One timer per connection, armed when a line is left unfinished and not cleared when lines end (a
   * timer per line would cost the pipelining client): when it fires it looks at the line unfinished
   * then, if any. Without a deadline on the line, a client trickling a byte a second kept its
   * connection (and --idle-timeout never fired) for good.
   */
  #watchUnfinishedLine(): void {
    const since = Math.max(this.#receiver.unfinishedSince, this.#readingSince);
    if (this.#receiver.unfinishedSince < 0 || this.#closed || this.#draining) {
      this.#requestTimer = null;
      return;
    }
    const timeoutMs = this.limits.requestTimeoutMs;
    // While the server does not read the socket the client cannot finish its line: the time counts
    // from the line's first byte or from when reading last resumed, whichever came later.
    const left = this.#readingPaused ? timeoutMs : since + timeoutMs - Date.now();
    if (left > 0) {
      this.#requestTimer = setTimeout(() => this.#watchUnfinishedLine(), left).unref();
      return;
    }
    this.#requestTimer = null;
    this.#reject(
      'REQUEST_TIMEOUT',
      `a request line was still unfinished ${timeoutMs / 1000} s after its first byte (--request-timeout); closing the connection`,
      true,
    );
  }

  sessionInit(): WorkItem {
    return this.#recovery.initItem({ compression: this.#compression, lastInstance: this.#lastInstance, hadEnv: this.#instance !== null });
  }

  deliver(result: WorkResult, item: WorkItem): void {
    const snapshotRequest = this.#recovery.received(item, result);
    if (snapshotRequest) this.pool.send(this.slot, snapshotRequest, this);
    // init, drop and snapshot requests carry no reply.
    if (result === null || 'snapshot' in item) return;
    if (this.#shards) return this.#shards.leadResult(result, item);
    // The session's plan for a vector env too big for one thread: it is made in shards, by a coordinator.
    if (result.kind === 'shard' && 'line' in item) {
      // A plan that comes after the socket closed is not carried out: its shards would be sessions nobody drops.
      if (this.#closed) return;
      this.#shards = new VectorShards(this.#shardHost(), result, item.line, this.#pending - 1);
      return;
    }
    this.#answer(result);
  }

  /** What a split vector env's coordinator needs of this connection. */
  #shardHost(): ShardHost {
    return {
      id: this.id,
      slot: this.slot,
      pool: this.pool,
      urlBase: this.urlBase,
      nodeId: this.limits.nodeId,
      sendLead: (item) => {
        if ('line' in item) this.#recovery.sent(item.line);
        else if ('shard' in item) this.#recovery.sentOp(item.shard);
        this.pool.send(this.slot, item, this);
      },
      answer: (result) => this.#answer(result),
      detach: () => (this.#shards = null),
    };
  }

  /** One reply, to the oldest request not yet answered. */
  #answer(result: NonNullable<WorkResult>): void {
    this.#pending -= 1;
    this.#compression = result.compression;
    const hadEnv = this.#instance;
    this.#instance = result.instance;
    if (result.instance !== null) this.#lastInstance = result.instance;
    if (result.kind === 'monitor') this.#monitorRequest(result.out!);
    else if (result.out !== null) this.#write(result.out);
    // Frames first: an episode's end reaches the recorder before the monitor asks for its video.
    if (this.limits.frames) this.#feedFrames(this.limits.frames, result, hadEnv);
    if (this.#monitor) this.#feedMonitor(result, hadEnv);
    this.#updateFlow();
  }

  /** Frames to the bus; while its consumer is behind, this client's requests wait (no one else's). */
  #feedFrames(bus: FrameBus, result: NonNullable<WorkResult>, hadEnv: string | null): void {
    const behind = feedFrameBus(bus, result, result.instance, hadEnv);
    if (!behind) return;
    this.#framesBehind += 1;
    void behind.then(() => {
      this.#framesBehind -= 1;
      this.#updateFlow();
    });
  }

  /** An older client's `monitor` line: acted on, never answered (see ConnectionMonitor). */
  #monitorRequest(out: string | Uint8Array): void {
    const request = JSON.parse(typeof out === 'string' ? out : Buffer.from(out).toString('utf8')) as MonitorRequest;
    const log = this.limits.log;
    this.#monitor ??= new ConnectionMonitor(
      this.limits,
      log ? (message, fields) => log(message, { ...fields!, conn: this.id, instance: this.#lastInstance }) : () => {},
      `connection ${this.id}`,
    );
    this.#monitor.request(request);
  }

  /** The monitor's statistics come from the results, as the runner counted them. */
  #feedMonitor(result: NonNullable<WorkResult>, hadEnv: string | null): void {
    const monitor = this.#monitor!;
    // Gym's monitor wraps one env: closing or replacing it ends the monitor (its files are written).
    const latest = (instance: string | null) => (instance === null ? undefined : this.limits.recorder?.latest(instance));
    if (hadEnv !== null && result.instance !== hadEnv) monitor.close(latest(hadEnv));
    else if (result.kind === 'observation') monitor.reset(latest(result.instance));
    else if (result.episode) monitor.episodeEnd(result.episode.r, result.episode.l, latest(result.instance));
  }

  workerLost(item: WorkItem): void {
    this.#recovery.giveUp();
    if (this.#shards) return this.#shards.leadLost();
    if (!('line' in item || 'fail' in item)) return;
    this.#pending -= 1;
    const lost = this.#instance ?? this.#lastInstance;
    this.#instance = null;
    this.#write(
      frameReply(
        errorReply('ENV_LOST', `the worker thread holding this connection's state stopped while answering${lost ? ` (environment ${lost} is gone)` : ''}; create a new environment`).json,
        this.#compression,
      ),
    );
    this.#updateFlow();
  }

  /**
   * The first line of a connection when the server wants a token: `{"auth": "<token>"}`, answered
   * `{"auth": "ok"}`; anything else is answered with an error and the connection closed. Checked
   * here on the main thread, before any request reaches a worker; the token is never logged.
   */
  #authenticate(line: string): void {
    let token: unknown;
    try {
      token = (JSON.parse(line) as { auth?: unknown } | null)?.auth;
    } catch {
      token = undefined;
    }
    if (typeof token !== 'string') {
      this.#refuse('AUTH_REQUIRED', 'this server needs {"auth": "<token>"} as the first line');
    } else if (!tokenMatches(token, this.limits.authToken!)) {
      this.#refuse('AUTH_FAILED', WRONG_TOKEN);
    } else {
      this.#authenticated = true;
      this.#write(frameReply('{"auth": "ok"}', 0));
    }
  }

  /** Answers with an error before any session exists, and closes. */
  #refuse(code: ErrorCode, message: string): void {
    this.refusedWith = code;
    this.#write(frameReply(errorReply(code, message).json, 0));
    this.drain();
  }

  /** Takes no more requests; the connection ends once every request read so far is answered. */
  drain(): void {
    this.#draining = true;
    // No line is taken from here on, but the socket is still read (and what comes is dropped): a
    // socket that is not read never sees its peer close, and would hold its env until the end timer.
    this.#receiver.stop();
    if (this.#readingPaused) {
      this.#readingPaused = false;
      this.socket.resume();
    }
    this.#updateFlow();
  }

  #sendLine(line: string): void {
    // While split, the coordinator sends the line on, and logs it for recovery then (ShardHost.sendLead).
    if (!this.#shards) this.#recovery.sent(line);
    this.#send({ conn: this.id, line });
  }

  /** A request line (or one the receiver refused) to the session, or through a split vector env's coordinator. */
  #send(item: Extract<WorkItem, { line: string } | { fail: ErrorCode }>): void {
    this.#pending += 1;
    if (this.#shards) this.#shards.push(item);
    else this.pool.send(this.slot, item, this);
    if (this.#pending >= this.limits.maxPipeline) this.#updateFlow();
  }

  #reject(code: ErrorCode, message: string, fatal: boolean): void {
    if (!this.#authenticated) {
      // The first line failed before any JSON was read: it is not an auth line either. Answered here
      // and closed, as every other first line but the auth line is: no worker sees the connection.
      // (Answered BAD_ENCODING through the worker and kept open, 32,768 such lines got 32,768 replies.)
      if (code === 'BAD_ENCODING') return this.#refuse('AUTH_REQUIRED', 'the first line is not valid UTF-8; this server needs {"auth": "<token>"} as the first line');
      return this.#refuse(code, message);
    }
    this.#send({ conn: this.id, fail: code, message });
    if (fatal) this.drain();
  }

  #write(out: string | Uint8Array): void {
    if (this.#closed) return;
    // Replies to pipelined requests, read from the worker in one go, leave in one write. A reply
    // with no other request of this connection outstanding (a closed-loop agent) goes at once.
    if (!this.#corked && this.#pending > 0) {
      this.#corked = true;
      this.socket.cork();
      process.nextTick(() => {
        this.#corked = false;
        this.socket.uncork();
      });
    }
    this.socket.write(out);
    if (this.#peerEnded && this.#probe === null) this.#probe = setTimeout(this.#probePeer, PEER_PROBE_MS).unref();
  }

  /**
   * A peer that sent FIN may have half-closed (it still reads every reply) or closed for good (it
   * answers our next segment with RST). Node learns which only when it writes after the RST: the first
   * reply after the FIN is written fine, and EPIPE came 2–4 replies later, so the work behind them ran
   * for nobody. An empty write shortly after a reply (the RST is back by then on a LAN) surfaces the
   * EPIPE at once; the socket closes and its queued work is dropped unrun (EnvPool.endSession).
   */
  readonly #probePeer = (): void => {
    this.#probe = null;
    if (!this.#closed && !this.socket.destroyed) this.socket.write(EMPTY);
  };

  #updateFlow(): void {
    if (this.#closed) return;
    if (this.#draining) {
      if (this.#pending === 0 && !this.#endTimer) {
        this.socket.end();
        // A peer that never closes its side does not keep the socket forever.
        this.#endTimer = setTimeout(() => this.socket.destroy(), 5000).unref();
      }
      return;
    }
    const shouldPause = this.#pending >= this.limits.maxPipeline || this.socket.writableNeedDrain || this.#framesBehind > 0;
    if (shouldPause !== this.#readingPaused) {
      this.#readingPaused = shouldPause;
      if (shouldPause) this.socket.pause();
      else this.#resumeReading();
    }
  }

  #resumeReading(): void {
    if (this.#requestTimer !== null) this.#readingSince = Date.now();
    // Lines kept from the last read go first; taking them may reach the limit again (and pause).
    if (this.#receiver.resume() && !this.#readingPaused) this.socket.resume();
    this.#armRequestTimer();
  }

  #onSocketClose(): void {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#endTimer) clearTimeout(this.#endTimer);
    if (this.#probe) clearTimeout(this.#probe);
    if (this.#requestTimer) clearTimeout(this.#requestTimer);
    // An unfinished line gives its memory back to the budget.
    this.#receiver.stop();
    // Nobody takes replies any more: what has not reached the worker is dropped unrun.
    this.#shards?.close();
    this.pool.endSession(this.slot, this.id, this, true);
    // The connection gone ends its env's episode (and so its recording).
    if (this.#instance !== null) this.limits.frames?.endEpisode(this.#instance);
    if (this.#monitor) this.monitorWritten = this.#monitor.close(this.#instance === null ? undefined : this.limits.recorder?.latest(this.#instance));
    this.onClose(this);
  }
}
