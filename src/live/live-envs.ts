/**
 * The environments alive now, over both fronts, as the live view shows them: instance id, env id,
 * front, steps, episodes and their returns. Kept on the main thread from the results the pool reads
 * (EnvPool's ResultObserver), so it costs the workers nothing: a map lookup and a few additions per
 * result. Frames are not its business: the fronts publish them on the server's FrameBus (see
 * src/recording/feed.ts), which the directory carries for the live view's routes.
 *
 * One directory per pool (`LiveEnvs.of`): the TCP front and the REST front share the pool, so both
 * find the same one.
 */
import type { EnvPool, ResultSink } from '../pool/env-pool.js';
import type { WorkItem, WorkResult } from '../pool/work.js';
import type { Front } from '../stats.js';
import { FrameBus } from './frame-bus.js';

/**
 * Returns kept per env for the plot: the last 1,000 episodes (8 KB) whatever the env's age, so
 * memory stays bounded per env; the count of episodes goes on.
 */
export const RETURNS_KEPT = 1000;

/** One environment alive now. */
export class LiveEnv {
  readonly created = Date.now();
  /** Steps over the env's life, episodes ended, and steps in the current episode. */
  steps = 0;
  episodes = 0;
  episodeSteps = 0;
  /** Returns of the episodes `firstKept` … `episodes - 1`, oldest first (at most RETURNS_KEPT). */
  readonly returns: number[] = [];
  firstKept = 0;

  constructor(
    readonly instance: string,
    /** The env id as the client asked for it (`FrozenLake-v0` stays `FrozenLake-v0`). */
    readonly envId: string,
    readonly front: Front,
    /** The session's own instance id (the same as `instance`, except for REST envs, named by the REST front). */
    readonly sessionInstance: string,
  ) {}

  get lastReturn(): number | null {
    return this.returns.length > 0 ? this.returns[this.returns.length - 1] : null;
  }

  episodeEnded(total: number): void {
    this.returns.push(total);
    this.episodes += 1;
    if (this.returns.length > RETURNS_KEPT) {
      this.returns.shift();
      this.firstKept += 1;
    }
  }

  /** The returns of episodes from index `from` on (as many as are still kept), and the index of the first. */
  returnsSince(from: number): { from: number; returns: number[] } {
    const start = Math.max(from, this.firstKept);
    return { from: start, returns: this.returns.slice(start - this.firstKept) };
  }

  /** What the page's list shows. */
  summary(): LiveEnvSummary {
    return {
      instance: this.instance,
      env_id: this.envId,
      front: this.front,
      steps: this.steps,
      episodes: this.episodes,
      last_return: this.lastReturn,
      created: new Date(this.created).toISOString(),
    };
  }
}

export interface LiveEnvSummary {
  instance: string;
  env_id: string;
  front: Front;
  steps: number;
  episodes: number;
  last_return: number | null;
  created: string;
}

const directories = new WeakMap<EnvPool, LiveEnvs>();

export class LiveEnvs {
  /**
   * Where rendered frames meet their consumers (the live view, the recorder): the server's one bus.
   * The fronts publish on it as their results arrive (src/recording/feed.ts); the directory only reads.
   */
  readonly frames: FrameBus;
  /** By pool session (`conn`): the env each session holds now. */
  readonly #bySession = new Map<number, LiveEnv>();
  readonly #byInstance = new Map<string, LiveEnv>();
  readonly #goneListeners = new Set<(env: LiveEnv) => void>();

  /** The directory of `pool`'s envs, made (and set to observe the pool) on first use. */
  static of(pool: EnvPool, frames: FrameBus = new FrameBus()): LiveEnvs {
    let live = directories.get(pool);
    if (!live) {
      const made = new LiveEnvs(frames);
      pool.observer = (sink, item, result) => made.observe(sink, item, result);
      directories.set(pool, (live = made));
    }
    return live;
  }

  private constructor(frames: FrameBus) {
    this.frames = frames;
  }

  get size(): number {
    return this.#byInstance.size;
  }

  list(): LiveEnv[] {
    return [...this.#byInstance.values()];
  }

  get(instance: string): LiveEnv | undefined {
    return this.#byInstance.get(instance);
  }

  /** Called with each env that goes (closed, replaced, its session dropped); returns the unsubscribe function. */
  onGone(listener: (env: LiveEnv) => void): () => void {
    this.#goneListeners.add(listener);
    return () => void this.#goneListeners.delete(listener);
  }

  /** One result, after its sink took it (see ResultObserver). */
  observe(sink: ResultSink, item: WorkItem, result: WorkResult): void {
    if ('drop' in item) return this.#forget(item.conn);
    if (result === null || sink.front === null || !('line' in item)) return;
    let env = this.#bySession.get(item.conn);
    if (env?.sessionInstance !== result.instance) {
      // A make (a new instance id), a close (none), or a session rebuilt without its env.
      this.#forget(item.conn);
      env = undefined;
      if (result.instance !== null) {
        env = new LiveEnv(sink.instanceId ?? result.instance, envIdOf(item.line), sink.front, result.instance);
        this.#bySession.set(item.conn, env);
        this.#byInstance.set(env.instance, env);
      }
    }
    if (!env) return;
    if (result.kind === 'step') {
      env.steps += 1;
      env.episodeSteps += 1;
    } else if (result.kind === 'observation') {
      env.episodeSteps = 0;
    }
    if (result.episode) env.episodeEnded(result.episode.r);
  }

  #forget(conn: number): void {
    const env = this.#bySession.get(conn);
    if (!env) return;
    this.#bySession.delete(conn);
    this.#byInstance.delete(env.instance);
    for (const listener of this.#goneListeners) {
      try {
        listener(env);
      } catch {
        // A listener's failure must not keep the directory from moving on.
      }
    }
  }
}

/** The env id a `make` line asked for (the line is only read when a session's instance changes). */
function envIdOf(line: string): string {
  try {
    const name = (JSON.parse(line) as { env?: { name?: unknown } } | null)?.env?.name;
    return typeof name === 'string' ? name : '?';
  } catch {
    return '?';
  }
}
