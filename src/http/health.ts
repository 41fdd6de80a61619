/**
 * Health for load balancers and orchestrators: `/healthz` (the process is alive and its event loop
 * answers) and `/readyz` (send it new clients: 503 while draining, at its connection or env limit, or
 * with no live worker thread). Both are routes of the REST front and, with `--health-port`, of a
 * plain-HTTP server of their own that serves nothing else: a balancer and a kubelet can then check a
 * server whose REST front is off, or that wants a token or TLS (a health check has neither).
 *
 * HAProxy checks `/readyz` with `option httpchk` (deploy/haproxy/haproxy.cfg). Its `agent-check`
 * (a separate TCP port answering `ready`/`drain`/a weight) would tell it nothing more: a failing
 * `/readyz` already stops new connections and leaves established ones alone, which is what `drain`
 * does, and one check over HTTP is also what Kubernetes and Compose can use.
 */
import { toPyJson } from '../json/pyjson.js';
import type { GymTcpServer } from '../server/tcp-server.js';
import { HttpServer } from './http-server.js';
import type { RestServer } from './rest-server.js';
import { Router, json, type RouteSpec } from './router.js';

/** Why the server should get no new clients now, or null when it is ready. */
export type Readiness = () => string | null;

/** What `/metrics` serves (src/ops/metrics.ts's Metrics): one scrape's text and its content type. */
export interface MetricsScrape {
  readonly contentType: string;
  scrape(): Promise<string>;
}

/** The CLI's readiness: draining, a limit reached, or no live worker thread. */
export function serverReadiness(tcp: GymTcpServer, rest: () => RestServer | null, draining: () => boolean): Readiness {
  return () => {
    if (draining()) return 'draining: the server is shutting down';
    if (tcp.connectionCount >= tcp.options.maxConnections) return `at its connection limit (${tcp.options.maxConnections}, --max-connections)`;
    const envs = tcp.pool.envBudget;
    if (envs.total >= envs.limit) return `at its environment limit (${envs.limit}, --max-envs)`;
    const restFront = rest();
    if (restFront && restFront.envCount >= restFront.maxEnvs) return `at its REST environment limit (${restFront.maxEnvs}, --rest-max-envs)`;
    if (tcp.pool.piscina.threads.length === 0) return 'no live worker thread';
    return null;
  };
}

/** `/healthz` and `/readyz`, and `/metrics` when given, as routes (the REST front's table and the health server's). */
export function healthRoutes(readiness: Readiness, metrics?: MetricsScrape) {
  const metricsRoute: RouteSpec | null = metrics
    ? {
        pattern: '/metrics',
        method: 'GET',
        doc: 'Prometheus metrics (text format): connections, envs, requests and errors, step times, workers, the process.',
        handler: async () => ({ status: 200, body: await metrics.scrape(), contentType: metrics.contentType }),
      }
    : null;
  const routes = {
    healthz: {
      pattern: '/healthz',
      method: 'GET',
      doc: 'Liveness: 200 while the process answers.',
      handler: () => json('{"alive": true}'),
    },
    readyz: {
      pattern: '/readyz',
      method: 'GET',
      doc: 'Readiness for a load balancer: 200, or 503 with the reason (draining, a limit reached, no live worker thread).',
      handler: () => {
        const reason = readiness();
        return reason === null ? json('{"ready": true}') : json(toPyJson({ ready: false, reason }), 503);
      },
    },
  } satisfies Record<string, RouteSpec>;
  return { ...routes, metrics: metricsRoute };
}

/** `--health-port`: plain HTTP, no token, these routes only (`/metrics` too when given). */
export class HealthServer {
  readonly #http: HttpServer;

  private constructor(readiness: Readiness, metrics?: MetricsScrape) {
    const routes = healthRoutes(readiness, metrics);
    const router = new Router([routes.healthz, routes.readyz, ...(routes.metrics ? [routes.metrics] : [])]);
    // A check sends no body; a small bound keeps this port cheap whatever reaches it.
    this.#http = new HttpServer({ maxBodyBytes: 4096, keepAliveTimeoutMs: 5000, requestTimeoutMs: 10_000, handshakeTimeoutMs: 10_000 }, (method, url, body) => router.dispatch(method, url, body));
  }

  static async listen(port: number, host: string, readiness: Readiness, metrics?: MetricsScrape): Promise<HealthServer> {
    const server = new HealthServer(readiness, metrics);
    await server.#http.listen(port, host);
    return server;
  }

  address(): { host: string; port: number } {
    return this.#http.address();
  }

  /** Stops: every check is then answered 503 until the port closes. */
  close(): Promise<void> {
    return this.#http.close(1000);
  }
}
