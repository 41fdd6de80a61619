/**
 * Longer than 400 lines on purpose: it is the one table of options, one entry per option.
 *
 * The options of `gym-tcp serve`, each declared once: its flag, its environment variable, how its text
 * is read and checked, its default, what it means, and the field of each front's options it sets.
 * Everything else follows from this table: commander's options and so `--help` (src/cli/serve-options.ts),
 * the README's tables (`npm run docs:options`, checked by test/options.test.ts), the defaults of
 * `GymTcpServer.listen` and `RestServer.listen`, and the types of those fields (FrontSettings).
 *
 * It lives beside the fronts rather than in src/cli/ because both fronts' option types derive from it;
 * it knows nothing of commander. Longer than 400 lines: it is one table on purpose (one place to add an
 * option), and the table grows with the options.
 */
import os from 'node:os';
import path from 'node:path';
import { z } from 'zod';
import { DEFAULT_MAX_BUFFERED_BYTES } from '../net/buffer-budget.js';
import { NODE_ID, nodeIdFromHostname } from '../protocol/instance-id.js';

/**
 * An integer from min to max. The text is read with `Number()`, as the CLI always has (`0x10` and
 * `1e3` are numbers); anything else fails with the one message the CLI prints.
 */
function integer(min: number, max: number) {
  const error = `expected an integer from ${min} to ${max}`;
  return z.coerce.number({ error }).int({ error }).min(min, { error }).max(max, { error });
}

/** The fronts whose options the table sets. */
export type Front = 'tcp' | 'rest';

export interface ServeOption {
  /** commander's flags, e.g. `-p, --port <port>`; without `<value>` the option is a switch. */
  flags: string;
  /** Its twin: the environment variable read when the flag is not given (for a switch: set to anything). */
  env: `GYM_TCP_${string}`;
  /** What it means, for --help and the README alike; backticks mark code (a README cell is Markdown). */
  help: string;
  /**
   * Reads the option's text into its value, or fails with the message the CLI prints; its output is
   * the type of the value and of the fields it sets. (A switch has no text: its schema only types it.)
   */
  value: z.ZodType;
  default?: unknown;
  /**
   * How the README states the default where its value alone would not say it (or would say this
   * machine's); --help shows it too when there is no default value.
   */
  defaultText?: string;
  /** The field it sets in each front's options (`GymTcpServer.listen`, `RestServer.listen`). */
  sets?: { readonly [F in Front]?: string };
  /** The option counts seconds, the fields it sets milliseconds. */
  seconds?: true;
  /** An option of the REST front alone: the README lists it again in its REST section. */
  rest?: true;
}

/**
 * In --help's order. The keys are commander's names for the options (`--spin-us` is `spinUs`).
 * Options without `sets` are read by the CLI itself (the token file, TLS files, the switch that turns
 * REST on).
 */
export const SERVE_OPTIONS = {
  port: {
    flags: '-p, --port <port>',
    env: 'GYM_TCP_PORT',
    help: 'TCP port to listen on (0 picks a free one)',
    value: integer(0, 65535),
    default: 4040,
    sets: { tcp: 'port' },
  },
  host: {
    flags: '-H, --host <address>',
    env: 'GYM_TCP_HOST',
    help: 'address to listen on, for TCP and REST (`0.0.0.0` for every interface)',
    value: z.string(),
    default: '127.0.0.1',
    sets: { tcp: 'host', rest: 'host' },
  },
  nodeId: {
    flags: '--node-id <name>',
    env: 'GYM_TCP_NODE_ID',
    help:
      'this server\'s name in the instance ids it makes (`<node>-<hex>`, TCP and REST), so a load balancer can route an id to its server: ' +
      'lowercase letters and digits, up to 16; give each server behind one balancer its own',
    value: z.string().regex(NODE_ID, { error: 'expected 1 to 16 lowercase letters and digits' }),
    default: nodeIdFromHostname(os.hostname()),
    defaultText: 'the host name, its first label in lowercase letters and digits (`gymtcp0` on host `gym-tcp-0`)',
    sets: { tcp: 'nodeId', rest: 'nodeId' },
  },
  workers: {
    flags: '-w, --workers <n>',
    env: 'GYM_TCP_WORKERS',
    help: 'worker threads hosting the environments',
    value: integer(1, 256),
    default: 4,
    sets: { tcp: 'workers' },
  },
  spinUs: {
    flags: '--spin-us <µs>',
    env: 'GYM_TCP_SPIN_US',
    help:
      'how long an idle worker (and the main thread, waiting on it) keeps looking for the next request before it sleeps, ' +
      'while the cores the server may run on are idle; cuts one-client latency about threefold for CPU time nobody else wanted ' +
      '(0: never spin; never on a server confined to one core, which it says at start)',
    value: integer(0, 10_000),
    default: 100,
    sets: { tcp: 'spinMicros' },
  },
  maxLineBytes: {
    flags: '--max-line-bytes <bytes>',
    env: 'GYM_TCP_MAX_LINE_BYTES',
    help: 'longest request line (and REST body); a longer line is answered `LINE_TOO_LONG` and the connection closed',
    value: integer(64, 1 << 30),
    default: 1024 * 1024,
    sets: { tcp: 'maxLineBytes', rest: 'maxBodyBytes' },
  },
  maxBufferedBytes: {
    flags: '--max-buffered-bytes <bytes>',
    env: 'GYM_TCP_MAX_BUFFERED_BYTES',
    help: 'memory all connections together may hold for requests still arriving (unfinished lines, REST bodies); a connection that needs more is answered `LINE_TOO_LONG` (REST: 413) and closed',
    value: integer(64 * 1024, Number.MAX_SAFE_INTEGER),
    default: DEFAULT_MAX_BUFFERED_BYTES,
    defaultText: '`268435456` (256 MiB)',
    sets: { tcp: 'maxBufferedBytes' },
  },
  maxPipeline: {
    flags: '--max-pipeline <n>',
    env: 'GYM_TCP_MAX_PIPELINE',
    help: 'requests a connection may have unanswered before the server stops reading from it',
    value: integer(1, 1 << 20),
    default: 1024,
    sets: { tcp: 'maxPipeline' },
  },
  maxInFlightPerConnection: {
    flags: '--max-in-flight-per-connection <n>',
    env: 'GYM_TCP_MAX_IN_FLIGHT_PER_CONNECTION',
    help:
      "requests of one connection its worker thread is given at a time; the rest wait their turn, round-robin with other connections' (and are dropped unrun if the connection closes)",
    value: integer(1, 64),
    default: 4,
    sets: { tcp: 'maxInFlightPerConnection' },
  },
  prepareThreads: {
    flags: '--prepare-threads <n>',
    env: 'GYM_TCP_PREPARE_THREADS',
    help: "threads that do the costly part of a `make` (a generated FrozenLake map) off the threads stepping other connections' environments",
    value: integer(1, 64),
    default: 1,
    sets: { tcp: 'prepareThreads' },
  },
  publicUrl: {
    flags: '--public-url <url>',
    env: 'GYM_TCP_PUBLIC_URL',
    help: 'base of the links in `url` replies (set it behind a load balancer)',
    value: z.string(),
    defaultText: '`http://<address the client reached>:<port>`',
    sets: { tcp: 'publicUrl' },
  },
  drainTimeout: {
    flags: '--drain-timeout <ms>',
    env: 'GYM_TCP_DRAIN_TIMEOUT',
    help: 'on SIGINT/SIGTERM, how long to wait for requests in flight before closing',
    value: integer(0, 3_600_000),
    default: 10_000,
    sets: { tcp: 'drainTimeoutMs', rest: 'drainTimeoutMs' },
  },
  maxConnections: {
    flags: '--max-connections <n>',
    env: 'GYM_TCP_MAX_CONNECTIONS',
    help:
      'connections open at once, TCP and REST together, counted from accept (a TLS handshake included); more are answered `TOO_MANY_CONNECTIONS` ' +
      '(REST: 503) and closed, or closed at once before a TLS handshake. Less is taken when the file-descriptor limit cannot hold it, which the server says at start',
    value: integer(1, 10_000_000),
    default: 10_000,
    sets: { tcp: 'maxConnections' },
  },
  maxConnectionsPerAddress: {
    flags: '--max-connections-per-address <n>',
    env: 'GYM_TCP_MAX_CONNECTIONS_PER_ADDRESS',
    help: 'connections open at once from one client address, TCP and REST together; more are refused as above (REST: 429)',
    value: integer(1, 10_000_000),
    default: 1_000,
    sets: { tcp: 'maxConnectionsPerAddress' },
  },
  maxEnvs: {
    flags: '--max-envs <n>',
    env: 'GYM_TCP_MAX_ENVS',
    help: 'environments held at once, TCP and REST together; more are answered `TOO_MANY_ENVS`',
    value: integer(1, 100_000_000),
    default: 100_000,
    sets: { tcp: 'maxEnvs' },
  },
  maxNumEnvs: {
    flags: '--max-num-envs <n>',
    env: 'GYM_TCP_MAX_NUM_ENVS',
    help: 'sub-envs one vector env may have (`num_envs` of `vector.make`); each also counts against `--max-envs`',
    value: integer(1, 100_000_000),
    default: 65_536,
    sets: { tcp: 'maxNumEnvs' },
  },
  vectorShardSize: {
    flags: '--vector-shard-size <n>',
    env: 'GYM_TCP_VECTOR_SHARD_SIZE',
    help: 'a vector env of at least twice this many sub-envs is split over the worker threads, in shards of at least this many, stepped at the same time (0: never split)',
    value: integer(0, 100_000_000),
    default: 1024,
    sets: { tcp: 'vectorShardSize' },
  },
  idleTimeout: {
    flags: '--idle-timeout <seconds>',
    env: 'GYM_TCP_IDLE_TIMEOUT',
    help: 'close a TCP connection with nothing in flight after this long without traffic (0: never)',
    value: integer(0, 10_000_000),
    default: 0,
    defaultText: '`0` (1800 in the Docker image)',
    sets: { tcp: 'idleTimeoutMs' },
    seconds: true,
  },
  requestTimeout: {
    flags: '--request-timeout <seconds>',
    env: 'GYM_TCP_REQUEST_TIMEOUT',
    help:
      'a request must arrive whole within this long once it has begun: a TCP line still unfinished is answered `REQUEST_TIMEOUT`, ' +
      'a REST request\'s headers and body 408, and the connection closed (0: no deadline)',
    value: integer(0, 10_000_000),
    // A REST body of --max-line-bytes (1 MiB) at a slow 64 KiB/s arrives in 16 s; a trickle of one
    // byte a second held a connection for Node's 300 s before.
    default: 30,
    sets: { tcp: 'requestTimeoutMs', rest: 'requestTimeoutMs' },
    seconds: true,
  },
  handshakeTimeout: {
    flags: '--handshake-timeout <seconds>',
    env: 'GYM_TCP_HANDSHAKE_TIMEOUT',
    help: 'with TLS, a connection whose handshake has not ended this long after accept is closed (it counts against the connection limits meanwhile)',
    value: integer(1, 3600),
    // A handshake takes a few round trips: milliseconds, a second over a bad link. Node's 120 s let
    // one address hold hundreds of half-open handshakes.
    default: 10,
    sets: { tcp: 'handshakeTimeoutMs', rest: 'handshakeTimeoutMs' },
    seconds: true,
  },
  authToken: {
    flags: '--auth-token <token>',
    env: 'GYM_TCP_AUTH_TOKEN',
    help:
      'require `{"auth": "<token>"}` as the first line of every connection (REST: `Authorization: Bearer <token>`); ' +
      'prefer the environment variable, which `ps` does not show',
    value: z.string(),
    sets: { tcp: 'authToken' },
  },
  authTokenFile: {
    flags: '--auth-token-file <file>',
    env: 'GYM_TCP_AUTH_TOKEN_FILE',
    help: 'read the token from a file instead',
    value: z.string(),
  },
  tlsCert: {
    flags: '--tls-cert <file>',
    env: 'GYM_TCP_TLS_CERT',
    help: 'PEM certificate (chain): serve TLS on the TCP port and HTTPS on the REST port',
    value: z.string(),
  },
  tlsKey: {
    flags: '--tls-key <file>',
    env: 'GYM_TCP_TLS_KEY',
    help: 'PEM private key for `--tls-cert`',
    value: z.string(),
  },
  httpPort: {
    flags: '--http-port <port>',
    env: 'GYM_TCP_HTTP_PORT',
    help: 'also serve the gym-http-api REST API on this port (0 picks a free one); the server prints `HTTP listening on ADDRESS:PORT`',
    value: integer(0, 65535),
    defaultText: 'off',
    rest: true,
  },
  healthPort: {
    flags: '--health-port <port>',
    env: 'GYM_TCP_HEALTH_PORT',
    help:
      'serve `GET /healthz` (alive), `GET /readyz` (503 while draining, at a limit, or with no live worker) and `GET /metrics` ' +
      '(Prometheus) on this port, plain HTTP without the token, for load balancers, orchestrators and scrapers (the REST port answers all three too)',
    value: integer(0, 65535),
    defaultText: 'off',
  },
  logLevel: {
    flags: '--log-level <level>',
    env: 'GYM_TCP_LOG_LEVEL',
    help: 'the least severe log events written: `fatal`, `error`, `warn`, `info`, `debug` (also each connection opened and closed), `trace`, or `silent`',
    value: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], { error: 'expected fatal, error, warn, info, debug, trace or silent' }),
    default: 'info',
  },
  logFormat: {
    flags: '--log-format <format>',
    env: 'GYM_TCP_LOG_FORMAT',
    help: 'log events on stdout as `json` (one object per line: level, time, node, event, msg and the event\'s fields) or `pretty` (one readable line each, for a terminal)',
    value: z.enum(['json', 'pretty'], { error: 'expected json or pretty' }),
    default: 'json',
  },
  drainDelay: {
    flags: '--drain-delay <seconds>',
    env: 'GYM_TCP_DRAIN_DELAY',
    help:
      'on SIGTERM/SIGINT, how long `/readyz` answers 503 while the server still serves as usual, so a load balancer stops ' +
      'sending it clients, before it stops accepting and drains',
    value: integer(0, 3600),
    default: 0,
  },
  monitorRoot: {
    flags: '--monitor-root <dir>',
    env: 'GYM_TCP_MONITOR_ROOT',
    help: 'monitor directories (REST `monitor/start`, and older TCP clients\' `monitor` lines) are confined under this one (created on demand)',
    value: z.string(),
    default: path.join(os.tmpdir(), 'monitor'),
    defaultText: '`monitor` in the OS temporary directory',
    sets: { rest: 'monitorRoot', tcp: 'monitorRoot' },
  },
  monitorMaxFiles: {
    flags: '--monitor-max-files <n>',
    env: 'GYM_TCP_MONITOR_MAX_FILES',
    help: 'files and directories the monitors may have under `--monitor-root` in all; past it `monitor/start` is a 507 (older TCP clients: logged)',
    value: integer(2, 100_000_000),
    default: 10_000,
    sets: { rest: 'monitorMaxFiles', tcp: 'monitorMaxFiles' },
  },
  monitorMaxBytes: {
    flags: '--monitor-max-bytes <bytes>',
    env: 'GYM_TCP_MONITOR_MAX_BYTES',
    help: 'bytes the files under `--monitor-root` may hold in all; a monitor whose files would pass it writes nothing (`monitor/close` is a 507)',
    value: integer(1024, Number.MAX_SAFE_INTEGER),
    default: 1024 ** 3,
    defaultText: '`1073741824` (1 GiB)',
    sets: { rest: 'monitorMaxBytes', tcp: 'monitorMaxBytes' },
  },
  monitorDirMaxFiles: {
    flags: '--monitor-dir-max-files <n>',
    env: 'GYM_TCP_MONITOR_DIR_MAX_FILES',
    help: 'entries one monitor directory may hold (each monitor writes 2 files); past it `monitor/start` is a 507 until the directory is cleared (`force`)',
    value: integer(2, 10_000_000),
    default: 1_000,
    sets: { rest: 'monitorDirMaxFiles', tcp: 'monitorDirMaxFiles' },
  },
  monitorDirMaxBytes: {
    flags: '--monitor-dir-max-bytes <bytes>',
    env: 'GYM_TCP_MONITOR_DIR_MAX_BYTES',
    help: 'bytes the files of one monitor directory may hold; a monitor whose files would pass it writes nothing (`monitor/close` is a 507)',
    value: integer(1024, Number.MAX_SAFE_INTEGER),
    default: 64 * 1024 ** 2,
    defaultText: '`67108864` (64 MiB)',
    sets: { rest: 'monitorDirMaxBytes', tcp: 'monitorDirMaxBytes' },
  },
  recordingsDir: {
    flags: '--recordings-dir <dir>',
    env: 'GYM_TCP_RECORDINGS_DIR',
    help: 'where the videos of rendered episodes are written (`url` links, `GET /v1/recordings`); created at start',
    value: z.string(),
    default: path.join(os.tmpdir(), 'gym-tcp-recordings'),
    defaultText: '`gym-tcp-recordings` in the OS temporary directory',
    sets: { tcp: 'recordingsDir' },
  },
  maxRecordingsBytes: {
    flags: '--max-recordings-bytes <bytes>',
    env: 'GYM_TCP_MAX_RECORDINGS_BYTES',
    help: 'bytes the videos in `--recordings-dir` may hold; past it the oldest are deleted',
    value: integer(0, Number.MAX_SAFE_INTEGER),
    default: 1024 ** 3,
    defaultText: '`1073741824` (1 GiB)',
    sets: { tcp: 'maxRecordingsBytes' },
  },
  videoEncoders: {
    flags: '--video-encoders <n>',
    env: 'GYM_TCP_VIDEO_ENCODERS',
    help: 'threads encoding videos (H.264), apart from the env workers; started on the first recording, gone when idle',
    value: integer(1, 64),
    default: 1,
    sets: { tcp: 'videoEncoders' },
  },
  restIdleTimeout: {
    flags: '--rest-idle-timeout <seconds>',
    env: 'GYM_TCP_REST_IDLE_TIMEOUT',
    help: 'a REST environment no request touched for this long is closed (0: never)',
    value: integer(0, 365 * 24 * 3600),
    default: 3600,
    sets: { rest: 'idleTimeoutMs' },
    seconds: true,
    rest: true,
  },
  restMaxEnvs: {
    flags: '--rest-max-envs <n>',
    env: 'GYM_TCP_REST_MAX_ENVS',
    help:
      'REST environments that may exist at once: REST\'s share of `--max-envs`, so that REST environments, which outlive their connections, ' +
      'cannot take the places TCP clients need (more are answered 429)',
    value: integer(1, 100_000_000),
    defaultText: 'half of `--max-envs`',
    sets: { rest: 'maxEnvs' },
    rest: true,
  },
  allowShutdown: {
    flags: '--allow-shutdown',
    env: 'GYM_TCP_ALLOW_SHUTDOWN',
    help: 'let `POST /v1/shutdown/` stop the whole server (REST)',
    value: z.boolean(),
    default: false,
    sets: { rest: 'allowShutdown' },
    rest: true,
  },
} as const satisfies Record<string, ServeOption>;

type Options = typeof SERVE_OPTIONS;
export type OptionName = keyof Options;

/**
 * What commander hands the CLI: each option's value. Absent where the option was not given and has no
 * default, and for a switch that is off (commander is given no default for a switch: --help would
 * say `default: false`).
 */
export type OptionValues = {
  [K in OptionName as Options[K] extends { default: unknown; flags: `${string}<${string}>` } ? K : never]: z.output<Options[K]['value']>;
} & {
  [K in OptionName as Options[K] extends { default: unknown; flags: `${string}<${string}>` } ? never : K]?: z.output<Options[K]['value']>;
};

type FieldOf<O, F extends Front> = O extends { sets: { [_ in F]: infer N extends string } } ? N : never;

/**
 * The fields of a front's options that the table sets, typed from the options' schemas: required
 * where the option has a default, optional where it has none.
 */
export type FrontSettings<F extends Front> = {
  [K in OptionName as Options[K] extends { default: unknown } ? FieldOf<Options[K], F> : never]: z.output<Options[K]['value']>;
} & {
  [K in OptionName as Options[K] extends { default: unknown } ? never : FieldOf<Options[K], F>]?: z.output<Options[K]['value']>;
};

/**
 * A front's fields from the options' values (the defaults where a value is absent), converted to the
 * front's units. With no values: the front's defaults.
 */
export function frontSettings<F extends Front>(front: F, values: Partial<OptionValues> = {}): FrontSettings<F> {
  const settings: Record<string, unknown> = {};
  for (const [name, option] of Object.entries(SERVE_OPTIONS) as [OptionName, ServeOption][]) {
    const field = option.sets?.[front];
    const value = values[name] ?? option.default;
    if (field === undefined || value === undefined) continue;
    settings[field] = option.seconds ? (value as number) * 1000 : value;
  }
  return settings as FrontSettings<F>;
}
