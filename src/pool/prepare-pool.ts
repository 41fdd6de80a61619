import { Piscina } from 'piscina';
import type { PreparePoolStats } from '../stats.js';
import type { PreparedMake } from './work.js';

const WORKER_FILE = new URL(
  import.meta.url.endsWith('.ts') ? '../../dist/workers/prepare-worker.js' : '../../workers/prepare-worker.js',
  import.meta.url,
).href;

interface Job {
  line: string;
  done: (prepared: PreparedMake) => void;
}

/**
 * The preparation pool: a few threads beside the env workers that do the costly part of a `make`
 * (EnvSpec.prepare: a generated map), so that the thread stepping other sessions' envs never spends
 * milliseconds on one make. A FrozenLake make of a hopeless random 64x64 map drew a million tiles
 * (~50–65 ms) on the env worker, and a connection pipelining them held every step of its worker's
 * other connections that long each (docs/architecture.md, "Fair under expensive requests").
 *
 * Its queue is its own, not Piscina's: a job whose connection went away is taken out before it runs
 * (Piscina can only abort a running task by stopping its thread). A session has at most one job at a
 * time (the pool holds its later items meanwhile), so the queue is bounded by the sessions.
 */
export class PreparePool {
  readonly #piscina: Piscina;
  readonly #threads: number;
  readonly #queue: Job[] = [];
  #running = 0;
  #prepared = 0;
  #dropped = 0;

  constructor(threads: number) {
    if (!Number.isInteger(threads) || threads < 1) throw new RangeError(`preparation threads must be a positive integer, got ${threads}`);
    this.#threads = threads;
    // Kept started: a thread started on demand, with the env code loaded, made the first costly make
    // wait ~1 s on a loaded 2-core machine.
    this.#piscina = new Piscina({ filename: WORKER_FILE, minThreads: threads, maxThreads: threads, idleTimeout: Infinity, recordTiming: false });
  }

  /** Resolves when a thread has loaded the env code (EnvPool.start waits for it). */
  async warm(): Promise<void> {
    await this.#piscina.run(null);
  }

  /** Prepares a deferred make line; returns how to cancel it while it waits (then `done` is never called). */
  prepare(line: string, done: (prepared: PreparedMake) => void): () => void {
    const job: Job = { line, done };
    this.#queue.push(job);
    this.#next();
    return () => {
      const at = this.#queue.indexOf(job);
      if (at >= 0) {
        this.#queue.splice(at, 1);
        this.#dropped += 1;
      }
      job.done = () => {};
    };
  }

  stats(): PreparePoolStats {
    return { threads: this.#threads, queued: this.#queue.length, running: this.#running, prepared: this.#prepared, dropped: this.#dropped };
  }

  #next(): void {
    while (this.#running < this.#threads && this.#queue.length > 0) {
      const job = this.#queue.shift()!;
      this.#running += 1;
      this.#piscina.run(job.line).then(
        (prepared: PreparedMake) => this.#finish(job, prepared),
        (err: Error) => this.#finish(job, { code: 'ENV_FAILED', message: `preparing the environment failed: ${err?.message ?? err}` }),
      );
    }
  }

  #finish(job: Job, prepared: PreparedMake): void {
    this.#running -= 1;
    this.#prepared += 1;
    job.done(prepared);
    this.#next();
  }

  async close(): Promise<void> {
    this.#queue.length = 0;
    await this.#piscina.close();
  }
}
