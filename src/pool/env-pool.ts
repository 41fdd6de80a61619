/**
 * The worker pool's main-thread side. Longer than 400 lines on purpose: the slots, the packing, the flush
 * to the rings, reading results and rebuilding a dead worker's sessions all act on the same Slot
 * state in the same event-loop turns; what stands alone is beside it (channel, ring, doorbell,
 * fair-queue, spare-cpu, counters, session-recovery, env-budget).
 */
import { Piscina } from 'piscina';
import { Doorbell } from './doorbell.js';
import { EnvBudget } from './env-budget.js';
import { FairQueue } from './fair-queue.js';
import { MainChannel, STAT_BUSY_MICROS, STAT_SESSIONS, STAT_SPIN, STAT_SPUN_MICROS, STAT_STOP } from './channel.js';
import { SpareCpu } from './spare-cpu.js';
import { CounterReader, RequestCounter, WidenedCounter } from './counters.js';
import type { ServeTask, WorkItem, WorkResult } from './work.js';
import type { Front, PoolStats } from '../stats.js';

/** One connection as the pool sees it: it receives results in the order it sent the items. */
export interface ResultSink {
  /** The front whose requests these are, for the stats (null: the pool's own no-op items, which get no reply). */
  readonly front: Front | null;
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
}

/** How often slot loads are recomputed, and the load under which a slot takes more connections. */
const LOAD_WINDOW_MS = 250;
const PACKING_LOAD = 0.5;
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

  constructor(options: EnvPoolOptions) {
    const workers = options.workers;
    if (!Number.isInteger(workers) || workers < 1) throw new RangeError(`workers must be a positive integer, got ${workers}`);
    this.#maxInFlight = options.maxInFlight ?? 64;
    this.#spinMicros = options.spinMicros ?? 100;
    this.#onWorkerLost = options.onWorkerLost ?? (() => {});
    this.envBudget = EnvBudget.create(workers, options.maxEnvs ?? 100_000);
    this.piscina = new Piscina({
      filename: WORKER_FILE,
      workerData: { envBudget: this.envBudget.buffer, maxNumEnvs: options.maxNumEnvs },
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
    await Promise.race([ready, failed]);
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
        restarts: slot.restarts,
        sessionsRebuilt: slot.sessionsRebuilt,
        load: slot.load,
      })),
      sessionsOpened: this.#nextSessionId - 1,
      envs: this.envBudget.total,
      envLimit: this.envBudget.limit,
      mainSpunMicros: this.#mainSpunMicros,
      spinning: this.#spareCpu.allowed,
      byFront: this.#requests.snapshot(),
    };
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
   */
  endSession(slot: number, conn: number, sink: ResultSink): void {
    if (sink.sessionGeneration >= 0 || this.#slots[slot].queue.has(sink)) this.send(slot, { conn, drop: true }, sink);
  }

  /** Queues an item for a slot's worker; the sink gets its results in the order it sent them. */
  send(slot: number, item: WorkItem, sink: ResultSink): void {
    const s = this.#slots[slot];
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
    const { keys: sinks, values: items } = slot.queue.take(room);
    const write = (sink: ResultSink, item: WorkItem) => channel.send(item) && (sent.sinks.push(sink), sent.items.push(item), true);
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
      if (result !== null && sink.front !== null && !('snapshot' in item)) this.#requests.count(sink.front, result.command ?? 'invalid', result.code);
      sink.deliver(result, item);
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

  /** Starts the slot's worker on a new channel; when its task fails, the worker died. */
  #serve(slot: Slot): void {
    const channel = new MainChannel(slot.doorbell);
    slot.channel = channel;
    slot.busy.moveTo(channel.stats);
    slot.spun.moveTo(channel.stats);
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
    const again: { sinks: ResultSink[]; items: WorkItem[] } = { sinks: [], items: [] };
    for (let i = head; i < items.length; i++) {
      // Sessions are made again from scratch on the successor: their old init items are not rerun.
      if ('init' in items[i]) continue;
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
    await this.piscina.close();
    stopAtExit.delete(this.#stopWorkers);
    if (stopAtExit.size === 0) process.off('exit', stopPoolsAtExit);
    for (const slot of this.#slots) slot.doorbell?.close();
  }
}
