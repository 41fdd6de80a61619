/**
 * The worker pool's main-thread side. Longer than 400 lines on purpose: the slots, the packing, the flush
 * to the rings, reading results and rebuilding a dead worker's sessions all act on the same Slot
 * state in the same event-loop turns; what stands alone is beside it (channel, ring, doorbell,
 * fair-queue, spare-cpu, counters, session-recovery, env-budget).
 */
import os from 'node:os';
import { Piscina } from 'piscina';
import { Doorbell } from './doorbell.js';
import { EnvBudget } from './env-budget.js';
import { FairQueue } from './fair-queue.js';
import { MainChannel, STAT_BUSY_MICROS, STAT_SESSIONS, STAT_SPIN, STAT_SPUN_MICROS, STAT_STOP } from './channel.js';
import { SpareCpu } from './spare-cpu.js';
import { CounterReader, RequestCounter, WidenedCounter } from './counters.js';
import type { ErrorCode } from '../protocol/errors.js';
import { PreparePool } from './prepare-pool.js';
import { WorkerFiguresReader } from './worker-figures.js';
import type { PreparedMake, ServeTask, WorkItem, WorkResult } from './work.js';
import type { Front, PoolStats, RequestCommand } from '../stats.js';

/** One connection as the pool sees it: it receives results in the order it sent the items. */
export interface ResultSink {
  /** The front whose requests these are, for the stats (null: the pool's own no-op items, which get no reply). */
  readonly front: Front | null;
  /**
   * The id clients know this session's env by, when the front names envs itself (REST's
   * instance_id); otherwise the session's own instance id (a result's `instance`) is that name.
   */
  readonly instanceId?: string;
  deliver(result: WorkResult, item: WorkItem): void;
  /**
   * The worker died before answering `item`, twice: the pool re-runs what a dead worker had not
   * answered once on its successor (after `sessionInit()`), and gives up only if that one dies on it too.
   */
  workerLost(item: WorkItem): void;
  /**
   * The slot generation this connection's session was created in (-1: none yet). When a worker dies
   * its slot's generation moves on, and the pool sends `sessionInit()` before the connection's next item.
   */
  sessionGeneration: number;
  sessionInit(): WorkItem;
}

/**
 * Sees every result after its sink has: what the live view's directory of envs is kept from
 * (src/live/live-envs.ts), for both fronts at once. Must be cheap and must not throw.
 */
export type ResultObserver = (sink: ResultSink, item: WorkItem, result: WorkResult) => void;

export interface EnvPoolOptions {
  /** Worker threads; each connection's session lives on exactly one. */
  workers: number;
  /**
   * Items a worker may have been given and not yet answered. Past this, items wait on the main
   * thread in the slot's fair queue, so one connection's pipelined backlog delays another's next
   * step by at most this many items.
   */
  maxInFlight?: number;
  /**
   * Items of one session a worker may have been given and not yet answered (default 4). The rest wait
   * in the fair queue, where a session that goes away has them dropped unrun (`endSession`), and one
   * session's slow items hold another's next step up by at most this many.
   */
  maxInFlightPerSession?: number;
  /** Threads of the preparation pool, which does the costly part of makes (default 1; see PreparePool). */
  prepareThreads?: number;
  /**
   * Microseconds a thread keeps looking for the other side's next record before it sleeps: the
   * worker after it ran out of items, the main thread after it handed over a few. A sleeping thread
   * takes tens of microseconds to wake on a virtual machine, more than a CartPole step costs; the
   * spin buys one-connection latency with CPU time. 0: never spin.
   */
  spinMicros?: number;
  /** Environments the whole pool may hold (default 100,000); a `make` beyond gets TOO_MANY_ENVS. */
  maxEnvs?: number;
  /** Sub-envs one vector env may have (default 65,536); a bigger `vector.make` is refused (docs/vector.md). */
  maxNumEnvs?: number;
  /**
   * Sub-envs a shard of a vector env holds at least: a vector env of at least twice as many is split
   * over the worker threads (docs/vector.md, "Shards"; default 1,024; 0: never split).
   */
  vectorShardSize?: number;
  /** Called when a worker thread stopped (its sessions are then rebuilt on its successor), for logs. */
  onWorkerLost?: (slot: number) => void;
}

interface Slot {
  index: number;
  /** threadId of the Piscina worker serving this slot; null until assigned or after it died. */
  threadId: number | null;
  /** Moves on each time the slot's worker dies, so sessions are recreated on its successor. */
  generation: number;
  /** The line to the worker now serving this slot. */
  channel: MainChannel;
  /** Wakes the slot's worker, whichever generation it is (null: Atomics.notify does). */
  doorbell: Doorbell | null;
  /** Items waiting to be written to the channel. */
  queue: FairQueue<ResultSink, WorkItem>;
  /** Items written to the channel and not yet answered, oldest first (results come in this order). */
  sent: { sinks: ResultSink[]; items: WorkItem[]; head: number };
  /** How many of `sent` are each session's (absent: none). */
  inFlightOf: Map<ResultSink, number>;
  /** Items of closed sessions dropped from the queue unrun (a counter). */
  dropped: number;
  flushScheduled: boolean;
  /** An Atomics.waitAsync on the channel's results is pending. */
  waiting: boolean;
  /** Resolved when the slot has nothing queued or in flight (for sessionCounts). */
  idleWaiters: (() => void)[];
  /** The share of time the worker was busy lately. */
  load: number;
  /** Microseconds the slot's workers spent handling items, and spinning (counters, across restarts). */
  busy: WidenedCounter;
  spun: WidenedCounter;
  /** The packing's own reader of `busy`. */
  busyReader: CounterReader;
  /** Times the slot's worker died and was replaced, and sessions rebuilt on a successor since. */
  restarts: number;
  sessionsRebuilt: number;
  /** Workers in a row that died on this slot before answering anything (a broken install, not a client). */
  stillborn: number;
  /** Step times and envs by id, as the slot's worker keeps them (worker-figures.ts). */
  figures: WorkerFiguresReader;
}

/** How often slot loads are recomputed, and the load under which a slot takes more connections. */
const LOAD_WINDOW_MS = 250;
const PACKING_LOAD = 0.5;
/**
 * A vector env of 2,048 sub-envs or more is split over the worker threads by default: a 4,096-CartPole
 * step is ~1.5–2 ms on one thread, a wake-up and a join tens of microseconds (docs/vector.md).
 */
export const DEFAULT_VECTOR_SHARD_SIZE = 1024;
/** A slot holding this many envs (a vector env's worth) takes new connections only when every slot is busy. */
const HEAVY_SLOT_ENVS = 1024;
/** The main thread spins for results only while this few items are in flight on the slot. */
const SPIN_ITEMS = 4;
/** How often spinning is allowed or stopped (see SpareCpu). */
const SPARE_CPU_SAMPLE_MS = 250;

const WORKER_FILE = new URL(
  import.meta.url.endsWith('.ts') ? '../../dist/workers/env-worker.js' : '../../workers/env-worker.js',
  import.meta.url,
).href;

/** Each open pool's way to stop its workers at exit (one 'exit' listener for all pools). */
const stopAtExit = new Set<() => void>();
const stopPoolsAtExit = () => {
  for (const stop of stopAtExit) stop();
};

/**
 * A session whose make the worker deferred, while the preparation pool prepares it. Its items stay
 * here, in order, until the prepared make has gone to the worker: those the worker answered
 * `deferred` (sent after the make), then those that were queued or sent since.
 */
interface Preparing {
  slot: Slot;
  /** The item to send in place of the make, once prepared (its result is delivered against the make). */
  prepared: WorkItem | null;
  bounced: WorkItem[];
  later: WorkItem[];
  cancel: () => void;
}

/** The internal sink of `start`'s and `sessionCounts`' no-op items (conn 0 is never a session). */
class NotifySink implements ResultSink {
  readonly front = null;
  sessionGeneration = -1;
  constructor(readonly done: () => void) {}
  deliver(): void {
    this.done();
  }
  workerLost(): void {
    this.done();
  }
  sessionInit(): WorkItem {
    return { conn: 0, drop: true };
  }
}

/**
 * The environments' worker threads. A connection is pinned to a slot, a slot to one Piscina worker
 * (by a load balancer that routes on the slot), so its environment's state stays on one thread.
 *
 * Each worker runs one long Piscina task that serves a channel of shared-memory rings (channel.ts):
 * items are written as they come (coalesced per event-loop turn), results are read as the worker
 * writes them. A task per step costs a thread wake-up each way, ~50–100 µs of main-thread time and
 * latency here, and a task per batch still one per batch; the rings cost a copy per item. Piscina
 * starts, pins and replaces the workers.
 */
export class EnvPool {
  readonly piscina: Piscina;
  readonly envBudget: EnvBudget;
  readonly #slots: Slot[];
  readonly #maxInFlight: number;
  readonly #maxInFlightPerSession: number;
  readonly #preparePool: PreparePool;
  /** Sessions waiting for a prepared make. */
  readonly #preparing = new Map<ResultSink, Preparing>();
  /** A prepared make item → the make item its session sent. */
  readonly #madeFor = new WeakMap<WorkItem, WorkItem>();
  /** Sessions ended with their queued items dropped: their stray deferred results are dropped too. */
  readonly #gone = new WeakSet<ResultSink>();
  readonly #spinMicros: number;
  readonly #onWorkerLost: (slot: number) => void;
  #closed = false;
  /** Rejects `start()` while it waits: the workers cannot start (a broken install, not a client). */
  #failStart: ((err: Error) => void) | null = null;
  #nextSessionId = 1;
  /** Items already re-run once after their worker died. */
  readonly #retried = new WeakSet<WorkItem>();
  #loadSince = performance.now();
  readonly #spareCpu = new SpareCpu();
  readonly #spareCpuTimer: NodeJS.Timeout;
  /** Microseconds the main thread spun (a counter). */
  #mainSpunMicros = 0;
  /** SpareCpu's reader of the microseconds every thread of the pool spun. */
  readonly #spunReader: CounterReader;
  /** Requests answered, by front (counted where each result is read). */
  readonly #requests = new RequestCounter();
  /** See ResultObserver; null: none (a pool without fronts). */
  observer: ResultObserver | null = null;

  constructor(options: EnvPoolOptions) {
    const workers = options.workers;
    if (!Number.isInteger(workers) || workers < 1) throw new RangeError(`workers must be a positive integer, got ${workers}`);
    this.#maxInFlight = options.maxInFlight ?? 64;
    this.#maxInFlightPerSession = options.maxInFlightPerSession ?? 4;
    this.#preparePool = new PreparePool(options.prepareThreads ?? 1);
    this.#spinMicros = options.spinMicros ?? 100;
    this.#onWorkerLost = options.onWorkerLost ?? (() => {});
    this.envBudget = EnvBudget.create(workers, options.maxEnvs ?? 100_000);
    this.piscina = new Piscina({
      filename: WORKER_FILE,
      workerData: {
        envBudget: this.envBudget.buffer,
        maxNumEnvs: options.maxNumEnvs,
        // Shards on more workers than cores step no faster, and would leave no worker free of the
        // vector env for single-env clients (which the packing sends to slots without one): with the
        // default four workers on two cores, a 4,096-CartPole vector env takes two.
        sharding: { workers: Math.min(workers, Math.max(2, os.availableParallelism())), shardSize: options.vectorShardSize ?? DEFAULT_VECTOR_SHARD_SIZE },
      },
      minThreads: workers,
      maxThreads: workers,
      idleTimeout: Infinity,
      concurrentTasksPerWorker: 1,
      recordTiming: false,
      loadBalancer: (task, candidates) => {
        const slot = this.#slots[((task as unknown as Record<symbol, { slot: number }>)[Piscina.queueOptionsSymbol]).slot];
        if (slot.threadId !== null) return candidates.find((w) => w.id === slot.threadId) ?? null;
        const taken = new Set(this.#slots.map((s) => s.threadId));
        const free = candidates.find((w) => !taken.has(w.id)) ?? null;
        if (free) slot.threadId = free.id;
        return free;
      },
    });
    // A worker that dies is seen through its serve task's rejection. Piscina reports here too, and
    // reports alone a worker that could not even load: that fails start().
    this.piscina.on('error', (err: Error) => this.#failStart?.(new Error(`worker threads cannot start: ${err.message}`)));
    const doorbells = Doorbell.create(workers);
    this.#slots = Array.from({ length: workers }, (_, index) => {
      const busy = new WidenedCounter(STAT_BUSY_MICROS);
      return {
        index,
        threadId: null,
        generation: 0,
        channel: null as unknown as MainChannel,
        doorbell: doorbells?.[index] ?? null,
        queue: new FairQueue<ResultSink, WorkItem>(),
        sent: { sinks: [], items: [], head: 0 },
        inFlightOf: new Map(),
        dropped: 0,
        flushScheduled: false,
        waiting: false,
        idleWaiters: [],
        load: 0,
        stillborn: 0,
        busy,
        spun: new WidenedCounter(STAT_SPUN_MICROS),
        busyReader: new CounterReader(() => busy.read()),
        restarts: 0,
        sessionsRebuilt: 0,
        figures: new WorkerFiguresReader(),
      };
    });
    for (const slot of this.#slots) this.#serve(slot);
    this.#spunReader = new CounterReader(() => this.#slots.reduce((sum, slot) => sum + slot.spun.read(), this.#mainSpunMicros));
    this.#spareCpuTimer = setInterval(() => this.#tick(), SPARE_CPU_SAMPLE_MS).unref();
    if (stopAtExit.size === 0) process.on('exit', stopPoolsAtExit);
    stopAtExit.add(this.#stopWorkers);
  }

  #tick(): void {
    this.#sampleSpareCpu();
    // A worker blocked reading its doorbell does not see Worker.terminate() until the read returns.
    for (const slot of this.#slots) if (slot.doorbell) slot.channel.items.wake();
    // Widened at least this often, so that no 32-bit word wraps unseen.
    for (const slot of this.#slots) slot.figures.steps();
  }

  /**
   * At exit Node stops and joins the worker threads, which a worker blocked reading its doorbell
   * would not notice: each is told to return from its task, and woken.
   */
  readonly #stopWorkers = (): void => {
    for (const slot of this.#slots) {
      Atomics.store(slot.channel.stats, STAT_STOP, 1);
      // Rung even if the worker is not asleep yet: it may be about to be, past its look at STOP.
      slot.doorbell?.ring();
    }
  };

  /** Resolves when every worker has answered once; rejects if workers cannot even start. */
  async start(): Promise<void> {
    const ready = Promise.all(this.#slots.map((slot) => new Promise<void>((resolve) => this.send(slot.index, { conn: 0, drop: true }, new NotifySink(resolve)))));
    const failed = new Promise<never>((_, reject) => (this.#failStart = reject));
    await Promise.race([Promise.all([ready, this.#preparePool.warm()]), failed]);
    this.#failStart = null;
  }

  /** False when threads never spin here: `spinMicros` is 0, or the process may use one core (see SpareCpu). */
  get maySpin(): boolean {
    return this.#spinMicros > 0 && this.#spareCpu.possible;
  }

  /** Whether idle workers sleep on doorbell pipes; false where they cannot be made (no `mkfifo`): Atomics.wait. */
  get wakesWithDoorbells(): boolean {
    return this.#slots[0].doorbell !== null;
  }

  /** Sessions each worker holds (for leak checks and metrics), once it has handled everything sent so far. */
  async sessionCounts(): Promise<number[]> {
    return Promise.all(
      this.#slots.map(async (slot) => {
        if (slot.queue.size > 0 || this.#inFlight(slot) > 0) await new Promise<void>((resolve) => slot.idleWaiters.push(resolve));
        return Atomics.load(slot.channel.stats, STAT_SESSIONS);
      }),
    );
  }

  /**
   * The pool's figures now (src/stats.ts). Reading them changes nothing: every counter is cumulative
   * and each reader (this, the packing, SpareCpu) keeps its own last value.
   */
  stats(): PoolStats {
    return {
      workers: this.#slots.map((slot) => ({
        busyMicros: slot.busy.read(),
        spunMicros: slot.spun.read(),
        sessions: Atomics.load(slot.channel.stats, STAT_SESSIONS),
        envs: this.envBudget.heldBy(slot.index),
        queued: slot.queue.size,
        inFlight: this.#inFlight(slot),
        dropped: slot.dropped,
        restarts: slot.restarts,
        sessionsRebuilt: slot.sessionsRebuilt,
        load: slot.load,
        stepMicros: slot.figures.steps(),
      })),
      sessionsOpened: this.#nextSessionId - 1,
      envs: this.envBudget.total,
      envLimit: this.envBudget.limit,
      mainSpunMicros: this.#mainSpunMicros,
      spinning: this.#spareCpu.allowed,
      byFront: this.#requests.snapshot(),
      prepare: this.#preparePool.stats(),
      envsById: this.#envsById(),
    };
  }

  #envsById(): Record<string, number> {
    const envs: Record<string, number> = {};
    for (const slot of this.#slots) slot.figures.addEnvs(envs);
    return envs;
  }

  /** Worker threads (slots) of the pool. */
  get workerCount(): number {
    return this.#slots.length;
  }

  /** Counts a reply a front made itself from its sessions' results (a split vector env's, joined on the main thread). */
  countAnswer(front: Front, command: RequestCommand, code: ErrorCode | null): void {
    this.#requests.count(front, command, code);
  }

  /** A session id unique in this pool (the `conn` of WorkItems), for any front: TCP, HTTP, … */
  allocateSessionId(): number {
    return this.#nextSessionId++;
  }

  /**
   * The slot for a new connection. Cheap environments are best packed onto few workers: requests
   * that share a worker share its wake-ups, and on two cores a wake-up costs more than the
   * simulation. So a connection goes to the first slot whose worker was busy less than half the
   * time lately, and only when all are that busy to the least busy one.
   */
  assignSlot(): number {
    this.#updateLoads();
    // A slot holding a vector env's thousands of sub-envs is not packed onto: its steps take
    // milliseconds, and a single-env client beside one waited a whole vector step per step (docs/vector.md).
    let chosen = this.#slots.find((slot) => slot.load < PACKING_LOAD && this.envBudget.heldBy(slot.index) < HEAVY_SLOT_ENVS);
    if (!chosen) {
      chosen = this.#slots[0];
      for (const slot of this.#slots) if (slot.load < chosen.load) chosen = slot;
    }
    return chosen.index;
  }

  #sampleSpareCpu(): void {
    const allowed = this.#spareCpu.update(this.#spunReader.delta()) ? 1 : 0;
    for (const slot of this.#slots) Atomics.store(slot.channel.stats, STAT_SPIN, allowed);
  }

  #updateLoads(): void {
    const now = performance.now();
    const elapsed = now - this.#loadSince;
    if (elapsed < LOAD_WINDOW_MS) return;
    for (const slot of this.#slots) {
      const busyMs = slot.busyReader.delta() / 1000;
      // Half the weight on the last window, half on the history: a burst moves it, noise does not.
      slot.load = 0.5 * slot.load + 0.5 * Math.min(1, busyMs / elapsed);
    }
    this.#loadSince = now;
  }

  /**
   * A front is done with a session (its connection closed, its REST env was closed): the session is
   * dropped on its worker after whatever the sink already sent, which may still create it, even an
   * env. A sink that never sent anything has no session to drop.
   *
   * `discard`: nobody can take the replies (the socket closed), so what the sink sent that is not at
   * the worker yet is dropped unrun, a make waiting for preparation included. Without it, 100 clients
   * that pipelined five costly makes each and closed had all 500 run, holding everyone up for ~30 s.
   */
  endSession(slot: number, conn: number, sink: ResultSink, discard = false): void {
    const s = this.#slots[slot];
    if (discard) {
      this.#gone.add(sink);
      const preparing = this.#preparing.get(sink);
      if (preparing) {
        this.#preparing.delete(sink);
        preparing.cancel();
        s.dropped += preparing.bounced.length + preparing.later.length + 1;
      }
      s.dropped += s.queue.remove(sink).length;
    }
    if (sink.sessionGeneration >= 0 || s.queue.has(sink)) this.send(slot, { conn, drop: true }, sink);
  }

  /** Queues an item for a slot's worker; the sink gets its results in the order it sent them. */
  send(slot: number, item: WorkItem, sink: ResultSink): void {
    const preparing = this.#preparing.get(sink);
    if (preparing) {
      preparing.later.push(item);
      return;
    }
    this.#enqueue(this.#slots[slot], item, sink);
  }

  #enqueue(s: Slot, item: WorkItem, sink: ResultSink): void {
    s.queue.push(sink, item);
    if (!s.flushScheduled) {
      s.flushScheduled = true;
      setImmediate(() => this.#flush(s));
    }
  }

  #inFlight(slot: Slot): number {
    return slot.sent.items.length - slot.sent.head;
  }

  /** Writes queued items to the worker, fairly, up to the in-flight limit, then watches for results. */
  #flush(slot: Slot): void {
    slot.flushScheduled = false;
    const { channel, sent } = slot;
    const room = this.#maxInFlight - this.#inFlight(slot);
    if (slot.queue.size === 0 || room <= 0) return this.#awaitResults(slot);
    const { inFlightOf } = slot;
    const { keys: sinks, values: items } = slot.queue.take(room, (sink) => this.#maxInFlightPerSession - (inFlightOf.get(sink) ?? 0));
    const write = (sink: ResultSink, item: WorkItem) =>
      channel.send(item) && (sent.sinks.push(sink), sent.items.push(item), inFlightOf.set(sink, (inFlightOf.get(sink) ?? 0) + 1), true);
    let i = 0;
    for (; i < items.length; i++) {
      const sink = sinks[i];
      // A connection new to this worker (or to its successor) first has its session made there.
      if (sink.sessionGeneration !== slot.generation) {
        const init = sink.sessionInit();
        if (!write(sink, init)) break;
        if (sink.sessionGeneration >= 0 && 'restore' in init) slot.sessionsRebuilt += 1;
        sink.sessionGeneration = slot.generation;
      }
      if (!write(sink, items[i])) break;
    }
    // The ring is full (large items): the rest goes once results free it.
    if (i < items.length) slot.queue.unshift(sinks.slice(i), items.slice(i));
    channel.items.publish();
    this.#awaitResults(slot);
  }

  /**
   * Reads results as they come. With few items out, spin a while first: the worker answers a step in
   * microseconds, and an event-loop wake-up costs tens. Otherwise (or after the spin) sleep on the
   * ring with Atomics.waitAsync, which the worker's publish wakes.
   */
  #awaitResults(slot: Slot): void {
    if (slot.waiting || this.#inFlight(slot) === 0) return;
    const { channel } = slot;
    if (this.#spinMicros > 0 && this.#spareCpu.allowed && this.#inFlight(slot) <= SPIN_ITEMS) {
      this.#mainSpunMicros += channel.results.spinUntilReadable(this.#spinMicros);
      if (channel.results.readable) return this.#readResults(slot);
    }
    const readable = channel.results.whenReadable();
    if (!readable) return this.#readResults(slot);
    slot.waiting = true;
    void readable.then(() => {
      // A worker that died is handled by #workerLost, which drains its channel itself.
      if (slot.channel !== channel) return;
      slot.waiting = false;
      this.#readResults(slot);
    });
  }

  #readResults(slot: Slot): void {
    this.#deliverResults(slot);
    if (slot.queue.size > 0) this.#flush(slot);
    else this.#awaitResults(slot);
    if (slot.queue.size === 0 && this.#inFlight(slot) === 0 && slot.idleWaiters.length > 0) {
      for (const resolve of slot.idleWaiters.splice(0)) resolve();
    }
  }

  /** Hands every result the worker has published to its sink. */
  #deliverResults(slot: Slot): void {
    const { channel, sent } = slot;
    for (let result = channel.receive(); result !== undefined; result = channel.receive()) {
      const i = sent.head++;
      const sink = sent.sinks[i];
      const item = sent.items[i];
      sent.sinks[i] = undefined as unknown as ResultSink;
      sent.items[i] = undefined as unknown as WorkItem;
      slot.stillborn = 0;
      const left = slot.inFlightOf.get(sink)! - 1;
      if (left > 0) slot.inFlightOf.set(sink, left);
      else slot.inFlightOf.delete(sink);
      if (result?.deferred) {
        this.#deferred(slot, sink, item);
        continue;
      }
      // A split vector env's shards answer the coordinator (`shard`, `part`), which counts the client's reply itself.
      if (result !== null && sink.front !== null && !('snapshot' in item) && result.kind !== 'shard' && result.kind !== 'part') {
        this.#requests.count(sink.front, result.command ?? 'invalid', result.code);
      }
      const madeFor = 'prepared' in item ? this.#madeFor.get(item)! : item;
      sink.deliver(result, madeFor);
      this.observer?.(sink, madeFor, result);
      if (left === 0 && this.#preparing.has(sink)) this.#resume(sink);
    }
    channel.results.release();
    if (sent.head === sent.items.length) {
      sent.sinks.length = sent.items.length = sent.head = 0;
    } else if (sent.head > 1024) {
      sent.sinks.splice(0, sent.head);
      sent.items.splice(0, sent.head);
      sent.head = 0;
    }
  }

  /**
   * The worker did not handle `item`: a make with a costly part (the first such result of a session),
   * which goes to the preparation pool, or an item the session sent after it, kept to send again.
   */
  #deferred(slot: Slot, sink: ResultSink, item: WorkItem): void {
    if (this.#gone.has(sink)) {
      slot.dropped += 1;
      return;
    }
    const waiting = this.#preparing.get(sink);
    if (waiting) {
      waiting.bounced.push(item);
      if (!slot.inFlightOf.has(sink)) this.#resume(sink);
      return;
    }
    const preparing: Preparing = {
      slot,
      prepared: null,
      bounced: [],
      // What the session has queued came after the make; it waits here with what it sends next.
      later: slot.queue.remove(sink),
      cancel: () => {},
    };
    this.#preparing.set(sink, preparing);
    preparing.cancel = this.#preparePool.prepare((item as { line: string }).line, (prepared: PreparedMake) => {
      if (this.#preparing.get(sink) !== preparing) return;
      preparing.prepared = { conn: item.conn, prepared };
      this.#madeFor.set(preparing.prepared, item);
      if (!slot.inFlightOf.has(sink)) this.#resume(sink);
    });
  }

  /** A session's make is prepared and none of its items is at the worker: they go on, prepared make first. */
  #resume(sink: ResultSink): void {
    const preparing = this.#preparing.get(sink)!;
    if (preparing.prepared === null) return;
    this.#preparing.delete(sink);
    const { slot } = preparing;
    for (const item of [preparing.prepared, ...preparing.bounced, ...preparing.later]) this.#enqueue(slot, item, sink);
  }

  /** Starts the slot's worker on a new channel; when its task fails, the worker died. */
  #serve(slot: Slot): void {
    const channel = new MainChannel(slot.doorbell);
    slot.channel = channel;
    slot.busy.moveTo(channel.stats);
    slot.spun.moveTo(channel.stats);
    slot.figures.moveTo(channel.stats);
    const task: ServeTask & { [key: symbol]: unknown } = {
      channel: channel.ends,
      slot: slot.index,
      spinMicros: this.#spinMicros,
      [Piscina.queueOptionsSymbol]: { slot: slot.index },
    };
    this.piscina.run(task, { transferList: [channel.ends.port] }).then(
      () => channel.close(),
      (err: Error) => {
        // Piscina aborts tasks it is given while closing or destroyed: then there is no successor.
        if (err?.name === 'AbortError') this.#closed = true;
        // Workers that die before answering anything, again and again, will not start at all.
        if (++slot.stillborn >= 3 && !this.#closed) {
          this.#failStart?.(new Error(`worker threads cannot start: ${err?.message ?? err}`));
          this.#closed = true;
        }
        this.#workerLost(slot, channel);
      },
    );
  }

  /**
   * The slot's worker died (Piscina replaces it). What it answered is delivered; what it had not is
   * run again on its successor, where each connection's session is first rebuilt (sessionInit). An
   * item that already killed one worker is not tried a third time.
   */
  #workerLost(slot: Slot, channel: MainChannel): void {
    if (slot.channel !== channel) return;
    this.#deliverResults(slot);
    channel.close();
    // Settle a pending waitAsync on the dead channel (it will find the slot moved on).
    channel.results.wake();
    slot.waiting = false;
    slot.threadId = null;
    slot.generation += 1;
    this.envBudget.releaseSlot(slot.index);
    const { sinks, items, head } = slot.sent;
    slot.sent = { sinks: [], items: [], head: 0 };
    slot.inFlightOf.clear();
    const again: { sinks: ResultSink[]; items: WorkItem[] } = { sinks: [], items: [] };
    for (let i = head; i < items.length; i++) {
      // Sessions are made again from scratch on the successor: their old init items are not rerun.
      if ('init' in items[i]) continue;
      // A session waiting for a prepared make: its items stay behind the make (the successor knows nothing of it).
      const preparing = this.#preparing.get(sinks[i]);
      if (preparing && !this.#closed && ('line' in items[i] || 'fail' in items[i])) {
        preparing.bounced.push(items[i]);
        continue;
      }
      if (this.#closed || this.#retried.has(items[i])) {
        // Answered ENV_LOST by its sink; what it asked was never read.
        const { front } = sinks[i];
        if (front !== null && ('line' in items[i] || 'fail' in items[i])) this.#requests.count(front, 'lost', 'ENV_LOST');
        sinks[i].workerLost(items[i]);
      } else {
        this.#retried.add(items[i]);
        again.sinks.push(sinks[i]);
        again.items.push(items[i]);
      }
    }
    if (this.#closed) return;
    slot.restarts += 1;
    // While the pool starts, a dying worker is a broken install, which start() reports.
    if (!this.#failStart) this.#onWorkerLost(slot.index);
    slot.queue.unshift(again.sinks, again.items);
    for (const [sink, preparing] of this.#preparing) if (preparing.slot === slot) this.#resume(sink);
    this.#serve(slot);
    this.#flush(slot);
  }

  async close(): Promise<void> {
    this.#closed = true;
    clearInterval(this.#spareCpuTimer);
    // A worker returns from its serve task when it finds STOP set after handling an item. A no-op
    // item wakes it for sure: a bare notify could come between its look at STOP and its sleep.
    for (const slot of this.#slots) {
      Atomics.store(slot.channel.stats, STAT_STOP, 1);
      this.send(slot.index, { conn: 0, drop: true }, new NotifySink(() => {}));
    }
    await Promise.all([this.piscina.close(), this.#preparePool.close()]);
    stopAtExit.delete(this.#stopWorkers);
    if (stopAtExit.size === 0) process.off('exit', stopPoolsAtExit);
    for (const slot of this.#slots) slot.doorbell?.close();
  }
}
