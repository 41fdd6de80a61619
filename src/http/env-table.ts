/**
 * The REST envs alive now, by instance_id, and their lifetime: making one (within the table's limit),
 * looking one up for a request, the idle sweep that closes an env untouched for the idle timeout, and
 * disposing of an env (its session, then its monitor's files).
 */
import type { EnvPool } from '../pool/env-pool.js';
import { newInstanceId } from '../protocol/instance-id.js';
import { request, requestLine } from '../protocol/messages.js';
import { HttpError, badRequest, lostError, protocolError } from './errors.js';
import { RestEnv, type ProtocolReply } from './rest-env.js';
import type { RestServerOptions } from './rest-server.js';

/** The options the table reads (RestServer's; declared there). */
export type EnvTableOptions = Pick<RestServerOptions, 'idleTimeoutMs' | 'maxEnvs' | 'nodeId' | 'frames' | 'recorder'>;

/** REST's share of the server-wide env limit when --rest-max-envs is not given: half (at least one). */
export function restShareOf(maxEnvs: number): number {
  return Math.max(1, Math.floor(maxEnvs / 2));
}

export class EnvTable {
  /**
   * REST envs that may exist at once: --rest-max-envs, by default half of the pool's --max-envs.
   * REST's share: a REST env outlives its connection (until --rest-idle-timeout, an hour by default),
   * so without one, 50 REST envs made and left held a --max-envs of 50 and every TCP client got
   * TOO_MANY_ENVS for an hour. TCP envs each need an open connection (so --max-connections bounds
   * them) and go when it closes.
   */
  readonly maxEnvs: number;
  readonly #envs = new Map<string, RestEnv>();
  /** Envs being made: they count against the limit before they are in the table. */
  #creating = 0;
  #sweeper: NodeJS.Timeout | null = null;
  /** Envs made, and closed by the idle timeout, since start (stats(); never reset). */
  created = 0;
  expired = 0;
  #closing = false;

  constructor(
    readonly pool: EnvPool,
    readonly options: EnvTableOptions,
  ) {
    this.maxEnvs = options.maxEnvs ?? restShareOf(pool.envBudget.limit);
    if (options.idleTimeoutMs > 0) {
      const every = Math.min(60_000, Math.max(20, Math.floor(options.idleTimeoutMs / 4)));
      this.#sweeper = setInterval(() => this.#sweep(), every);
      this.#sweeper.unref();
    }
  }

  get size(): number {
    return this.#envs.size;
  }

  values(): IterableIterator<RestEnv> {
    return this.#envs.values();
  }

  /** gym-http-api's _lookup_env; `allowLost` for the routes that still serve an env whose worker stopped. */
  lookup(id: string, { allowLost = false } = {}): RestEnv {
    const env = this.#envs.get(id);
    if (!env) throw badRequest(`Instance_id ${id} unknown`);
    env.lastUsed = Date.now();
    if (env.lost && !allowLost) throw lostError(env);
    return env;
  }

  /**
   * Makes an env of `envId` (with gym.make keyword arguments, seeded when `seedText` is given) and
   * adds it to the table; the REST error when it cannot be made.
   */
  async make(envId: string, kwargs: Record<string, unknown> | undefined, seedText: string | null): Promise<RestEnv> {
    if (this.#envs.size + this.#creating >= this.maxEnvs) {
      throw new HttpError(
        429,
        `too many environments: REST may hold at most ${this.maxEnvs} (--rest-max-envs, REST's share of --max-envs); close some with POST /v1/envs/<instance_id>/close/`,
      );
    }
    const env = new RestEnv(this.#newId(), envId, this.pool, this.options.frames, this.options.recorder);
    this.#creating += 1;
    let made: ProtocolReply;
    let seeded: ProtocolReply | null = null;
    try {
      // Pipelined: the pool keeps the session's order, so the seed applies to the env just made.
      const making = env.request(requestLine(request.make(envId, kwargs)));
      const seeding = seedText === null ? null : env.request(requestLine(request.seed(seedText)));
      made = await making;
      if (seeding) seeded = await seeding;
    } finally {
      this.#creating -= 1;
    }
    const error = made.error ?? seeded?.error;
    if (error) {
      env.close();
      if (error.code === 'UNKNOWN_ENV') {
        throw badRequest(`Attempted to look up malformed environment ID '${envId}' (${error.message})`);
      }
      throw protocolError(error, env);
    }
    if (this.#closing) {
      env.close();
      throw new HttpError(503, 'the server is shutting down');
    }
    this.#envs.set(env.id, env);
    this.created += 1;
    return env;
  }

  /** Takes `env` out of the table and disposes of it; rejects when its monitor's files could not be written. */
  remove(env: RestEnv): Promise<void> {
    this.#envs.delete(env.id);
    return this.#dispose(env);
  }

  /** The server is closing: no more idle sweeps, and an env still being made is closed instead of added. */
  closing(): void {
    this.#closing = true;
    if (this.#sweeper) clearInterval(this.#sweeper);
  }

  /** Disposes of every env (at the end of close, once the requests in flight are answered). */
  async disposeAll(): Promise<void> {
    const envs = [...this.#envs.values()];
    this.#envs.clear();
    await Promise.all(envs.map((env) => this.#dispose(env).catch(() => {})));
  }

  #newId(): string {
    for (;;) {
      const id = newInstanceId(this.options.nodeId);
      if (!this.#envs.has(id)) return id;
    }
  }

  /** Closes an env that is already out of the table: its session, then its monitor's files. */
  async #dispose(env: RestEnv): Promise<void> {
    env.close();
    const monitor = env.monitor;
    env.monitor = null;
    if (monitor) {
      await env.settled();
      // Closing the env ended its episode: its video, if recorded, goes to the monitor's directory.
      monitor.noteRecording(env.latestRecording(), false);
      await monitor.close();
    }
  }

  #sweep(): void {
    const now = Date.now();
    for (const env of this.#envs.values()) {
      if (env.pending === 0 && now - env.lastUsed >= this.options.idleTimeoutMs) {
        this.#envs.delete(env.id);
        this.expired += 1;
        void this.#dispose(env).catch(() => {});
      }
    }
  }
}
