/**
 * `/metrics` in Prometheus's text format, with prom-client (the Node client Prometheus lists; it also
 * gives the process's default metrics: CPU, memory, heap, event-loop lag, GC, file descriptors).
 *
 * Every figure is read at scrape time from the `stats()` snapshots (src/stats.ts): the servers keep
 * nothing for the exporter, and nothing is counted twice. Counters there only grow and no reader
 * resets one, so a scrape takes no samples from the pool's own readers (the packing, SpareCpu): the
 * one figure that needs a rate between scrapes, each worker's busy share, has its own CounterReader.
 * What only a worker thread sees (step times, envs by id) reaches stats() through shared memory
 * (src/pool/worker-figures.ts); a scrape never sends the workers anything.
 *
 * Names follow Prometheus's conventions: base units (seconds), `_total` on counters, labels for the
 * dimensions stats() keeps apart (front, command, code, env id, worker).
 */
import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import type { RestServer } from '../http/rest-server.js';
import { CounterReader } from '../pool/counters.js';
import { STEP_MICROS_BUCKETS } from '../pool/worker-figures.js';
import type { GymTcpServer } from '../server/tcp-server.js';
import { REFUSAL_REASONS, type PoolStats, type RestStats, type TcpStats } from '../stats.js';

/** What the exporter reads: the TCP front (and so the pool), the REST front when there is one. */
export interface MetricsSources {
  tcp: GymTcpServer;
  rest: () => RestServer | null;
  /** The server's version, for gym_tcp_info. */
  version: string;
  /**
   * Where recordings (src/recording, when it lands) add their figures: a function that registers its
   * metrics on the registry and reads its own stats() at scrape time, as those below do.
   */
  more?: (registry: Registry, prefix: string) => void;
}

const PREFIX = 'gym_tcp_';

/** The snapshots one scrape reads, taken once per scrape (every collect() of that scrape shares them). */
interface Snapshot {
  tcp: TcpStats;
  pool: PoolStats;
  rest: RestStats | null;
  restConnections: number;
  tcpConnections: number;
}

export class Metrics {
  readonly registry = new Registry();
  readonly #sources: MetricsSources;
  #snapshot: Snapshot | null = null;
  /** The scrape being made: scrapes that come meanwhile get its text (one snapshot is read at a time). */
  #scraping: Promise<string> | null = null;
  /** This exporter's own readers of each worker's busy microseconds, and when it last read them. */
  readonly #busyReaders: CounterReader[];
  #busySince = performance.now();
  #busyShare: number[];

  constructor(sources: MetricsSources) {
    this.#sources = sources;
    const { registry } = this;
    collectDefaultMetrics({ register: registry, prefix: PREFIX });
    // Read from the scrape's snapshot (the first time, from one taken now).
    const first = sources.tcp.pool.stats();
    this.#busyReaders = first.workers.map((_, i) => new CounterReader(() => (this.#snapshot?.pool ?? first).workers[i].busyMicros));
    this.#busyShare = first.workers.map(() => 0);
    const snap = () => this.#snapshot!;

    gauge(registry, 'info', 'The server: its --node-id (the prefix of its instance ids) and version; always 1.', ['node', 'version'], (g) =>
      g.set({ node: sources.tcp.options.nodeId, version: sources.version }, 1),
    );
    gauge(registry, 'connections', 'Connections open now, by front (TCP port, REST port).', ['front'], (g) => {
      g.set({ front: 'tcp' }, snap().tcpConnections);
      g.set({ front: 'rest' }, snap().restConnections);
    });
    counter(registry, 'connections_accepted_total', 'TCP connections accepted (including those then refused at their auth line).', [], (c) =>
      c.inc(snap().tcp.connections.accepted),
    );
    counter(registry, 'connections_refused_total', 'TCP connections turned away, by reason (a limit, closing, the auth line).', ['reason'], (c) => {
      for (const reason of REFUSAL_REASONS) c.inc({ reason }, snap().tcp.connections.refused[reason]);
    });
    gauge(registry, 'envs', 'Environments held now, by env id (both fronts).', ['env_id'], (g) => {
      for (const [envId, held] of Object.entries(snap().pool.envsById)) g.set({ env_id: envId }, held);
    });
    gauge(registry, 'env_limit', 'Environments the server may hold (--max-envs).', [], (g) => g.set(snap().pool.envLimit));
    gauge(registry, 'envs_counted', 'Environments counted against --max-envs now (each sub-env of a vector env counts one).', [], (g) => g.set(snap().pool.envs));
    counter(registry, 'sessions_opened_total', 'Pool sessions opened (one per TCP connection, one per REST environment).', [], (c) =>
      c.inc(snap().pool.sessionsOpened),
    );
    counter(registry, 'requests_total', 'Requests answered, by front and command (invalid: not a request; lost: its worker died twice).', ['front', 'command'], (c) => {
      for (const [front, counts] of Object.entries(snap().pool.byFront)) {
        for (const [command, n] of Object.entries(counts.requests)) c.inc({ front, command }, n);
      }
    });
    counter(registry, 'request_errors_total', 'Error replies, by front and error code (docs/protocol.md §8).', ['front', 'code'], (c) => {
      for (const [front, counts] of Object.entries(snap().pool.byFront)) {
        for (const [code, n] of Object.entries(counts.errors)) c.inc({ front, code }, n);
      }
    });
    registry.registerMetric(this.#stepHistogram());
    gauge(registry, 'worker_busy_ratio', 'Share of the time since the previous scrape each worker thread spent handling items (0-1).', ['worker'], (g) => {
      this.#busyShare.forEach((share, worker) => g.set({ worker: String(worker) }, share));
    });
    counter(registry, 'worker_busy_seconds_total', 'Seconds each worker slot spent handling items.', ['worker'], (c) => {
      snap().pool.workers.forEach((w, worker) => c.inc({ worker: String(worker) }, w.busyMicros / 1e6));
    });
    gauge(registry, 'worker_queue_depth', 'Items waiting on the main thread for room in each worker\'s ring.', ['worker'], (g) => {
      snap().pool.workers.forEach((w, worker) => g.set({ worker: String(worker) }, w.queued));
    });
    gauge(registry, 'worker_in_flight', 'Items given to each worker and not yet answered.', ['worker'], (g) => {
      snap().pool.workers.forEach((w, worker) => g.set({ worker: String(worker) }, w.inFlight));
    });
    gauge(registry, 'worker_sessions', 'Sessions each worker holds.', ['worker'], (g) => {
      snap().pool.workers.forEach((w, worker) => g.set({ worker: String(worker) }, w.sessions));
    });
    counter(registry, 'worker_restarts_total', 'Times each slot\'s worker thread died and Piscina started another.', ['worker'], (c) => {
      snap().pool.workers.forEach((w, worker) => c.inc({ worker: String(worker) }, w.restarts));
    });
    counter(registry, 'sessions_rebuilt_total', 'Sessions rebuilt on a successor worker from their snapshot and request log.', ['worker'], (c) => {
      snap().pool.workers.forEach((w, worker) => c.inc({ worker: String(worker) }, w.sessionsRebuilt));
    });
    gauge(registry, 'rest_envs', 'REST environments alive now.', [], (g) => g.set(snap().rest?.envs.open ?? 0));
    counter(registry, 'rest_envs_expired_total', 'REST environments closed by the idle timeout.', [], (c) => c.inc(snap().rest?.envs.expired ?? 0));
    counter(registry, 'http_requests_total', 'REST requests that reached a route, by route.', ['route'], (c) => {
      for (const [route, n] of Object.entries(snap().rest?.routes ?? {})) c.inc({ route }, n);
    });
    counter(registry, 'http_errors_total', 'REST error responses, by HTTP status.', ['status'], (c) => {
      for (const [status, n] of Object.entries(snap().rest?.errors ?? {})) c.inc({ status }, n);
    });
    sources.more?.(registry, PREFIX);
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  /**
   * The text of one scrape: every figure read from one set of snapshots. prom-client's API is
   * asynchronous (today it happens to run every collect() before its first await): a scrape arriving
   * while another is in progress (two Prometheus replicas, both ports at once) shares it, so no
   * snapshot is ever replaced under a scrape that is still reading it, whatever prom-client does.
   */
  scrape(): Promise<string> {
    this.#scraping ??= this.#scrapeNow().finally(() => (this.#scraping = null));
    return this.#scraping;
  }

  async #scrapeNow(): Promise<string> {
    const { tcp, rest } = this.#sources;
    const restFront = rest();
    const open = tcp.connectionLimit.openByFront;
    this.#snapshot = { tcp: tcp.stats(), pool: null as unknown as PoolStats, rest: restFront?.stats() ?? null, tcpConnections: open.get('TCP') ?? 0, restConnections: open.get('REST') ?? 0 };
    this.#snapshot.pool = this.#snapshot.tcp.pool;
    const now = performance.now();
    const elapsedMicros = (now - this.#busySince) * 1000;
    this.#busySince = now;
    this.#busyShare = this.#busyReaders.map((reader) => (elapsedMicros > 0 ? Math.min(1, reader.delta() / elapsedMicros) : 0));
    try {
      return await this.registry.metrics();
    } finally {
      this.#snapshot = null;
    }
  }

  /**
   * The step-time histogram. prom-client's Histogram takes one observation at a time; these steps were
   * observed on the workers, which hand over counts per bucket, so the metric is given to the registry
   * as the values it prints (cumulative buckets, sum, count), the way prom-client's own metrics give theirs.
   */
  #stepHistogram() {
    const name = `${PREFIX}step_duration_seconds`;
    const get = async () => {
      const workers = this.#snapshot!.pool.workers;
      const counts = new Array<number>(STEP_MICROS_BUCKETS.length + 1).fill(0);
      let sum = 0;
      for (const w of workers) {
        w.stepMicros.buckets.forEach((n, i) => (counts[i] += n));
        sum += w.stepMicros.sum;
      }
      const values: { metricName: string; labels: Record<string, string | number>; value: number }[] = [];
      let cumulative = 0;
      STEP_MICROS_BUCKETS.forEach((bound, i) => {
        cumulative += counts[i];
        values.push({ metricName: `${name}_bucket`, labels: { le: bound / 1e6 }, value: cumulative });
      });
      cumulative += counts[STEP_MICROS_BUCKETS.length];
      values.push({ metricName: `${name}_bucket`, labels: { le: '+Inf' }, value: cumulative });
      values.push({ metricName: `${name}_sum`, labels: {}, value: sum / 1e6 });
      values.push({ metricName: `${name}_count`, labels: {}, value: cumulative });
      return { name, help: 'Time a worker thread took for one step request, from taking it to writing its reply (µs-range buckets).', type: 'histogram', values, aggregator: 'sum' };
    };
    return { name, get } as unknown as Parameters<Registry['registerMetric']>[0];
  }
}

/**
 * A metric of `Kind` (Gauge or Counter) filled at scrape time: reset, then filled from stats(). A
 * counter is filled from a cumulative figure (which only grows, so what Prometheus sees only grows too).
 */
interface ScrapedConfig<M> {
  name: string;
  help: string;
  labelNames: string[];
  registers: Registry[];
  collect: (this: M) => void;
}
function scraped<M extends Gauge | Counter>(Kind: new (config: ScrapedConfig<M>) => M) {
  return (registry: Registry, name: string, help: string, labelNames: string[], fill: (metric: M) => void): void => {
    new Kind({
      name: PREFIX + name,
      help,
      labelNames,
      registers: [registry],
      collect() {
        this.reset();
        fill(this);
      },
    });
  };
}
const gauge = scraped<Gauge>(Gauge);
const counter = scraped<Counter>(Counter);
