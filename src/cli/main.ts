import { Command, InvalidArgumentError, Option } from 'commander';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { kwargDefaults, listEnvSpecs } from '../envs/registry.js';
import { DEFAULT_REST_OPTIONS, RestServer } from '../http/rest-server.js';
import { DEFAULT_SERVER_OPTIONS, GymTcpServer } from '../server/tcp-server.js';

const { version } = createRequire(import.meta.url)('../../../package.json') as { version: string };

function integer(min: number, max: number) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < min || n > max) throw new InvalidArgumentError(`expected an integer from ${min} to ${max}`);
    return n;
  };
}

const program = new Command('gym-tcp')
  .description('Gymnasium environments over a plain TCP socket, compatible with gym-tcp-api clients.')
  .version(version);

program
  .command('serve')
  .description('start the server: TCP, and the gym-http-api REST API with --http-port')
  .addOption(new Option('-p, --port <port>', 'TCP port to listen on').env('GYM_TCP_PORT').argParser(integer(0, 65535)).default(DEFAULT_SERVER_OPTIONS.port))
  .addOption(
    new Option('-H, --host <address>', 'address to listen on (0.0.0.0 for every interface)')
      .env('GYM_TCP_HOST')
      .default(DEFAULT_SERVER_OPTIONS.host),
  )
  .addOption(
    new Option('-w, --workers <n>', 'worker threads hosting the environments')
      .env('GYM_TCP_WORKERS')
      .argParser(integer(1, 256))
      .default(DEFAULT_SERVER_OPTIONS.workers),
  )
  .addOption(
    new Option(
      '--spin-us <µs>',
      'how long an idle worker keeps looking for the next request before it sleeps, while the cores the server may run on are idle, never on one core (cuts one-client latency ~3×; 0: never spin)',
    )
      .env('GYM_TCP_SPIN_US')
      .argParser(integer(0, 10_000))
      .default(DEFAULT_SERVER_OPTIONS.spinMicros),
  )
  .addOption(
    new Option('--max-line-bytes <bytes>', 'longest request line; a longer one is answered LINE_TOO_LONG and the connection closed')
      .env('GYM_TCP_MAX_LINE_BYTES')
      .argParser(integer(64, 1 << 30))
      .default(DEFAULT_SERVER_OPTIONS.maxLineBytes),
  )
  .addOption(
    new Option(
      '--max-buffered-bytes <bytes>',
      'memory all connections together may hold for requests still arriving (unfinished lines, REST bodies); a connection that needs more is answered LINE_TOO_LONG (REST: 413) and closed',
    )
      .env('GYM_TCP_MAX_BUFFERED_BYTES')
      .argParser(integer(64 * 1024, Number.MAX_SAFE_INTEGER))
      .default(DEFAULT_SERVER_OPTIONS.maxBufferedBytes),
  )
  .addOption(
    new Option('--max-pipeline <n>', 'requests a connection may have unanswered before the server stops reading it')
      .env('GYM_TCP_MAX_PIPELINE')
      .argParser(integer(1, 1 << 20))
      .default(DEFAULT_SERVER_OPTIONS.maxPipeline),
  )
  .addOption(
    new Option('--public-url <url>', 'base of the links in `url` replies (default: http://<address the client reached>:<port>)').env(
      'GYM_TCP_PUBLIC_URL',
    ),
  )
  .addOption(
    new Option('--drain-timeout <ms>', 'on SIGINT/SIGTERM, how long to wait for requests in flight before closing')
      .env('GYM_TCP_DRAIN_TIMEOUT')
      .argParser(integer(0, 3_600_000))
      .default(DEFAULT_SERVER_OPTIONS.drainTimeoutMs),
  )
  .addOption(
    new Option('--http-port <port>', 'also serve the gym-http-api REST API on this port (0 picks a free one); off unless given')
      .env('GYM_TCP_HTTP_PORT')
      .argParser(integer(0, 65535)),
  )
  .addOption(
    new Option('--monitor-root <dir>', 'REST monitor directories are confined under this one (created on demand)')
      .env('GYM_TCP_MONITOR_ROOT')
      .default(DEFAULT_REST_OPTIONS.monitorRoot),
  )
  .addOption(
    new Option('--rest-idle-timeout <seconds>', 'a REST environment untouched this long is closed (0: never)')
      .env('GYM_TCP_REST_IDLE_TIMEOUT')
      .argParser(integer(0, 365 * 24 * 3600))
      .default(DEFAULT_REST_OPTIONS.idleTimeoutMs / 1000),
  )
  .addOption(
    new Option('--rest-max-envs <n>', 'how many REST environments may exist at once')
      .env('GYM_TCP_REST_MAX_ENVS')
      .argParser(integer(1, 10_000_000))
      .default(DEFAULT_REST_OPTIONS.maxEnvs),
  )
  .addOption(new Option('--allow-shutdown', 'let POST /v1/shutdown/ stop the server (REST)').env('GYM_TCP_ALLOW_SHUTDOWN'))
  .addOption(
    new Option('--max-connections <n>', 'connections open at once; more are answered TOO_MANY_CONNECTIONS and closed')
      .env('GYM_TCP_MAX_CONNECTIONS')
      .argParser(integer(1, 10_000_000))
      .default(DEFAULT_SERVER_OPTIONS.maxConnections),
  )
  .addOption(
    new Option('--max-connections-per-address <n>', 'connections open at once from one client address')
      .env('GYM_TCP_MAX_CONNECTIONS_PER_ADDRESS')
      .argParser(integer(1, 10_000_000))
      .default(DEFAULT_SERVER_OPTIONS.maxConnectionsPerAddress),
  )
  .addOption(
    new Option('--max-envs <n>', 'environments held at once over all connections (TCP and REST); more are answered TOO_MANY_ENVS')
      .env('GYM_TCP_MAX_ENVS')
      .argParser(integer(1, 100_000_000))
      .default(DEFAULT_SERVER_OPTIONS.maxEnvs),
  )
  .addOption(
    new Option('--idle-timeout <seconds>', 'close a TCP connection with nothing in flight after this long without traffic (0: never)')
      .env('GYM_TCP_IDLE_TIMEOUT')
      .argParser(integer(0, 10_000_000))
      .default(0),
  )
  .addOption(
    new Option('--auth-token <token>', 'require {"auth": "<token>"} as the first line (REST: Authorization: Bearer); prefer the environment variable, which ps does not show')
      .env('GYM_TCP_AUTH_TOKEN'),
  )
  .addOption(new Option('--auth-token-file <file>', 'read the token from a file instead').env('GYM_TCP_AUTH_TOKEN_FILE'))
  .addOption(new Option('--tls-cert <file>', 'PEM certificate (chain): serve TLS (and HTTPS) instead of plain TCP').env('GYM_TCP_TLS_CERT'))
  .addOption(new Option('--tls-key <file>', 'PEM private key for --tls-cert').env('GYM_TCP_TLS_KEY'))
  .action(async (opts) => {
    const fail = (message: string): never => {
      console.error(`gym-tcp serve: ${message}`);
      process.exit(1);
    };
    const read = (file: string, what: string) => {
      try {
        return readFileSync(file);
      } catch (err) {
        return fail(`cannot read the ${what} ${file}: ${(err as Error).message}`);
      }
    };
    if (Boolean(opts.tlsCert) !== Boolean(opts.tlsKey)) fail('--tls-cert and --tls-key go together');
    const authToken: string | undefined = opts.authTokenFile ? read(opts.authTokenFile, 'token file').toString('utf8').trim() : opts.authToken;
    if (authToken !== undefined && authToken.length === 0) fail('the auth token is empty');
    const tls = opts.tlsCert ? { cert: read(opts.tlsCert, 'certificate'), key: read(opts.tlsKey, 'key') } : undefined;
    let server: GymTcpServer;
    try {
      server = await GymTcpServer.listen({
        port: opts.port,
        host: opts.host,
        workers: opts.workers,
        spinMicros: opts.spinUs,
        maxLineBytes: opts.maxLineBytes,
        maxPipeline: opts.maxPipeline,
        maxBufferedBytes: opts.maxBufferedBytes,
        publicUrl: opts.publicUrl,
        drainTimeoutMs: opts.drainTimeout,
        maxConnections: opts.maxConnections,
        maxConnectionsPerAddress: opts.maxConnectionsPerAddress,
        maxEnvs: opts.maxEnvs,
        idleTimeoutMs: opts.idleTimeout * 1000,
        authToken,
        tls,
        log: (message) => console.error(`gym-tcp: ${message}`),
      });
    } catch (err) {
      return fail(`cannot serve on ${opts.host}:${opts.port}: ${(err as Error).message}`);
    }
    let rest: RestServer | null = null;
    // Signals are handled before the server says it listens: a supervisor that stops it as soon as it
    // has read that line gets the graceful stop, not the default death by SIGTERM.
    let stopping = false;
    const stop = (signal: string) => {
      if (stopping) {
        console.error(`${signal} again: exiting now`);
        process.exit(1);
      }
      stopping = true;
      console.log(`${signal}: no new connections; answering requests in flight (up to ${opts.drainTimeout} ms)`);
      (async () => {
        await rest?.close();
        await server.close();
      })().then(
        () => {
          console.log('gym-tcp stopped');
          process.exit(0);
        },
        (err) => {
          console.error('error while stopping:', err);
          process.exit(1);
        },
      );
    };
    process.on('SIGINT', () => stop('SIGINT'));
    process.on('SIGTERM', () => stop('SIGTERM'));
    const { host, port } = server.address();
    console.log(
      `gym-tcp ${version} listening on ${host.includes(':') ? `[${host}]` : host}:${port} with ${opts.workers} worker threads` +
        `${tls ? ', TLS' : ''}${authToken ? ', token required' : ''}`,
    );
    if (opts.httpPort !== undefined) {
      try {
        rest = await RestServer.listen(server.pool, {
          port: opts.httpPort,
          host: opts.host,
          monitorRoot: opts.monitorRoot,
          idleTimeoutMs: opts.restIdleTimeout * 1000,
          maxEnvs: opts.restMaxEnvs,
          allowShutdown: Boolean(opts.allowShutdown),
          onShutdown: () => stop('POST /v1/shutdown/'),
          maxBodyBytes: opts.maxLineBytes,
          bufferBudget: server.bufferBudget,
          drainTimeoutMs: opts.drainTimeout,
          // The same token and TLS as the TCP front, so REST is no way around them.
          authToken: server.options.authToken,
          tls: server.options.tls,
        });
      } catch (err) {
        console.error(`cannot serve HTTP on ${opts.host}:${opts.httpPort}: ${(err as Error).message}`);
        await server.close();
        process.exit(1);
      }
      const http = rest.address();
      server.serveRecordingsOn(http.port);
      console.log(
        `HTTP listening on ${http.host.includes(':') ? `[${http.host}]` : http.host}:${http.port} (gym-http-api REST${server.options.tls ? ', HTTPS' : ''})`,
      );
    }
  });

program
  .command('envs')
  .description('list the environments the server offers')
  .option('--json', 'print JSON for programs instead of a table')
  .action((opts: { json?: boolean }) => {
    const rows = listEnvSpecs().map((spec) => {
      const env = spec.make(spec.kwargs.parse({}));
      return {
        id: spec.id,
        observation_space: env.observationSpace.describe(),
        action_space: env.actionSpace.describe(),
        max_episode_steps: spec.maxEpisodeSteps,
        reward_threshold: spec.rewardThreshold,
        kwargs: kwargDefaults(spec),
        summary: spec.summary,
      };
    });
    if (opts.json) {
      console.log(JSON.stringify(rows, null, 2));
      return;
    }
    const space = (s: Record<string, unknown>): string => {
      switch (s.name) {
        case 'Discrete':
          return `Discrete(${s.n}${s.start ? `, start=${s.start}` : ''})`;
        case 'Box':
          return `Box(${(s.shape as number[]).join('x')}, ${s.dtype})`;
        case 'Tuple':
          return `Tuple(${(s.spaces as Record<string, unknown>[]).map(space).join(', ')})`;
        default:
          return `${s.name}(${(s.shape as number[] | undefined)?.join('x') ?? ''})`;
      }
    };
    const number = (x: number | null) => (x === null ? '-' : Number.isInteger(x) ? x.toFixed(1) : String(x));
    const table = rows.map((r) => [
      r.id,
      space(r.observation_space),
      space(r.action_space),
      r.max_episode_steps === null ? '-' : String(r.max_episode_steps),
      number(r.reward_threshold),
      Object.entries(r.kwargs).map(([k, v]) => `${k}=${JSON.stringify(v)}`).join(' ') || '-',
    ]);
    const header = ['id', 'observation', 'action', 'time limit', 'reward threshold', 'kwargs (defaults)'];
    const widths = header.map((h, i) => Math.max(h.length, ...table.map((row) => row[i].length)));
    for (const row of [header, ...table]) console.log(row.map((cell, i) => cell.padEnd(widths[i])).join('  ').trimEnd());
  });

await program.parseAsync();
