/**
 * What the `stats()` snapshots hold: the pool's (EnvPool.stats), the TCP front's
 * (GymTcpServer.stats) and the REST front's (RestServer.stats), in one place, so that whoever reads
 * them (a metrics exporter, a test, an operator's script) has one vocabulary.
 *
 * Two sorts of figure:
 * - counters only ever grow, from the start of the object that keeps them (microseconds, requests,
 *   errors, restarts…). No reader resets one, so any number of readers can each take their own
 *   deltas (src/pool/counters.ts, CounterReader) without taking samples from each other.
 * - gauges are values now (connections open, sessions, environments held, queue depth).
 *
 * Every figure is a JavaScript number: integers are exact up to 2^53 (285 years of microseconds).
 */
import type { ErrorCode } from './protocol/errors.js';
import type { RequestKind } from './protocol/schema.js';
import type { StepMicros } from './pool/worker-figures.js';

/** The fronts that open pool sessions: a TCP connection has one, a REST environment has one. */
export type Front = 'tcp' | 'rest';

/**
 * What a request is counted as: its kind (`make`, `step`, …); `invalid` for a line that is not a
 * request (not JSON, an unknown command, refused by the transport: too long, not UTF-8); `lost` for
 * one whose worker died twice before answering it (it is answered ENV_LOST, and what it asked was
 * never read).
 */
export type RequestCommand = RequestKind | 'invalid' | 'lost';

/** One front's requests answered through the pool (counters). */
export interface RequestCounts {
  /** Requests answered, by what they asked; every command is present, most at 0. */
  requests: Record<RequestCommand, number>;
  /** Error replies among them, by code; every code is present, most at 0. */
  errors: Record<ErrorCode, number>;
}

/** One worker slot (the slot outlives the worker threads that serve it: counters go on across a restart). */
export interface WorkerStats {
  /** Counter: microseconds its workers spent handling items. */
  busyMicros: number;
  /** Counter: microseconds its workers spent spinning for more work instead of sleeping. */
  spunMicros: number;
  /** Gauge: sessions the worker holds (as of its last batch). */
  sessions: number;
  /** Gauge: environments the worker holds (the shared env budget's count for this slot). */
  envs: number;
  /** Gauge: items waiting on the main thread for room in the worker's ring. */
  queued: number;
  /** Gauge: items given to the worker and not yet answered. */
  inFlight: number;
  /** Counter: items of connections that closed before they were given to the worker (never run). */
  dropped: number;
  /** Counter: times the slot's worker thread died and Piscina started another. */
  restarts: number;
  /** Counter: sessions made again on a successor from their snapshot and request log (at each one's next request). */
  sessionsRebuilt: number;
  /** Gauge: the packing's smoothed share of time the worker was busy (0–1), which decides where new connections go. */
  load: number;
  /** Counters: how long its `step` requests took on the worker (from taking the item to writing its reply), by bucket of STEP_MICROS_BUCKETS. */
  stepMicros: StepMicros;
}

export interface PoolStats {
  workers: WorkerStats[];
  /** Counter: sessions opened by any front (one per TCP connection, one per REST environment made). */
  sessionsOpened: number;
  /** Gauge: environments held, over all workers, and the server-wide limit (--max-envs). */
  envs: number;
  envLimit: number;
  /** Counter: microseconds the main thread spun waiting for results. */
  mainSpunMicros: number;
  /** Gauge: whether threads may spin now (the cores have CPU to spare; see SpareCpu). */
  spinning: boolean;
  /** Requests answered through the pool, by the front that sent them. */
  byFront: Record<Front, RequestCounts>;
  /** The preparation pool: the costly parts of makes, off the env workers. */
  prepare: PreparePoolStats;
  /** Gauge: environments held, by env id (ids with none are absent); adds up to `envs`. */
  envsById: Record<string, number>;
}

export interface PreparePoolStats {
  threads: number;
  /** Gauges: makes waiting for a thread, and being prepared. */
  queued: number;
  running: number;
  /** Counters: makes prepared, and makes whose connection went away before their turn (never run). */
  prepared: number;
  dropped: number;
}

/** Why the TCP front turned a connection away: a limit (named as its option), closing, or its auth line. */
export const REFUSAL_REASONS = ['maxConnections', 'maxConnectionsPerAddress', 'closing', 'authRequired', 'authFailed'] as const;
export type RefusalReason = (typeof REFUSAL_REASONS)[number];

export interface TcpStats {
  connections: {
    /** Gauge: connections open now. */
    open: number;
    /** Counter: connections accepted (including those then refused at their auth line). */
    accepted: number;
    /** Counter: connections turned away, by reason: at accept (limits, closing) or at the auth line. */
    refused: Record<RefusalReason, number>;
  };
  /** The pool's figures (shared with the REST front, whose requests it counts under `byFront.rest`). */
  pool: PoolStats;
}

export interface RestStats {
  envs: {
    /** Gauge: REST environments alive now. */
    open: number;
    /** Counter: REST environments made. */
    created: number;
    /** Counter: REST environments closed by the idle timeout. */
    expired: number;
  };
  /** Counter: HTTP requests received. */
  received: number;
  /** Counter: requests that reached a route, by `METHOD pattern` (e.g. `POST /v1/envs/<instance_id>/step/`). */
  routes: Record<string, number>;
  /** Counter: error responses, by HTTP status. */
  errors: Record<string, number>;
}

/** A record with every key at 0: counters whose labels are known up front, so a reader sees the zeros too. */
export function zeroCounts<K extends string>(keys: readonly K[]): Record<K, number> {
  return Object.fromEntries(keys.map((key) => [key, 0])) as Record<K, number>;
}

/** Adds one to a counter whose labels are not known up front (a REST route, an HTTP status). */
export function countOne<K>(counts: Map<K, number>, key: K): void {
  counts.set(key, (counts.get(key) ?? 0) + 1);
}
