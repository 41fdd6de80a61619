import { Piscina } from 'piscina';
import { EnvBudget } from './env-budget.js';
import { FairQueue } from './fair-queue.js';
import type { WorkBatch, WorkBatchResult, WorkItem, WorkResult } from './work.js';

/** One connection as the pool sees it: it receives results in the order it sent the items. */
export interface ResultSink {
  deliver(result: WorkResult, item: WorkItem): void;
  /**
   * The worker died before answering `item`, twice: the pool re-runs a dead worker's batch once on
   * its successor (after `sessionInit()`), and gives up only if that one dies on it too.
   */
  workerLost(item: WorkItem): void;
  /**
   * The slot generation this connection's session was created in (-1: none yet). When a worker dies
   * its slot's generation moves on, and the pool sends `sessionInit()` before the connection's next item.
   */
  sessionGeneration: number;
  sessionInit(): WorkItem;
}

export interface EnvPoolOptions {
  /** Worker threads; each connection's session lives on exactly one. */
  workers: number;
  /**
   * Items per task at most, and tasks in flight per worker. Measured with `npm run bench` on two
   * cores: 2 tasks of at most 16 items let the worker simulate one batch while the main thread writes
   * the replies of the other, and beat both one big batch at a time (the two threads take turns
   * idling) and many small ones (every task is a thread wake-up each way).
   */
  maxBatch?: number;
  tasksInFlight?: number;
  /** Environments the whole pool may hold (default 100,000); a `make` beyond gets TOO_MANY_ENVS. */
  maxEnvs?: number;
  /** Called when a worker thread stopped (its sessions are then rebuilt on its successor), for logs. */
  onWorkerLost?: (slot: number) => void;
}

interface Slot {
  index: number;
  /** threadId of the Piscina worker serving this slot; null until assigned or after it died. */
  threadId: number | null;
  /** Moves on each time the slot's worker dies, so sessions are recreated on its successor. */
  generation: number;
  queue: FairQueue<ResultSink, WorkItem>;
  inFlight: number;
  flushScheduled: boolean;
  connections: number;
  /**
   * Tasks still out with a worker that died. Nothing is dispatched until they have all come back;
   * then their items (`failed`, in the order they were sent) go back to the front of the queue.
   */
  staleTasks: number;
  failed: { sinks: ResultSink[]; items: WorkItem[] };
  /** Worker time spent on this slot's batches since `loadSince`, and the share of time it was busy. */
  busyMs: number;
  load: number;
}

/** How often slot loads are recomputed, and the load under which a slot takes more connections. */
const LOAD_WINDOW_MS = 250;
const PACKING_LOAD = 0.5;

const WORKER_FILE = new URL(
  import.meta.url.endsWith('.ts') ? '../../dist/workers/env-worker.js' : '../../workers/env-worker.js',
  import.meta.url,
).href;

/**
 * The environments' worker threads. A connection is pinned to a slot, a slot to one Piscina worker
 * (by a load balancer that routes on the slot), so its environment's state stays on one thread.
 *
 * Items for a slot are coalesced: everything that arrives in one event-loop turn, and everything
 * that arrives while the slot's worker is busy, goes out as one Piscina task. One task per step
 * costs ~50–100 µs of main-thread and messaging overhead; one task per batch divides that by the batch.
 */
export class EnvPool {
  readonly piscina: Piscina;
  readonly envBudget: EnvBudget;
  readonly #slots: Slot[];
  readonly #maxBatch: number;
  readonly #tasksInFlight: number;
  readonly #onWorkerLost: (slot: number) => void;
  #closed = false;
  #nextSessionId = 1;
  /** Items already re-run once after their worker died. */
  readonly #retried = new WeakSet<WorkItem>();
  #loadSince = performance.now();

  constructor(options: EnvPoolOptions) {
    const workers = options.workers;
    if (!Number.isInteger(workers) || workers < 1) throw new RangeError(`workers must be a positive integer, got ${workers}`);
    this.#maxBatch = options.maxBatch ?? 16;
    this.#tasksInFlight = options.tasksInFlight ?? 2;
    this.#onWorkerLost = options.onWorkerLost ?? (() => {});
    this.#slots = Array.from({ length: workers }, (_, index) => ({
      index,
      threadId: null,
      generation: 0,
      queue: new FairQueue<ResultSink, WorkItem>(),
      inFlight: 0,
      flushScheduled: false,
      connections: 0,
      staleTasks: 0,
      failed: { sinks: [], items: [] },
      busyMs: 0,
      load: 0,
    }));
    this.envBudget = EnvBudget.create(workers, options.maxEnvs ?? 100_000);
    this.piscina = new Piscina({
      filename: WORKER_FILE,
      workerData: { envBudget: this.envBudget.buffer },
      minThreads: workers,
      maxThreads: workers,
      idleTimeout: Infinity,
      concurrentTasksPerWorker: this.#tasksInFlight,
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
    // A worker that exited reports threadId -1 here, so find the slots whose thread is gone.
    this.piscina.on('workerDestroy', () => {
      setImmediate(() => {
        const live = new Set(this.piscina.threads.map((t) => t.threadId));
        for (const slot of this.#slots) if (slot.threadId !== null && !live.has(slot.threadId)) this.#workerLost(slot);
      });
    });
    // A worker that dies while idle is reported here; its slot is handled by workerDestroy.
    this.piscina.on('error', () => {});
  }

  /** Starts every worker and pins it to a slot; resolves when all answer. */
  async start(): Promise<void> {
    await Promise.all(this.#slots.map((slot) => this.#run(slot, []).then(() => undefined)));
  }

  /** Sessions each worker holds (for leak checks and metrics), asked of every worker. */
  async sessionCounts(): Promise<number[]> {
    return Promise.all(this.#slots.map(async (slot) => (await this.#run(slot, [])).sessions));
  }

  /** A session id unique in this pool (the `conn` of WorkItems), for any front: TCP, HTTP, … */
  allocateSessionId(): number {
    return this.#nextSessionId++;
  }

  /**
   * The slot for a new connection. Cheap environments are best packed onto few workers: requests
   * that share a worker share its tasks, and every task costs a thread wake-up each way (on two
   * cores, more than the simulation). So a connection goes to the first slot whose worker was busy
   * less than half the time lately, and only when all are that busy to the least busy one.
   */
  assignSlot(): number {
    this.#updateLoads();
    let chosen = this.#slots.find((slot) => slot.load < PACKING_LOAD);
    if (!chosen) {
      chosen = this.#slots[0];
      for (const slot of this.#slots) if (slot.load < chosen.load) chosen = slot;
    }
    chosen.connections += 1;
    return chosen.index;
  }

  #updateLoads(): void {
    const now = performance.now();
    const elapsed = now - this.#loadSince;
    if (elapsed < LOAD_WINDOW_MS) return;
    for (const slot of this.#slots) {
      // Half the weight on the last window, half on the history: a burst moves it, noise does not.
      slot.load = 0.5 * slot.load + 0.5 * Math.min(1, slot.busyMs / elapsed);
      slot.busyMs = 0;
    }
    this.#loadSince = now;
  }

  /**
   * A front is done with a session (its connection closed, its REST env was closed): the session is
   * dropped on its worker after whatever the sink already sent — which may still create it, even an
   * env — and the sink's place on the slot is given back.
   */
  endSession(slot: number, conn: number, sink: ResultSink): void {
    const s = this.#slots[slot];
    if (sink.sessionGeneration >= 0 || s.queue.has(sink) || s.failed.sinks.includes(sink)) this.send(slot, { conn, drop: true }, sink);
    s.connections -= 1;
  }

  /** Queues an item for a slot's worker; the sink gets its results in the order it sent them. */
  send(slot: number, item: WorkItem, sink: ResultSink): void {
    const s = this.#slots[slot];
    s.queue.push(sink, item);
    if (!s.flushScheduled && s.inFlight < this.#tasksInFlight) {
      s.flushScheduled = true;
      setImmediate(() => this.#flush(s));
    }
  }

  #flush(slot: Slot): void {
    slot.flushScheduled = false;
    if (slot.staleTasks > 0) return;
    while (slot.queue.size > 0 && slot.inFlight < this.#tasksInFlight) {
      const { keys, values } = slot.queue.take(this.#maxBatch);
      this.#dispatch(slot, values, keys);
    }
  }

  #dispatch(slot: Slot, queued: WorkItem[], queuedSinks: ResultSink[]): void {
    // Recreate, ahead of its items, the session of any connection that has none on this worker yet.
    let items = queued;
    let sinks = queuedSinks;
    if (queuedSinks.some((sink) => sink.sessionGeneration !== slot.generation)) {
      items = [];
      sinks = [];
      for (let i = 0; i < queued.length; i++) {
        const sink = queuedSinks[i];
        if (sink.sessionGeneration !== slot.generation) {
          sink.sessionGeneration = slot.generation;
          items.push(sink.sessionInit());
          sinks.push(sink);
        }
        items.push(queued[i]);
        sinks.push(sink);
      }
    }
    const generation = slot.generation;
    slot.inFlight += 1;
    this.#run(slot, items).then(
      ({ results, busyMs }) => {
        slot.inFlight -= 1;
        if (slot.generation !== generation) slot.staleTasks -= 1;
        slot.busyMs += busyMs;
        for (let i = 0; i < items.length; i++) sinks[i].deliver(results[i], items[i]);
        this.#done(slot);
      },
      () => {
        // The worker died mid-task (Piscina replaces it). Run the batch again on its successor,
        // where each connection's session is first rebuilt (sessionInit); a batch that already
        // killed one worker is not tried a third time.
        slot.inFlight -= 1;
        if (slot.generation === generation) this.#workerLost(slot);
        else slot.staleTasks -= 1;
        if (this.#closed || queued.some((item) => this.#retried.has(item))) {
          for (let i = 0; i < items.length; i++) sinks[i].workerLost(items[i]);
        } else {
          for (const item of queued) this.#retried.add(item);
          slot.failed.items.push(...queued);
          slot.failed.sinks.push(...queuedSinks);
        }
        if (slot.staleTasks === 0 && slot.failed.items.length > 0) {
          slot.queue.unshift(slot.failed.sinks, slot.failed.items);
          slot.failed = { sinks: [], items: [] };
        }
        this.#done(slot);
      },
    );
  }

  #run(slot: Slot, items: WorkItem[]): Promise<WorkBatchResult> {
    const task: WorkBatch & { [key: symbol]: unknown } = { items, slot: slot.index, [Piscina.queueOptionsSymbol]: { slot: slot.index } };
    return this.piscina.run(task);
  }

  #workerLost(slot: Slot): void {
    slot.threadId = null;
    slot.generation += 1;
    slot.staleTasks = slot.inFlight;
    this.envBudget.releaseSlot(slot.index);
    if (!this.#closed) this.#onWorkerLost(slot.index);
  }

  #done(slot: Slot): void {
    if (slot.queue.size > 0 && !slot.flushScheduled) this.#flush(slot);
  }

  async close(): Promise<void> {
    this.#closed = true;
    await this.piscina.close();
  }
}
