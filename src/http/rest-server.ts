/**
 * The gym-http-api REST front: openai/gym-http-api's routes, request and response shapes and error
 * messages, plus the gym-server variant's help/create/info routes, on the same worker pool as the TCP
 * front. Each env made over REST is a RestEnv (a pool session of its own).
 *
 * This file puts the front together: its options, the HTTP plumbing (http-server.ts), the route table
 * (router.ts, with the routes in routes/) and the env table with its lifetime (env-table.ts).
 *
 * Node's own `http` module: a REST step costs one small JSON body in and one out, and what dominates is
 * HTTP parsing and the round trip to the worker, which a framework would only add to (routing here is a
 * table of a dozen patterns).
 */
import { frontSettings, type FrontSettings } from '../config/options.js';
import type { BufferBudget } from '../net/buffer-budget.js';
import type { RestStats } from '../stats.js';
import type { ConnectionLimit } from '../net/connection-limit.js';
import type { EnvPool } from '../pool/env-pool.js';
import { EnvTable } from './env-table.js';
import { healthRoutes, type MetricsScrape, type Readiness } from './health.js';
import { HttpServer } from './http-server.js';
import { Router } from './router.js';
import { envRoutes } from './routes/envs.js';
import { monitorRoutes } from './routes/monitoring.js';
import { serviceRoutes } from './routes/service.js';
import { spaceRoutes } from './routes/spaces.js';
import { liveRoutes } from './routes/live.js';
import { LiveEnvs } from '../live/live-envs.js';
import { LiveFrames } from '../live/live-frames.js';
import { recordingRoutes } from './routes/recordings.js';
import type { FrameBus } from '../live/frame-bus.js';
import type { Recorder } from '../recording/recorder.js';

/**
 * The fields the CLI sets (host, monitorRoot, idleTimeoutMs, maxEnvs, allowShutdown, maxBodyBytes, requestTimeoutMs, handshakeTimeoutMs,
 * drainTimeoutMs) and their defaults are declared with their options in src/config/options.ts.
 */
export interface RestServerOptions extends FrontSettings<'rest'> {
  port: number;
  /** What POST /v1/shutdown/ does when allowed (the CLI stops both fronts); default: close this server. */
  onShutdown?: () => void;
  /**
   * What bodies still arriving may hold in memory, over all connections: the TCP front's
   * (GymTcpServer.bufferBudget), so that both fronts share one bound. Default: one of this server's
   * own, of DEFAULT_MAX_BUFFERED_BYTES. A body that needs more is a 413 and the connection closes.
   */
  bufferBudget?: BufferBudget;
  /**
   * The count of open connections against --max-connections(-per-address): the TCP front's
   * (GymTcpServer.connectionLimit), so that one count covers both fronts. Default: one of this
   * server's own, with the options' default limits.
   */
  connectionLimit?: ConnectionLimit;
  /** How long an idle keep-alive connection is kept, in ms. */
  keepAliveTimeoutMs: number;
  /**
   * When set (the TCP front's token), every request must carry it: `Authorization: Bearer <token>`,
   * or HTTP Basic with the token as password or user name (`http://:<token>@host:5000` in a client's
   * base URL), so clients that cannot add headers still can. Otherwise 401.
   */
  authToken?: string;
  /** PEM certificate chain and key: serve HTTPS instead of HTTP (the TCP front's TLS settings). */
  tls?: { cert: string | Buffer; key: string | Buffer };
  /** Where REST envs' rendered frames go: the TCP front's bus (GymTcpServer.frames; by default the pool's, the same one). */
  frames?: FrameBus;
  /** The videos (GymTcpServer.recorder): /recordings/ and /v1/recordings serve them, monitors copy them. */
  recorder?: Recorder;
  /** What `/readyz` answers (the CLI's: draining, limits, workers); default: ready until close(). */
  readiness?: Readiness;
  /** What `/metrics` serves (the CLI's src/ops/metrics.ts); no such route without it. */
  metrics?: MetricsScrape;
}

/** gym-http-api's port; the CLI serves REST only on the port --http-port gives. */
export const DEFAULT_REST_OPTIONS: RestServerOptions = { ...frontSettings('rest'), port: 5000, keepAliveTimeoutMs: 30_000 };

export class RestServer {
  readonly options: RestServerOptions;
  readonly pool: EnvPool;
  readonly #http: HttpServer;
  readonly #router: Router;
  readonly #envs: EnvTable;
  /** Ends the live view's event streams, which would otherwise hold close() until the drain timeout. */
  readonly #closeLiveStreams: () => void;
  #closing: Promise<void> | null = null;
  /** Counters for stats(). */
  #received = 0;
  #envsCreated = 0;
  #envsExpired = 0;
  readonly #routeCounts = new Map<string, number>();
  readonly #errorCounts = new Map<number, number>();

  private constructor(pool: EnvPool, options: RestServerOptions) {
    this.pool = pool;
    // One bus per server: the pool's directory of live envs carries the TCP front's (GymTcpServer made it so).
    options = { ...options, frames: options.frames ?? LiveEnvs.of(pool).frames };
    this.options = options;
    this.#envs = new EnvTable(pool, options);
    const envs = envRoutes(this.#envs);
    const spaces = spaceRoutes(this.#envs);
    const monitor = monitorRoutes(this.#envs, options);
    const service = serviceRoutes(options, () => this.close(), () => router.help);
    const liveEnvs = LiveEnvs.of(pool);
    const live = liveRoutes(liveEnvs, LiveFrames.of(liveEnvs));
    this.#closeLiveStreams = () => live.closeStreams();
    const health = healthRoutes(options.readiness ?? (() => (this.#closing ? 'draining: the server is shutting down' : null)), options.metrics);
    const recordings = recordingRoutes(options.recorder ?? null);
    // gym-http-api's order, which /v1/help keeps.
    const router = new Router([
      envs.create,
      envs.list,
      envs.createGymServer,
      envs.reset,
      envs.step,
      spaces.actionSpace,
      spaces.sample,
      spaces.actionContains,
      spaces.observationSpace,
      spaces.observationContains,
      spaces.info,
      monitor.start,
      monitor.close,
      envs.close,
      service.upload,
      service.shutdown,
      recordings.video,
      recordings.list,
      service.help,
      health.healthz,
      health.readyz,
      ...Object.values(live.routes),
      ...(health.metrics ? [health.metrics] : []),
    ]);
    this.#router = router;
    this.#http = new HttpServer(options, (method, url, body) => router.dispatch(method, url, body));
  }

  /** Serves REST on `options.port` for the envs of `pool` (a started GymTcpServer's pool). */
  static async listen(pool: EnvPool, options: Partial<RestServerOptions> = {}): Promise<RestServer> {
    const server = new RestServer(pool, { ...DEFAULT_REST_OPTIONS, ...options });
    await server.#http.listen(server.options.port, server.options.host);
    return server;
  }

  address(): { host: string; port: number } {
    return this.#http.address();
  }

  /** REST envs alive now. */
  get envCount(): number {
    return this.#envs.size;
  }

  /** How many REST envs may exist at once (--rest-max-envs, or REST's share of --max-envs). */
  get maxEnvs(): number {
    return this.#envs.maxEnvs;
  }

  /** The REST front's figures (src/stats.ts; its requests to the pool are in the pool's, under `rest`); reading them resets nothing. */
  stats(): RestStats {
    return {
      envs: { open: this.#envs.size, created: this.#envs.created, expired: this.#envs.expired },
      received: this.#http.received,
      routes: Object.fromEntries(this.#router.counts),
      errors: Object.fromEntries(this.#http.errors),
    };
  }

  /**
   * Graceful stop: no new connections; requests in flight are answered (up to the drain timeout);
   * then every REST env is closed, its monitor files written, its session dropped. Call it before
   * the pool closes.
   */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      this.#envs.closing();
      this.#closeLiveStreams();
      await this.#http.close(this.options.drainTimeoutMs);
      await this.#envs.disposeAll();
    })();
    return this.#closing;
  }
}
