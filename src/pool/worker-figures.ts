/**
 * Figures only a worker thread can see, kept for the main thread in its channel's shared stats words
 * (channel.ts, after the STAT_* words): how long each `step` took on the worker, as a histogram, and
 * the environments the worker holds, by env id. A metrics exporter reads them through the pool's
 * stats() like every other figure, so no second reader takes samples from the pool's.
 *
 * The cost on the worker's hot path is one `performance.now()` per item (the batch's busy time is now
 * the sum of the same readings, so it costs nothing more) and a few comparisons to find the bucket;
 * the shared words are added to once per batch, not per step. Env counts change only on make, close
 * and a session's end, never per step.
 */
import { envIds } from '../envs/registry.js';
import { WidenedCounter } from './counters.js';

/**
 * Upper bounds of the step-time buckets, in microseconds. A CartPole step takes a few µs on the
 * worker (parse from the line cache, simulate, encode, frame), a Box2D step tens to hundreds; the top
 * bounds catch a stalled worker (a long GC, a first make that loads code).
 */
export const STEP_MICROS_BUCKETS = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10_000, 50_000, 100_000] as const;

/** The first shared word after channel.ts's STAT_* words (0–4; 5–7 spare). */
const FIRST_WORD = 8;
/** Sum of the step times, in whole microseconds (the fractions carry over on the worker). */
const STEP_MICROS_WORD = FIRST_WORD;
/** One word per bucket, the last for steps over the top bound (counts per bucket, not cumulative). */
const STEP_BUCKET_WORDS = STEP_MICROS_WORD + 1;
const ENV_WORDS = STEP_BUCKET_WORDS + STEP_MICROS_BUCKETS.length + 1;

/** The env ids counted, in catalogue order; the same list on both sides (the same code computes it). */
const ENV_IDS = envIds();
const ENV_INDEX = new Map(ENV_IDS.map((id, i) => [id, i]));

/** Bytes of a channel's shared stats: the STAT_* words and these figures. */
export const CHANNEL_STATS_BYTES = 4 * (ENV_WORDS + ENV_IDS.length);

/** The worker's side: counts in plain numbers during a batch, adds them to the shared words at its end. */
export class WorkerFigures {
  readonly #stats: Int32Array;
  readonly #buckets = new Float64Array(STEP_MICROS_BUCKETS.length + 1);
  #micros = 0;
  #steps = 0;
  /** Each session's env (its index in ENV_IDS), by session. */
  readonly #envOf = new Map<number, number>();

  constructor(stats: Int32Array) {
    this.#stats = stats;
  }

  /** One step took `micros` on this worker. */
  step(micros: number): void {
    let i = 0;
    while (i < STEP_MICROS_BUCKETS.length && micros > STEP_MICROS_BUCKETS[i]) i++;
    this.#buckets[i] += 1;
    this.#micros += micros;
    this.#steps += 1;
  }

  /** Publishes the batch's steps (once per batch). */
  flush(): void {
    if (this.#steps === 0) return;
    for (let i = 0; i < this.#buckets.length; i++) {
      if (this.#buckets[i] === 0) continue;
      Atomics.add(this.#stats, STEP_BUCKET_WORDS + i, this.#buckets[i]);
      this.#buckets[i] = 0;
    }
    const whole = Math.floor(this.#micros);
    Atomics.add(this.#stats, STEP_MICROS_WORD, whole);
    this.#micros -= whole;
    this.#steps = 0;
  }

  /** Session `conn` now holds an env of this id (null: none). */
  envChanged(conn: number, envId: string | null): void {
    const before = this.#envOf.get(conn);
    const after = envId === null ? undefined : ENV_INDEX.get(envId);
    if (before === after) return;
    if (before !== undefined) {
      Atomics.sub(this.#stats, ENV_WORDS + before, 1);
      this.#envOf.delete(conn);
    }
    if (after !== undefined) {
      Atomics.add(this.#stats, ENV_WORDS + after, 1);
      this.#envOf.set(conn, after);
    }
  }
}

/** Step times as the main thread reads them: counters that never wrap, per slot, across its workers. */
export interface StepMicros {
  /** Steps per bucket of STEP_MICROS_BUCKETS (not cumulative); the last entry: over the top bound. */
  buckets: number[];
  /** Microseconds all these steps took. */
  sum: number;
}

/** The main thread's side, one per slot: widens the counters (they wrap at 2^32) and moves to each successor's channel. */
export class WorkerFiguresReader {
  readonly #sum = new WidenedCounter(STEP_MICROS_WORD);
  readonly #buckets = Array.from({ length: STEP_MICROS_BUCKETS.length + 1 }, (_, i) => new WidenedCounter(STEP_BUCKET_WORDS + i));
  #stats: Int32Array | null = null;

  /** Reads from a successor worker's channel from now on; the step counts so far are kept, the env counts are the new worker's. */
  moveTo(stats: Int32Array): void {
    this.#stats = stats;
    this.#sum.moveTo(stats);
    for (const bucket of this.#buckets) bucket.moveTo(stats);
  }

  steps(): StepMicros {
    return { buckets: this.#buckets.map((bucket) => bucket.read()), sum: this.#sum.read() };
  }

  /** Adds the worker's envs, by id, to `into` (ids it holds none of are left as they are). */
  addEnvs(into: Record<string, number>): void {
    if (this.#stats === null) return;
    for (let i = 0; i < ENV_IDS.length; i++) {
      const held = Atomics.load(this.#stats, ENV_WORDS + i);
      if (held !== 0) into[ENV_IDS[i]] = (into[ENV_IDS[i]] ?? 0) + held;
    }
  }
}
