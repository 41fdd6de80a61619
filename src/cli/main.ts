import { Command } from 'commander';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { frontSettings, type OptionValues } from '../config/options.js';
import { kwargDefaults, loadEnvSpecs } from '../envs/registry.js';
import { HealthServer, serverReadiness } from '../http/health.js';
import { createLogger, eventLog } from '../ops/log.js';
import { Metrics } from '../ops/metrics.js';
import { RestServer } from '../http/rest-server.js';
import { GymTcpServer } from '../server/tcp-server.js';
import { addServeOptions } from './serve-options.js';

const { version } = createRequire(import.meta.url)('../../../package.json') as { version: string };

const program = new Command('gym-tcp')
  .description('Gymnasium environments over a plain TCP socket, compatible with gym-tcp-api clients.')
  .version(version);

addServeOptions(program.command('serve').description('start the server: TCP, and the gym-http-api REST API with --http-port'))
  .action(async (opts: OptionValues) => {
    // Every line the server writes from here on is a log event (src/ops/log.ts), on stdout.
    const logger = createLogger({ level: opts.logLevel, format: opts.logFormat, node: opts.nodeId });
    const log = eventLog(logger);
    const fail = (message: string, event = 'START_FAILED'): never => {
      log(`gym-tcp serve: ${message}`, { event, level: 'fatal' });
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
    const tls = opts.tlsCert && opts.tlsKey ? { cert: read(opts.tlsCert, 'certificate'), key: read(opts.tlsKey, 'key') } : undefined;
    let server: GymTcpServer;
    try {
      server = await GymTcpServer.listen({
        ...frontSettings('tcp', opts),
        authToken,
        tls,
        log,
      });
    } catch (err) {
      return fail(`cannot serve on ${opts.host}:${opts.port}: ${(err as Error).message}`);
    }
    let rest: RestServer | null = null;
    let health: HealthServer | null = null;
    // Signals are handled before the server says it listens: a supervisor that stops it as soon as it
    // has read that line gets the graceful stop, not the default death by SIGTERM.
    let stopping = false;
    const stop = (signal: string) => {
      if (stopping) {
        log(`${signal} again: exiting now`, { event: 'STOP_NOW', level: 'warn', signal });
        process.exit(1);
      }
      stopping = true;
      // /readyz fails from here on. With --drain-delay the server goes on serving (and accepting) for
      // that long, so that a load balancer's health checks see it and stop sending clients before the
      // listening socket closes: a client sent here meanwhile is served, not refused.
      if (opts.drainDelay > 0) {
        log(`${signal}: /readyz answers 503; serving on for ${opts.drainDelay} s (--drain-delay) before draining`, { event: 'NOT_READY', level: 'info', signal });
      }
      (async () => {
        if (opts.drainDelay > 0) await new Promise((r) => setTimeout(r, opts.drainDelay * 1000));
        log(`${signal}: no new connections; answering requests in flight (up to ${opts.drainTimeout} ms)`, { event: 'DRAINING', level: 'info', signal });
        await rest?.close();
        await server.close();
        await health?.close();
      })().then(
        () => {
          log('gym-tcp stopped', { event: 'STOPPED', level: 'info' });
          process.exit(0);
        },
        (err: Error) => {
          log(`error while stopping: ${err.stack ?? err}`, { event: 'STOP_FAILED', level: 'fatal' });
          process.exit(1);
        },
      );
    };
    process.on('SIGINT', () => stop('SIGINT'));
    process.on('SIGTERM', () => stop('SIGTERM'));
    const readiness = serverReadiness(server, () => rest, () => stopping);
    const metrics = new Metrics({ tcp: server, rest: () => rest, version });
    const { host, port } = server.address();
    log(
      `gym-tcp ${version} listening on ${host.includes(':') ? `[${host}]` : host}:${port} with ${opts.workers} worker threads` +
        `${tls ? ', TLS' : ''}${authToken ? ', token required' : ''}`,
      { event: 'LISTENING', level: 'info', front: 'tcp', host, port, workers: opts.workers, tls: Boolean(tls), tokenRequired: Boolean(authToken), version },
    );
    if (opts.httpPort !== undefined) {
      try {
        rest = await RestServer.listen(server.pool, {
          ...frontSettings('rest', opts),
          port: opts.httpPort,
          // One bound on what requests still arriving hold, over both fronts.
          bufferBudget: server.bufferBudget,
          // One count of connections over both fronts, against --max-connections(-per-address).
          connectionLimit: server.connectionLimit,
          onShutdown: () => stop('POST /v1/shutdown/'),
          readiness,
          metrics,
          // The same token and TLS as the TCP front, so REST is no way around them.
          authToken: server.options.authToken,
          tls: server.options.tls,
          // REST envs' frames on the same bus, their videos in the same recorder (one directory, one limit).
          frames: server.frames,
          recorder: server.recorder,
        });
      } catch (err) {
        log(`cannot serve HTTP on ${opts.host}:${opts.httpPort}: ${(err as Error).message}`, {
          event: 'START_FAILED',
          level: 'fatal',
          front: 'rest',
          code: (err as NodeJS.ErrnoException).code ?? null,
        });
        await server.close();
        process.exit(1);
      }
      const http = rest.address();
      server.serveRecordingsOn(http.port);
      log(`HTTP listening on ${http.host.includes(':') ? `[${http.host}]` : http.host}:${http.port} (gym-http-api REST${server.options.tls ? ', HTTPS' : ''})`, {
        event: 'LISTENING',
        level: 'info',
        front: 'rest',
        host: http.host,
        port: http.port,
      });
    }
    if (opts.healthPort !== undefined) {
      try {
        health = await HealthServer.listen(opts.healthPort, opts.host, readiness, metrics);
      } catch (err) {
        log(`cannot serve health checks on ${opts.host}:${opts.healthPort}: ${(err as Error).message}`, {
          event: 'START_FAILED',
          level: 'fatal',
          front: 'health',
          code: (err as NodeJS.ErrnoException).code ?? null,
        });
        await rest?.close();
        await server.close();
        process.exit(1);
      }
      const at = health.address();
      log(`health checks on ${at.host.includes(':') ? `[${at.host}]` : at.host}:${at.port} (GET /healthz, GET /readyz, GET /metrics)`, {
        event: 'LISTENING',
        level: 'info',
        front: 'health',
        host: at.host,
        port: at.port,
      });
    }
  });

program
  .command('envs')
  .description('list the environments the server offers')
  .option('--json', 'print JSON for programs instead of a table')
  .action(async (opts: { json?: boolean }) => {
    const rows = (await loadEnvSpecs()).map((spec) => {
      const env = spec.make(spec.kwargs.parse({}));
      return {
        id: spec.id,
        observation_space: env.observationSpace.describe(),
        action_space: env.actionSpace.describe(),
        max_episode_steps: spec.maxEpisodeSteps,
        reward_threshold: spec.rewardThreshold,
        kwargs: kwargDefaults(spec),
        /** The options `reset` reads (docs/protocol.md §9.12), with their defaults. */
        reset_options: spec.resetOptions?.safeParse({}).data ?? {},
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
